#!/usr/bin/env bash
# Install cost of Keras 3's CPU backends (bench/results/deep_learning_install.md): for each,
# a fresh venv under $OUT (default /tmp/dl_bench), `pip install --no-cache-dir` timed,
# `du` of site-packages, then bench/deep_learning_train.py (import + 10 epochs of a small
# CNN on the UCI splice sequences, 2 threads) timed. Run on demand, never in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/dl_bench}
DATA=${DATA:-../shared/data/uci_splice_junction/splice.csv}
mkdir -p "$OUT"
bench() {
    local name=$1 backend=$2; shift 2
    local v=$OUT/venv-$name
    rm -rf "$v"
    python3 -m venv "$v"
    "$v/bin/python" -m pip install -q --upgrade pip >/dev/null
    local s e
    s=$(date +%s.%N)
    "$v/bin/python" -m pip install -q --no-cache-dir "$@" >"$OUT/pip_$name.log" 2>&1
    e=$(date +%s.%N)
    local sp
    sp=$("$v/bin/python" -c 'import site; print(site.getsitepackages()[0])')
    echo "$name: pip $(echo "$e - $s" | bc) s, site-packages $(du -sh "$sp" | cut -f1)"
    KERAS_BACKEND=$backend TF_CPP_MIN_LOG_LEVEL=2 TF_NUM_INTEROP_THREADS=1 \
        TF_NUM_INTRAOP_THREADS=2 \
        XLA_FLAGS="--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads=2" \
        /usr/bin/time -f "$name: wall %e s, max RSS %M kB" \
        "$v/bin/python" bench/deep_learning_train.py "$DATA" 2>&1 | grep -E "backend|wall"
}
bench tf tensorflow numpy==2.4.6 keras==3.15.1 tensorflow-cpu==2.21.0
bench jax jax numpy==2.4.6 keras==3.15.1 jax==0.10.2
