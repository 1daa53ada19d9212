"""The ML half as the workflow scatters it (issue 13): the filter over calling chunks
(each also writing its kept sites' int8 dosages), its gather, and the matrix gathered from
the chunks, against `bcftools view -e … | bcftools query` → numpy on the same VCF.

    python bench/ml_half.py [--vcf VCF] [--chunks N] [--quick]

Every job the workflow would run (`filter_chunk` × N, `filter`, `matrix`) runs here in
its own process, calling the same functions as its script (scripts/filter.py,
scripts/matrix.py), one after the other (so CPU and memory are not
shared). For each: wall, CPU of the operation (user + sys of the process and its bcftools
children, imports excluded: what the issue's ratio counts), CPU of the whole process
(imports included) and peak RSS. The baseline is `bench/vcf2matrix.py bcftools_pipe` (same
site filters in bcftools, its operation CPU). The matrices are checked equal. Writes
bench/results/ml_half.md (ml_half-quick.md with --quick).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(BENCH))

from run import PY, WORK, ensure_sim_vcf, loadavg, mb, measure, table  # noqa: E402
from vcf2matrix import PARAMS, cpu  # noqa: E402


def maxrss() -> int:
    """Peak RSS of this process so far, bytes."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(step: str, args: list[str]):
    """One job, in this process: prints {"op_cpu", "op_seconds", ...} as JSON."""
    import filter as vcffilter
    import matrix

    start, cpu0 = time.perf_counter(), cpu()
    out = {}
    if step == "filter_chunk":
        vcf, bed, bcf, counts, npz, sites = args
        genotypes = vcffilter.ChunkGenotypes()
        c = vcffilter.filter_vcf(vcf, bcf, PARAMS, 2, bed, genotypes, index=False)
        vcffilter.write_counts(c, counts, meta=True)
        genotypes.write(npz, sites)
        out["sites_out"] = int(c["remaining"].iloc[-1])
    elif step == "filter":
        vcf, bcf, counts, n = args[0], args[1], args[2], int(args[3])
        chunks, tables = args[4 : 4 + n], args[4 + n :]
        c = vcffilter.gather(chunks, tables, bcf, vcf, vcffilter.indexed_records(vcf))
        vcffilter.write_counts(c, counts)
        out["sites_out"] = int(c["remaining"].iloc[-1])
    elif step == "matrix":
        prefix, n = args[0], int(args[1])
        npzs, tables = args[2 : 2 + n], args[2 + n :]
        g, sites, samples = matrix.gather_chunks(npzs, tables, None, "phenotype", 2)
        out["build_cpu"], out["build_rss"] = cpu() - cpu0, maxrss()
        paths = [f"{prefix}.genotypes.parquet", f"{prefix}.sites.tsv", f"{prefix}.samples.tsv"]
        matrix.write_matrix(g, sites, samples, *paths)
        out["sites_out"] = g.shape[1]
    out.update(op_seconds=time.perf_counter() - start, op_cpu=cpu() - cpu0)
    print(json.dumps(out))


