"""scripts/reference.py: the reference FASTA check and copy."""

import gzip
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from reference import FastaError, check_fasta  # noqa: E402


def test_valid_copy_plain_and_gzip(tmp_path):
    text = ">c1 desc\nACGTN\nacgtr\nAC\n>c2\nNNNN\n"
    for name, data in (("r.fa", text.encode()), ("r.fa.gz", gzip.compress(text.encode()))):
        (tmp_path / name).write_bytes(data)
        out = tmp_path / f"{name}.copy"
        assert check_fasta(tmp_path / name, out) == {"c1": 12, "c2": 4}
        assert out.read_text() == text


def test_crlf_and_blank_lines_normalised(tmp_path):
    (tmp_path / "r.fa").write_bytes(b">c\r\nACGT\r\nAC\r\n\r\n")
    check_fasta(tmp_path / "r.fa", tmp_path / "out.fa")
    assert (tmp_path / "out.fa").read_text() == ">c\nACGT\nAC\n"


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("ACGT\n>c\nACGT\n", r"line 1: sequence before the first '>' header"),
        (">\nACGT\n", r"line 1: header '>' has no name"),
        (">c\nACGT\n>c x\nAC\n", r"line 3: contig 'c' appears again \(first at line 1\)"),
        (">c\nAC-T\n", r"line 2, column 3: contig 'c': character '-' is not a nucleotide"),
        (
            ">c\nACGT\nACGTA\n",
            r"line 3: contig 'c': line of 5 bases, the contig's first line has 4",
        ),
        (">c\nACGT\nAC\nACGT\n", r"line 3: contig 'c': a line shorter than the others"),
        (">c\n>d\nACGT\n", r"line 1: contig 'c' has no sequence"),
        ("hello", r"line 1: sequence before the first '>' header"),
    ],
)
def test_problems_named_with_line(tmp_path, text, pattern):
    (tmp_path / "r.fa").write_text(text)
    with pytest.raises(FastaError, match=rf"r\.fa: \d problem.*\n  {pattern}(.|\n)*Fix:"):
        check_fasta(tmp_path / "r.fa")


def test_truncated_gzip(tmp_path):
    data = gzip.compress((">c\n" + ("ACGT" * 20 + "\n") * 200).encode())
    (tmp_path / "r.fa.gz").write_bytes(data[:-40])
    with pytest.raises(FastaError, match=r"the gzip file is truncated or corrupt"):
        check_fasta(tmp_path / "r.fa.gz")
