"""BEDPE pairs: columns, headers, renaming, trans pairs, and one error per way a line is wrong."""

from __future__ import annotations

import gzip
import logging

import pytest

from dnalens.errors import BedFormatError, ContigError, CoordinateError, InputFileError
from dnalens.io.genome import Genome
from dnalens.io.pairs import read_bedpe


@pytest.fixture
def genome(tmp_path, write_fasta, dna):
    return Genome(write_fasta(tmp_path / "genome.fa", {"chr1": dna(1000, 1), "chr2": dna(500, 2)}))


def test_headerless_pairs(write_text, genome):
    df = read_bedpe(write_text("p.bedpe", "chr1\t10\t20\tchr1\t500\t600\t1\n"
                                          "chr1\t30\t40\tchr1\t700\t800\t0\n"), genome)
    assert list(df.columns) == ["chrom1", "start1", "end1", "chrom2", "start2", "end2", "label",
                                "line", "cis"]
    assert df[["start1", "end1", "start2", "end2"]].to_numpy().tolist() == [
        [10, 20, 500, 600], [30, 40, 700, 800]]
    assert df["label"].tolist() == [1.0, 0.0]
    assert df["label"].dtype == "float64"
    assert df["start1"].dtype == "int64"
    assert df["line"].tolist() == [1, 2]
    assert df["cis"].tolist() == [True, True]


def test_header_names_label_and_name_columns(write_text, genome):
    text = ("# enhancer-promoter pairs\n"
            "#chrom1\tstart1\tend1\tchrom2\tstart2\tend2\tname\tis_pair\n"
            "chr1\t10\t20\tchr1\t500\t600\tp1\t1.0\n")
    df = read_bedpe(write_text("p.bedpe", text), genome, label_column="is_pair")
    assert df["name"].tolist() == ["p1"]
    assert df["label"].tolist() == [1.0]
    assert df["line"].tolist() == [3]


def test_plain_chrom1_header_and_gzip(tmp_path, genome):
    path = tmp_path / "p.bedpe.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("chrom1\tstart1\tend1\tchrom2\tstart2\tend2\tlabel\n"
                     "chr2\t0\t5\tchr2\t10\t20\t0\n")
    df = read_bedpe(path, genome)
    assert df[["chrom1", "label", "line"]].to_numpy().tolist() == [["chr2", 0.0, 2]]


def test_trans_pairs_are_kept_flagged_and_counted(write_text, genome, caplog):
    text = "chr1\t10\t20\tchr2\t100\t200\t1\nchr1\t10\t20\tchr1\t100\t200\t0\n"
    with caplog.at_level(logging.WARNING, logger="dnalens.io.pairs"):
        df = read_bedpe(write_text("p.bedpe", text), genome)
    assert df["cis"].tolist() == [False, True]
    assert "1 of 2 pairs join anchors on different chromosomes" in caplog.text


def test_renames_1_to_chr1_or_explains(write_text, genome):
    path = write_text("p.bedpe", "1\t10\t20\t1\t100\t200\t1\n")
    assert read_bedpe(path, genome)["chrom2"].tolist() == ["chr1"]
    with pytest.raises(ContigError, match=r"p.bedpe:1: chromosome '1' is not in genome.fa, "
                       r"which names it 'chr1'"):
        read_bedpe(path, genome, rename_contigs=False)
    mapped = read_bedpe(path, genome, rename_contigs=False, chrom_map={"1": "chr1"})
    assert mapped["chrom1"].tolist() == ["chr1"]


@pytest.mark.parametrize(("text", "error", "message"), [
    ("chr1\t1\t2\tchr1\t5\t6\t1\nchr1\t1\t2\tchr1\t5\t6\n", BedFormatError,
     r"p.bedpe:2: expected 7 tab-separated columns .*; found 6"),
    ("chr1\t1\t2\tchr1\t5\t6\n", BedFormatError,
     r"p.bedpe:1: expected at least 7 tab-separated columns"),
    ("chr1\t1\t2\tchr1\t5.5\t6\t1\n", BedFormatError,
     r"p.bedpe:1: column start2 must be an integer; got '5.5'"),
    ("chr1\t1\t2\tchr1\t6\t6\t1\n", CoordinateError,
     r"p.bedpe:1: end2 \(6\) must be > start2 \(6\)"),
    ("chr1\t-1\t2\tchr1\t5\t6\t1\n", CoordinateError, r"p.bedpe:1: start1 \(-1\) must be >= 0"),
    ("chr1\t1\t2\tchr1\t5\t6\t1\nchr9\t1\t2\tchr1\t5\t6\t1\n", ContigError,
     r"p.bedpe:2: chromosome 'chr9' is not in genome.fa \(has 'chr1', 'chr2'\)"),
    ("chr1\t1\t2\tchr2\t450\t501\t1\n", CoordinateError,
     r"p.bedpe:1: anchor 2 chr2:450-501 ends past the end of chr2 \(500 bp in genome.fa\)"),
    ("chr1\t1\t2\tchr1\t5\t6\t0.5\n", BedFormatError, r"p.bedpe:1: label must be 0 or 1; got "
                                                     r"'0.5'"),
    ("chr1\t1\t2\tchr1\t5\t6\tyes\n", BedFormatError, r"p.bedpe:1: label must be 0 or 1"),
    ("# only a comment\n\n", BedFormatError, r"p.bedpe: no pairs \(empty BEDPE file\)"),
    ("chrom1\tstart1\tend1\tchrom2\tstart2\tend2\tscore\nchr1\t1\t2\tchr1\t5\t6\t1\n",
     BedFormatError, r"no column 'label' in the header .*pass label_column="),
])
def test_errors_name_the_line(write_text, genome, text, error, message):
    with pytest.raises(error, match=message):
        read_bedpe(write_text("p.bedpe", text), genome)


def test_missing_file(tmp_path, genome):
    with pytest.raises(InputFileError, match="no such BEDPE file"):
        read_bedpe(tmp_path / "none.bedpe", genome)
