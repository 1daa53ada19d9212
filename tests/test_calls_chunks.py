"""Chunking of the reference for scattered calling (scripts/calls.py)."""

import gzip
import sys

from helpers import REPO

sys.path.insert(0, str(REPO / "scripts"))
import calls  # noqa: E402


def test_chunks_tile_the_genome_exactly():
    contigs = [("chr1", 1000), ("chr2", 10), ("chr3", 555)]
    chunks = calls.make_chunks(contigs, 4)
    flat = [iv for chunk in chunks for iv in chunk]
    # Intervals are in reference order, contiguous, and cover every base once.
    for name, length in contigs:
        ivs = [(s, e) for c, s, e in flat if c == name]
        assert ivs[0][0] == 0 and ivs[-1][1] == length
        assert all(a[1] == b[0] for a, b in zip(ivs, ivs[1:], strict=False))
    sizes = [sum(e - s for _, s, e in chunk) for chunk in chunks]
    assert sum(sizes) == 1565
    assert max(sizes) - min(sizes) <= 1


def test_one_chunk_is_the_whole_reference():
    assert calls.make_chunks([("a", 5), ("b", 7)], 1) == [[("a", 0, 5), ("b", 0, 7)]]


def test_write_chunks(tmp_path):
    fai = tmp_path / "g.fa.fai"
    fai.write_text("a\t100\t3\t60\t61\nb\t50\t110\t60\t61\n")
    outs = [tmp_path / f"{i}.bed" for i in range(3)]
    calls.write_chunks(fai, outs)
    assert outs[0].read_text() == "a\t0\t50\n"
    assert outs[1].read_text() == "a\t50\t100\n"
    assert outs[2].read_text() == "b\t0\t50\n"


def _cfg(chunks=4, chunk_size=0, demo=False, fasta=None):
    demo_cfg = {"enabled": demo, "outdir": "demo", "contigs": 2, "contig_length": 40000}
    return {
        "bcftools": {"chunks": chunks, "chunk_size": chunk_size},
        "demo": demo_cfg,
        "reference": {"fasta": fasta or ("demo/reference.fa" if demo else "ref.fa")},
    }


def test_chunk_count_from_chunks_or_size(tmp_path):
    # A count: used as is; a size: the fewest chunks of at most that many bp.
    assert calls.n_chunks(_cfg(chunks=7), tmp_path) == 7
    assert calls.n_chunks(_cfg(chunk_size=30000, demo=True), tmp_path) == 3
    assert calls.n_chunks(_cfg(chunk_size=80000, demo=True), tmp_path) == 1
    assert calls.n_chunks(_cfg(chunk_size=10**9, demo=True), tmp_path) == 1


def test_chunk_size_reads_the_reference(tmp_path):
    with gzip.open(tmp_path / "ref.fa.gz", "wt") as fh:
        fh.write(">a desc\n" + "ACGT" * 25 + "\nAC\n>b\n" + "A" * 50 + "\n")
    cfg = _cfg(chunk_size=40, fasta="ref.fa.gz")
    assert calls.fasta_lengths(tmp_path / "ref.fa.gz") == [("a", 102), ("b", 50)]
    assert calls.n_chunks(cfg, tmp_path) == 4  # ceil(152 / 40)
    # A current index beside the reference is used instead of reading it.
    (tmp_path / "ref.fa.gz.fai").write_text("a\t1000\t0\t0\t0\n")
    assert calls.n_chunks(cfg, tmp_path) == 25
    sizes = [sum(e - s for _, s, e in c) for c in calls.make_chunks([("a", 1000)], 25)]
    assert max(sizes) <= 40


def test_demo_settings_only_for_the_demo_reference_before_it_exists(tmp_path):
    """The simulator's size stands in only for its own, not yet written, reference: a
    user's reference is always measured, also with the demo enabled."""
    (tmp_path / "ref.fa").write_text(">a\n" + "A" * 100 + "\n")
    assert calls.genome_length(_cfg(demo=True, fasta="ref.fa"), tmp_path) == 100
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo/reference.fa").write_text(">a\n" + "A" * 30 + "\n")
    assert calls.genome_length(_cfg(demo=True), tmp_path) == 30
    (tmp_path / "demo/reference.fa").unlink()
    assert calls.genome_length(_cfg(demo=True), tmp_path) == 80000
