"""VCF Zarr export (`matrix.zarr`) against the parquet matrix: conversion time and size.

    python bench/zarr_bench.py [--quick] [--repeats N]

On the simulated 2,000 x 100,000 VCF of bench/run.py's matrix section (bench/simvcf.py;
`--quick` 200 x 5,000), filtered as there (bench/vcf2matrix.py ours_filter, cached in
bench/work/): the matrix step (scripts/matrix.py build + parquet write) against
scripts/vcf_zarr.py convert with 1 thread (bio2zarr in the job's process) and 2 threads
(2 worker processes), then reading each back into the samples x sites int8 matrix, and a
Dask computation over the store (per-site ALT frequency). Each operation runs in a fresh
process (bench/run.py measure: wall, CPU of the process tree, peak RSS) and is also timed
inside it (imports excluded). Writes bench/results/zarr.md (`zarr-quick.md`).

The file is not named zarr.py: run as a script, bench/ comes first on sys.path and the
file would shadow the zarr package (scripts/vcf_zarr.py likewise).
"""

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO / "scripts"), str(BENCH)]


def cpu() -> float:
    import resource

    a, b = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def child(method, *args):
    """One operation, timed in-process; prints one JSON line."""
    import numpy as np
    import pandas as pd
    import vcf_zarr

    res = {}
    start, cpu0 = time.perf_counter(), cpu()
    if method == "convert":
        vcf, out, threads = args
        res.update(vcf_zarr.convert(vcf, out, threads=int(threads), tmpdir=Path(out).parent))
        res.pop("arrays")
    elif method == "read_parquet":
        g = pd.read_parquet(args[0])
        res["shape"] = list(g.shape)
    elif method == "read_zarr":
        g = vcf_zarr.dosage(args[0])
        res["shape"] = list(g.shape)
        res["seconds_read"] = time.perf_counter() - start
        want = pd.read_parquet(args[1])  # checked, not timed
        res["equal_to_parquet"] = bool(
            list(g.index) == list(want.index)
            and list(g.columns) == list(want.columns)
            and np.array_equal(g.to_numpy(), want.to_numpy())
        )
        res["missing"] = int((want.to_numpy() == -1).sum())
    elif method == "dask_af":
        import xarray as xr

        ds = xr.open_zarr(args[0], chunks={})
        gt = ds["call_genotype"]
        called = (gt != -1).all("ploidy")
        alt = ((gt > 0) & called).sum(["samples", "ploidy"])
        n = ((gt >= 0) & called).sum(["samples", "ploidy"])
        af = (alt / n).compute(scheduler="threads", num_workers=2)
        res["sites"] = int(af.size)
        res["mean_af"] = round(float(af.mean()), 6)
    else:
        raise SystemExit(f"unknown method {method}")
    res.setdefault("seconds", time.perf_counter() - start)
    res["op_seconds"] = time.perf_counter() - start
    res["op_cpu"] = cpu() - cpu0
    print(json.dumps(res))


def du(path) -> int:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def notes(results, store_bytes, parquet_bytes) -> str:
    """Ratios of the table: CPU (load-robust) and size."""

    def best(name, key):
        return min(r[key] for r in results[name])

    matrix = best("matrix step (build + parquet write)", "cpu")
    one = best("vcf2zarr, 1 thread (0 workers)", "cpu")
    two = best("vcf2zarr, 2 threads (2 workers)", "cpu")
    wall1 = best("vcf2zarr, 1 thread (0 workers)", "wall")
    wall2 = best("vcf2zarr, 2 threads (2 workers)", "wall")
    return (
        f"- CPU: vcf2zarr / matrix step = {one / matrix:.1f} (1 thread), "
        f"{two / matrix:.1f} (2 workers, their CPU included).\n"
        f"- Wall: 2 workers / 1 thread = {wall2 / wall1:.2f}.\n"
        f"- Size: store / parquet = {store_bytes / parquet_bytes:.2f}.\n"
    )


