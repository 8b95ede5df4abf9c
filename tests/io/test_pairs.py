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


@pytest.mark.parametrize(("text", "message"), [
    ("chr1\t1_0\t20\tchr1\t500\t600\t1\n", r"p.bedpe:1: column start1 must be an integer; got "
                                           r"'1_0'"),
    ("chr1\t 10\t20\tchr1\t500\t600\t1\n", r"p.bedpe:1: column start1 must be an integer; got "
                                           r"' 10'"),
    ("chr1\t10\t2e2\tchr1\t500\t600\t1\n", r"p.bedpe:1: column end1 must be an integer; got "
                                           r"'2e2'"),
    ("chr1\t10\t" + "9" * 25 + "\tchr1\t500\t600\t1\n", r"p.bedpe:1: column end1 must be an "
                                                        r"integer"),
    ("chrom1\tstart1\tend1\tchrom2\tstart2\tend2\tlabel\tlabel\n", r"p.bedpe:1: the header "
                                                                   r"repeats a column name"),
])
def test_number_and_header_faults_name_the_line(write_text, genome, text, message):
    with pytest.raises(BedFormatError, match=message):
        read_bedpe(write_text("p.bedpe", text + "chr1\t1\t2\tchr1\t5\t6\t1\t1\n"), genome)


def test_a_second_label_column_is_refused(write_text, genome):
    text = ("#chrom1\tstart1\tend1\tchrom2\tstart2\tend2\tlabel\tis_pair\n"
            "chr1\t1\t2\tchr1\t5\t6\t0\t1\n")
    with pytest.raises(BedFormatError, match=r"p.bedpe:1: the header has a column 'label' "
                       r"besides label_column 'is_pair'"):
        read_bedpe(write_text("p.bedpe", text), genome, label_column="is_pair")


@pytest.mark.parametrize(("data", "message"), [
    (b"chr1\t1\t2\tchr1\t5\t6\t1\nchr1\t1\t2\tchr1\t5\t6\t\xd6\n",
     r"p.bedpe:2: not a text BEDPE file \(byte 0xd6 at column 19 is not UTF-8"),
    (b"chr1\t1\t2\tchr1\t5\x00\t6\t1\n", r"p.bedpe:1: not a text BEDPE file \(NUL byte"),
    (gzip.compress(b"chr1\t1\t2\tchr1\t5\t6\t1\n" * 100)[:40],
     r"p.bedpe:\d+: truncated or corrupt gzip file"),
    (b"\x1f\x8b" + b"junk" * 10, r"p.bedpe:1: truncated or corrupt gzip file"),
])
def test_bytes_faults_name_the_line(tmp_path, genome, data, message):
    (tmp_path / "p.bedpe").write_bytes(data)
    with pytest.raises(BedFormatError, match=message):
        read_bedpe(tmp_path / "p.bedpe", genome)


def test_bom_and_crlf_read_the_same(tmp_path, genome):
    text = "chr1\t10\t20\tchr1\t500\t600\t1\nchr2\t0\t5\tchr2\t10\t20\t0\n"
    for name, data in [("bom.bedpe", b"\xef\xbb\xbf" + text.encode()),
                       ("crlf.bedpe", text.replace("\n", "\r\n").encode())]:
        (tmp_path / name).write_bytes(data)
        df = read_bedpe(tmp_path / name, genome)
        assert df[["chrom1", "start1", "end2", "label"]].to_numpy().tolist() == [
            ["chr1", 10, 600, 1.0], ["chr2", 0, 20, 0.0]], name


def test_a_folder_is_not_a_bedpe_file(tmp_path, genome):
    (tmp_path / "d.bedpe").mkdir()
    with pytest.raises(InputFileError, match=r"d.bedpe: is a folder, not a BEDPE file"):
        read_bedpe(tmp_path / "d.bedpe", genome)
