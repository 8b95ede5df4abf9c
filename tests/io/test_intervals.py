"""BED / narrowPeak reading: columns, headers, gzip, and one error per way a file can be wrong."""

from __future__ import annotations

import gzip
import re

import pandas as pd
import pytest

from dnalens.errors import BedFormatError, ContigError, CoordinateError, InputFileError
from dnalens.io.genome import Genome
from dnalens.io.intervals import NARROWPEAK_COLUMNS, read_bed, write_bed


@pytest.fixture
def genome(tmp_path, write_fasta, dna):
    return Genome(write_fasta(tmp_path / "genome.fa", {"chr1": dna(1000, 1), "chr2": dna(500, 2)}))


def test_bed3(write_text):
    df = read_bed(write_text("a.bed", "chr1\t100\t200\nchr2\t0\t50\n"))
    assert list(df.columns) == ["chrom", "start", "end", "line"]
    assert df.to_dict("list") == {"chrom": ["chr1", "chr2"], "start": [100, 0], "end": [200, 50],
                                  "line": [1, 2]}
    assert df["start"].dtype == "int64"
    assert df["end"].dtype == "int64"


def test_bed6(write_text):
    df = read_bed(write_text("a.bed", "chr1\t100\t200\tpeak1\t0\t+\nchr1\t300\t400\tpeak2\t5\t-\n"))
    assert list(df.columns) == ["chrom", "start", "end", "name", "score", "strand", "line"]
    assert df["name"].tolist() == ["peak1", "peak2"]
    assert df["strand"].tolist() == ["+", "-"]


def test_unnamed_extra_columns(write_text):
    df = read_bed(write_text("a.bed", "chr1\t1\t2\tn\t0\t+\tx\ty\n"))
    assert list(df.columns) == [*NARROWPEAK_COLUMNS[:6], "col7", "col8", "line"]


def test_narrowpeak_summit_is_an_integer(write_text):
    text = ("chr1\t1000\t1400\tp1\t500\t.\t12.5\t-1\t3.2\t150\n"
            "chr1\t2000\t2300\tp2\t400\t.\t8.0\t-1\t2.0\t-1\n")
    df = read_bed(write_text("a.narrowPeak", text))
    assert list(df.columns) == [*NARROWPEAK_COLUMNS, "line"]
    assert df["summit"].tolist() == [150, -1]
    assert df["summit"].dtype == "int64"
    assert df["signalValue"].tolist() == ["12.5", "8.0"]  # other columns stay text


def test_header_lines_are_skipped_and_line_numbers_count_them(write_text):
    text = ('track name="peaks"\nbrowser position chr1:1-100\n# a comment\n\n'
            "chr1\t10\t20\nchr1\t30\t40\n")
    df = read_bed(write_text("a.bed", text))
    assert df[["start", "end", "line"]].to_numpy().tolist() == [[10, 20, 5], [30, 40, 6]]


def test_hash_chrom_header_names_the_columns(write_text):
    text = "#chrom\tstart\tend\tcell\ttf\nchr1\t10\t20\tK562\tCTCF\n"
    df = read_bed(write_text("a.tsv", text))
    assert list(df.columns) == ["chrom", "start", "end", "cell", "tf", "line"]
    assert df.loc[0, "tf"] == "CTCF"
    assert df.loc[0, "line"] == 2


def test_hash_chrom_header_with_wrong_column_count(write_text):
    path = write_text("a.tsv", "#chrom\tstart\tend\nchr1\t10\t20\tK562\n")
    with pytest.raises(BedFormatError, match=r"a\.tsv:1: the '#chrom' header names 3 columns but "
                                             r"rows have 4"):
        read_bed(path)


def test_blank_lines_between_records_are_ignored(write_text):
    df = read_bed(write_text("a.bed", "chr1\t1\t5\n\nchr1\t10\t20\n\n"))
    assert df["line"].tolist() == [1, 3]


def test_gzip_bed_reads_like_plain(tmp_path):
    text = "track x\nchr1\t100\t200\tp\nchr2\t5\t9\tq\n"
    plain = tmp_path / "a.bed"
    plain.write_text(text)
    gz = tmp_path / "a.bed.gz"
    with gzip.open(gz, "wt") as handle:
        handle.write(text)
    pd.testing.assert_frame_equal(read_bed(gz), read_bed(plain))


def test_gzip_without_gz_suffix(tmp_path):
    path = tmp_path / "peaks.bed"
    with gzip.open(path, "wt") as handle:
        handle.write("chr1\t1\t2\n")
    assert read_bed(path)["end"].tolist() == [2]


def test_end_before_start_names_file_and_line(write_text):
    path = write_text("peaks.bed", "chr1\t1\t2\nchr1\t3\t4\nchr1\t5000\t4000\n")
    with pytest.raises(CoordinateError, match=re.escape(
            "peaks.bed:3: end (4000) must be > start (5000); BED is 0-based, half-open")):
        read_bed(path)


def test_empty_interval_is_an_error(write_text):
    path = write_text("peaks.bed", "chr1\t10\t10\n")
    with pytest.raises(CoordinateError, match=re.escape("peaks.bed:1: end (10) must be > start")):
        read_bed(path)


def test_negative_start(write_text):
    path = write_text("peaks.bed", "track x\nchr1\t-5\t10\n")
    with pytest.raises(CoordinateError, match=re.escape("peaks.bed:2: start (-5) must be >= 0")):
        read_bed(path)