def run_step(step, args, log) -> dict:
    r = measure([PY, __file__, "--child", step, *map(str, args)], log=log)
    r.update(json.loads(Path(log).read_text().strip().splitlines()[-1]))
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vcf", type=Path)
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import calls

    vcf = args.vcf or ensure_sim_vcf(*((200, 5000) if args.quick else (2000, 100_000)))
    d = WORK / f"ml_half_{vcf.name.split('.')[0]}_{args.chunks}"
    d.mkdir(parents=True, exist_ok=True)
    n = args.chunks
    beds = [d / f"{i}.bed" for i in range(n)]
    calls.write_chunks(vcf, beds)
    rows, res = [], {}

    def step(label, name, step_args):
        r = run_step(name, step_args, d / f"{label}.log")
        res[label] = r
        rows.append({
            "job": label, "wall s": f"{r['wall']:.2f}", "operation CPU s": f"{r['op_cpu']:.2f}",
            "process CPU s": f"{r['cpu']:.2f}", "peak RSS MB": mb(r["rss"]),
            "sites out": f"{r['sites_out']:,}", "load 1/5/15": r["load"],
        })  # fmt: skip

    fbcf = [d / f"filter.{i}.bcf" for i in range(n)]
    fcounts = [d / f"filter.{i}.counts.tsv" for i in range(n)]
    npzs = [d / f"filter.{i}.npz" for i in range(n)]
    stabs = [d / f"filter.{i}.sites.tsv" for i in range(n)]
    for i in range(n):
        step_args = [vcf, beds[i], fbcf[i], fcounts[i], npzs[i], stabs[i]]
        step(f"filter_chunk {i}", "filter_chunk", step_args)
    filtered = d / "filtered.bcf"
    step("filter", "filter", [vcf, filtered, d / "filter_counts.tsv", n, *fbcf, *fcounts])
    step("matrix", "matrix", [d / "out", n, *npzs, *stabs])

    base = measure([PY, str(BENCH / "vcf2matrix.py"), "bcftools_pipe", str(vcf), str(d / "b")],
                   log=d / "bcftools_pipe.log")  # fmt: skip
    op = json.loads((d / "bcftools_pipe.log").read_text().strip().splitlines()[-1])
    base_op = op["cpu"]  # the operation's CPU (bcftools children included)
    rows.append({
        "job": "baseline: bcftools view -e … \\| query → numpy", "wall s": f"{base['wall']:.2f}",
        "operation CPU s": f"{base_op:.2f}", "process CPU s": f"{base['cpu']:.2f}",
        "peak RSS MB": mb(base["rss"]), "sites out": f"{op['sites_out']:,}",
        "load 1/5/15": base["load"],
    })  # fmt: skip

    # The same matrix: ours (parquet) against bcftools' dosages.
    import shlex

    import pandas as pd
    import vcf2matrix

    ours = pd.read_parquet(d / "out.genotypes.parquet").to_numpy().T
    filt = shlex.join(vcf2matrix.BCFTOOLS_FILTER)
    cmd = f"bcftools view -Ou {filt} {shlex.quote(str(vcf))} | bcftools query -f '[%GT\\t]\\n'"
    theirs = vcf2matrix.bcftools_matrix(cmd, vcf2matrix.n_samples(vcf))
    same = ours.shape == theirs.shape and bool(np.array_equal(ours, theirs))

    ops = sum(r["op_cpu"] for r in res.values())
    write = res["matrix"]["op_cpu"] - res["matrix"]["build_cpu"]
    procs = sum(r["cpu"] for r in res.values())
    mat_mb = ours.size / 1e6
    interp = measure([PY, str(BENCH / "vcf2matrix.py"), "baseline", str(vcf), str(d / "b")],
                     log=d / "interpreter.log")["rss"]  # fmt: skip
    rss = {k: r["rss"] for k, r in res.items()}
    worst = max(rss, key=rss.get)
    build_rss = res["matrix"]["build_rss"]
    crit = max(r["wall"] for k, r in res.items() if k.startswith("filter_chunk"))
    crit += res["filter"]["wall"] + res["matrix"]["wall"]
    text = (
        f"# The ML half scattered over {n} chunks (issue 13)\n\n"
        f"`bench/ml_half.py` on `{vcf.name}` ({ours.shape[1]:,} samples; {ours.shape[0]:,} sites "
        f"kept), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load now "
        f"{loadavg()}. Filters as `bench/vcf2matrix.py` (biallelic SNPs, QUAL ≥ 30, call rate "
        "≥ 0.8, MAF ≥ 0.01). Each job in its own process, one after the other.\n\n"
        + table(rows, list(rows[0]))
        + "\n- **CPU, VCF → matrix in memory** (the issue's measure, as `bench/run.py` took it: "
        "the filter and the matrix build, without writing the parquet and TSVs, which the "
        f"baseline does not do): **{ops - write:.1f} s** against bcftools view | query → numpy "
        f"{base_op:.1f} s: **{(ops - write) / base_op:.2f}×** (aim ≤ 1.5). The filter jobs' "
        "CPU includes writing the filtered BCF chunks.\n"
        f"- With writing `genotypes.parquet` and the tables ({write:.1f} s, most of it pyarrow's "
        f"fixed cost per column: {ours.shape[0]:,} columns): {ops:.1f} s, {ops / base_op:.2f}×. "
        f"With every process' start-up and imports: {procs:.1f} s against {base['cpu']:.1f} s "
        f"({procs / base['cpu']:.2f}×).\n"
        f"- Peak RSS: the int8 matrix is {mat_mb:.0f} MB, the interpreter with the imports "
        f"{mb(interp)} MB. The matrix gather at its build: {mb(build_rss)} MB, less the "
        f"interpreter **{(build_rss - interp) / 1e6 / mat_mb:.2f}×** the matrix (aim ≤ 2); "
        f"the highest job ({worst}, with the parquet write): {mb(rss[worst])} MB, less the "
        f"interpreter {(rss[worst] - interp) / 1e6 / mat_mb:.2f}×. A filter job: "
        f"{mb(res['filter_chunk 0']['rss'])} MB.\n"
        f"- Wall if the chunks run in parallel (longest chunk, then both gathers): {crit:.1f} s; "
        f"the baseline {base['wall']:.1f} s.\n"
        f"- Same matrix as bcftools' dosages: **{same}**.\n"
    )
    out = BENCH / "results" / ("ml_half-quick.md" if args.quick else "ml_half.md")
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
    else:
        main()
