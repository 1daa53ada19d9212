"""Import + training time of a small Keras 3 CNN on the UCI splice sequences, on the
backend KERAS_BACKEND names (bench/deep_learning_install.sh)."""

import sys
import time

t0 = time.perf_counter()
import keras  # noqa: E402
import numpy as np  # noqa: E402

t_import = time.perf_counter() - t0
keras.utils.set_random_seed(1)
rows = [line.split(",") for line in open(sys.argv[1]).read().splitlines()[1:]]
seqs = [r[2].strip() for r in rows]
labels = [r[0].strip() for r in rows]
classes = sorted(set(labels))
x = np.zeros((len(seqs), 60, 4), "float32")
for i, s in enumerate(seqs):
    for j, c in enumerate(s):
        if c in "ACGT":
            x[i, j, "ACGT".index(c)] = 1
y = np.array([classes.index(label) for label in labels])
model = keras.Sequential(
    [
        keras.Input((60, 4)),
        keras.layers.Conv1D(64, 9, activation="relu", padding="same"),
        keras.layers.MaxPooling1D(3),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ]
)
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
t1 = time.perf_counter()
fit = model.fit(x, y, epochs=10, batch_size=64, validation_split=0.2, verbose=0)
print(
    f"backend={keras.backend.backend()} import_s={t_import:.1f} "
    f"train10ep_s={time.perf_counter() - t1:.1f} val_acc={fit.history['val_accuracy'][-1]:.3f}"
)