@pytest.mark.parametrize("value", ["abc", "1.5", ""])
def test_non_integer_start(write_text, value):
    path = write_text("peaks.bed", f"chr1\t1\t5\nchr1\t{value}\t10\n")
    with pytest.raises(BedFormatError, match=re.escape(
            f"peaks.bed:2: column start must be an integer; got {value!r}")):
        read_bed(path)


def test_non_integer_summit(write_text):
    path = write_text("a.narrowPeak", "chr1\t1\t50\tp\t0\t.\t1\t1\t1\tmid\n")
    with pytest.raises(BedFormatError, match=re.escape(
            "a.narrowPeak:1: column summit must be an integer; got 'mid'")):
        read_bed(path)


def test_fewer_than_three_columns(write_text):
    path = write_text("peaks.bed", "chr1 100 200\n")  # spaces, not tabs
    with pytest.raises(BedFormatError, match=re.escape(
            "peaks.bed:1: expected at least 3 tab-separated columns (chrom, start, end); found 1")):
        read_bed(path)


@pytest.mark.parametrize("text", ["", "track x\n# nothing here\n\n"])
def test_empty_file(write_text, text):
    path = write_text("peaks.bed", text)
    with pytest.raises(BedFormatError, match=re.escape("peaks.bed: no intervals (empty BED file)")):
        read_bed(path)


def test_empty_file_allowed(write_text):
    df = read_bed(write_text("peaks.bed", ""), allow_empty=True)
    assert df.empty
    assert list(df.columns) == ["chrom", "start", "end", "line"]


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match=r"nope\.bed: no such BED file"):
        read_bed(tmp_path / "nope.bed")


def test_row_with_extra_columns_is_a_one_line_error(write_text):
    path = write_text("peaks.bed", "track a\nbrowser b\nchr1\t1\t5\nchr1\t10\t20\tx\n")
    with pytest.raises(BedFormatError) as info:
        read_bed(path)
    message = str(info.value)
    assert "\n" not in message
    assert "peaks.bed:4" in message


def test_unknown_chromosome_with_genome(write_text, genome):
    path = write_text("peaks.bed", "chr1\t1\t5\nchr7\t1\t5\n")
    with pytest.raises(ContigError, match=re.escape(
            "peaks.bed:2: chromosome 'chr7' is not in genome.fa (has 'chr1', 'chr2')")):
        read_bed(path, genome)


def test_interval_past_the_chromosome_end_with_genome(write_text, genome):
    path = write_text("peaks.bed", "chr1\t1\t5\nchr2\t450\t501\n")
    with pytest.raises(CoordinateError, match=re.escape(
            "peaks.bed:2: interval chr2:450-501 ends past the end of chr2 (500 bp in genome.fa)")):
        read_bed(path, genome)


def test_interval_ending_exactly_at_the_chromosome_end_is_fine(write_text, genome):
    assert read_bed(write_text("peaks.bed", "chr2\t450\t500\n"), genome)["end"].tolist() == [500]


def test_ensembl_names_renamed_to_the_genome_style(write_text, genome):
    df = read_bed(write_text("peaks.bed", "1\t1\t5\n2\t1\t5\nchr1\t7\t9\n"), genome)
    assert df["chrom"].tolist() == ["chr1", "chr2", "chr1"]


def test_ensembl_names_refused_without_rename(write_text, genome):
    path = write_text("peaks.bed", "1\t1\t5\n")
    with pytest.raises(ContigError, match=re.escape(
            "which names it 'chr1'; map the names (rename_contigs: true in the config, or "
            "chrom_map: {'1': 'chr1'})")):
        read_bed(path, genome, rename_contigs=False)


def test_chrom_map_applied(write_text, genome):
    path = write_text("peaks.bed", "scaffold_a\t1\t5\nchr1\t2\t3\n")
    df = read_bed(path, genome, chrom_map={"scaffold_a": "chr2"})
    assert df["chrom"].tolist() == ["chr2", "chr1"]


def test_write_bed_round_trip(tmp_path, write_text):
    text = "track x\nchr1\t100\t200\tp1\t5\t+\nchr2\t0\t50\tp2\t0\t-\n"
    original = read_bed(write_text("a.bed", text))
    out = write_bed(original, tmp_path / "b.bed")
    assert out == tmp_path / "b.bed"
    assert out.read_text() == "chr1\t100\t200\tp1\t5\t+\nchr2\t0\t50\tp2\t0\t-\n"
    again = read_bed(out)
    pd.testing.assert_frame_equal(again.drop(columns="line"), original.drop(columns="line"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bed", "b.bed"]  # no temp file left


def test_real_peak_table_with_hash_chrom_header(shared_dir):
    folder = shared_dir / "data" / "chr2_hg38"
    peaks, fasta = folder / "peaks_chr2_1-1750000.hg38.tsv", folder / "chr2_1-1750000.hg38.fa.gz"
    if not (peaks.exists() and fasta.exists()):
        pytest.skip(f"{folder} lacks the peak table or the FASTA")
    df = read_bed(peaks, Genome(fasta))
    assert len(df) == 5144
    assert list(df.columns[:12]) == [*NARROWPEAK_COLUMNS, "cell", "tf"]
    assert df["summit"].dtype == "int64"
    assert (df["chrom"] == "chr2").all()
    assert df["end"].max() <= 1_750_000
    assert df["line"].iloc[0] == 2