def main(argv=None):
    import run  # bench/run.py: measure, the simulated VCF and its filtered copy

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200 x 5,000 instead of 2,000 x 100,000")
    ap.add_argument("--repeats", type=int, default=1, help="alternated rounds (fastest shown)")
    args = ap.parse_args(argv)
    run.WORK.mkdir(parents=True, exist_ok=True)
    n, m = (200, 5000) if args.quick else (2000, 100_000)
    vcf = run.ensure_sim_vcf(n, m)
    prefix = run.WORK / f"m2_{vcf.name.split('.')[0]}"
    filtered = Path(f"{prefix}.filtered.vcf.gz")
    if not Path(f"{filtered}.tbi").exists():
        print("filtering ...", flush=True)
        run.vcf2matrix("ours_filter", vcf, prefix)
    work = run.WORK / f"zarr_{n}x{m}"
    work.mkdir(exist_ok=True)
    parquet = Path(f"{prefix}.genotypes.parquet")
    stores = {1: work / "t1.vcz", 2: work / "t2.vcz"}

    def me(*cmd, log):
        r = run.measure([run.PY, str(Path(__file__)), "child", *map(str, cmd)], log=work / log)
        r.update(json.loads((work / log).read_text().strip().splitlines()[-1]))
        return r

    ops = {
        "matrix step (build + parquet write)": lambda: run.vcf2matrix(
            "ours_matrix", filtered, prefix
        ),
        "vcf2zarr, 1 thread (0 workers)": lambda: me(
            "convert", filtered, stores[1], 1, log="convert1.log"
        ),
        "vcf2zarr, 2 threads (2 workers)": lambda: me(
            "convert", filtered, stores[2], 2, log="convert2.log"
        ),
    }
    reads = {
        "read parquet → DataFrame": lambda: me("read_parquet", parquet, log="rp.log"),
        "read store → dosage DataFrame (vcf_zarr.dosage)": lambda: me(
            "read_zarr", stores[2], parquet, log="rz.log"
        ),
        "Dask over the store: per-site ALT frequency": lambda: me(
            "dask_af", stores[2], log="da.log"
        ),
    }
    results = {}
    load0 = run.loadavg()
    for _ in range(args.repeats):
        for name, op in {**ops, **reads}.items():
            print(name, "...", flush=True)
            results.setdefault(name, []).append(op())
    rows = []
    for name, rs in results.items():
        best = min(rs, key=lambda r: r["seconds"])
        rows.append({
            "operation": name,
            "wall s (process)": f"{best['wall']:.1f}",
            "s (operation)": f"{best.get('seconds_read', best['seconds']):.1f}",
            "CPU s (process tree)": f"{best['cpu']:.1f}",
            "peak RSS MB": run.mb(best["rss"]),
            "load 1/5/15": best["load"],
        })  # fmt: skip
    check = min(results["read store → dosage DataFrame (vcf_zarr.dosage)"],
                key=lambda r: r["seconds"])  # fmt: skip
    conv = results["vcf2zarr, 2 threads (2 workers)"][0]
    sizes = [
        {"file": "input: filtered VCF (bgzip + .tbi)", "MB": du(filtered) + du(f"{filtered}.tbi")},
        {"file": "genotypes.parquet", "MB": du(parquet)},
        {
            "file": "sites.tsv + samples.tsv",
            "MB": du(f"{prefix}.sites.tsv") + du(f"{prefix}.samples.tsv"),
        },
        {"file": "genotypes.vcz (whole store)", "MB": du(stores[2])},
        {"file": "  of which call_genotype", "MB": du(stores[2] / "call_genotype")},
        {"file": "  of which call_genotype_mask", "MB": du(stores[2] / "call_genotype_mask")},
        {
            "file": "  of which call_genotype_phased",
            "MB": du(stores[2] / "call_genotype_phased"),
        },
    ]
    for s in sizes:
        s["MB"] = f"{s['MB'] / 2**20:.2f}"
    now = dt.datetime.now(dt.UTC)
    text = (
        f"# VCF Zarr export against the parquet matrix{' (--quick)' if args.quick else ''}\n\n"
        f"{now:%Y-%m-%d %H:%M} UTC, `python bench/zarr_bench.py"
        f"{' --quick' if args.quick else ''}`; {os.cpu_count()} CPUs shared with other "
        f"engineers' tests (load average {load0} at the start: wall times are noisy, CPU s "
        f"less so). {args.repeats} round(s), fastest shown.\n\n"
        f"Input: `bench/simvcf.py {n} {m}` (GT only, 2 % missing), filtered as in bench/run.py "
        f"(biallelic SNPs, QUAL ≥ 30, call rate ≥ 0.8, MAF ≥ 0.01): {conv['variants']:,} "
        f"sites × {conv['samples']:,} samples. Each operation in a fresh process "
        "(wall and CPU include the interpreter start and imports; `s (operation)` is timed "
        "inside it). The matrix step reads the VCF once; vcf2zarr reads it once (explode "
        "into bio2zarr's intermediate columnar format), then encodes.\n\n"
        + run.table(rows, list(rows[0]))
        + "\nOn disk:\n\n"
        + run.table(sizes, ["file", "MB"])
        + f"\nRead back, the store's genotypes equal the parquet matrix: "
        f"{check['equal_to_parquet']} ({check['shape'][0]:,} × {check['shape'][1]:,}, "
        f"{check['missing']:,} missing).\n\n" + notes(results, du(stores[2]), du(parquet))
    )
    out = BENCH / "results" / f"zarr{'-quick' if args.quick else ''}.md"
    out.write_text(text)
    print(text)
    for store in stores.values():
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(*sys.argv[2:])
    else:
        main()
