"""Model files: save a model dict with skops (reproducible bytes), load one refusing any
type outside an explicit allow-list (ALLOWED_TYPES; no custom code, never pickle), and
the sha256 of a file. scripts/model.py trains and saves; scripts/predict.py and
scripts/model_sites.py load. skops and the standard library only: loading a model needs
no training code.
"""

import hashlib
import io
import json
import zipfile
from pathlib import Path

import skops.io as sio
from workflow_version import workflow_version

# Types skops does not trust by default that this pipeline legitimately contains.
# Anything else in a model file is refused by load_model().
ALLOWED_TYPES = frozenset(
    {
        "numpy.dtype",
        "sklearn.tree._tree.Tree",
        "sklearn.feature_selection._univariate_selection.chi2",
        # learner gradient_boosting: its fitted trees (arrays of nodes and bitsets only)
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    }
)
MODEL_KEYS = ("pipeline", "sites", "classes", "imputation", "metadata")


class UntrustedModelError(ValueError):
    """A model file holds types outside ALLOWED_TYPES."""


def _canonical_skops(data: bytes) -> bytes:
    """The same skops archive with reproducible bytes.

    skops names nodes and array files by id() of the objects and stamps zip entries with
    the current time; renumber ids in order of appearance and fix the timestamps, so the
    same model gives the same file. The loader only needs the references consistent.
    """
    ids = {}

    def new_id(old):
        return ids.setdefault(old, len(ids) + 1)

    def renumber(node):
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    value = new_id(value)
                elif key == "file" and isinstance(value, str) and value.endswith(".npy"):
                    stem = value.removesuffix(".npy")
                    value = f"{new_id(int(stem))}.npy" if stem.isdigit() else value
                out[key] = renumber(value)
            return out
        if isinstance(node, list):
            return [renumber(v) for v in node]
        return node

    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        schema = json.loads(zin.read("schema.json"))
        old_schema = json.dumps(schema)
        new_schema = renumber(schema)
        renamed = {}
        for name in zin.namelist():
            if name == "schema.json":
                continue
            stem = name.removesuffix(".npy")
            if not (name.endswith(".npy") and stem.isdigit() and int(stem) in ids):
                raise ValueError(f"unexpected entry {name} in skops archive")
            renamed[f"{ids[int(stem)]}.npy"] = zin.read(name)
        assert old_schema.count('"__id__"') == json.dumps(new_schema).count('"__id__"')
    out = io.BytesIO()
    # Deflated (skops stores): trees compress ~5x; zlib output is stable for the same input.
    with zipfile.ZipFile(out, "w") as zout:
        entries = [("schema.json", json.dumps(new_schema, indent=2).encode())]
        entries += sorted(renamed.items(), key=lambda kv: int(kv[0].removesuffix(".npy")))
        for name, payload in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zout.writestr(info, payload, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return out.getvalue()


def save_model(model: dict, path):
    """skops.io.dump the model dict, with reproducible bytes and, in its metadata, the
    workflow's version (scripts/workflow_version.py)."""
    if isinstance(model.get("metadata"), dict):
        model = model | {"metadata": model["metadata"] | {"workflow_version": workflow_version()}}
    buf = io.BytesIO()
    sio.dump(model, buf)
    data = buf.getvalue()
    try:
        data = _canonical_skops(data)
    except (KeyError, ValueError, AssertionError):  # a future skops layout: valid, not stable
        pass
    Path(path).write_bytes(data)


def load_model(path, allowed=ALLOWED_TYPES) -> dict:
    """Load a model dict saved by save_model, refusing any type outside `allowed`."""
    untrusted = sio.get_untrusted_types(file=path)
    refused = sorted(set(untrusted) - set(allowed))
    if refused:
        raise UntrustedModelError(
            f"refusing to load {path}: it contains types outside the allow-list: {refused}"
        )
    model = sio.load(path, trusted=untrusted)
    if not isinstance(model, dict) or set(MODEL_KEYS) - set(model):
        raise ValueError(f"{path} is not a model saved by scripts/model.py (keys {MODEL_KEYS})")
    return model


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
