"""bigWig coverage tracks: track lists, binned sums/means, transforms, names, writing."""

from __future__ import annotations

import math
import pickle
import re

import numpy as np
import pytest

from dnalens.errors import ConfigError, ContigError, CoordinateError, InputFileError
from dnalens.io.genome import Genome
from dnalens.io.tracks import (
    BigWigTrack,
    TrackSet,
    TrackSpec,
    read_track_list,
    transform_coverage,
    write_bigwig,
    write_bigwig_tracks,
)

SIZES = {"chr1": 100, "chr2": 50}


@pytest.fixture
def genome(tmp_path, write_fasta, dna):
    return Genome(write_fasta(tmp_path / "genome.fa", {"chr1": dna(100, 1), "chr2": dna(50, 2)}))


@pytest.fixture
def ensembl_genome(tmp_path, write_fasta, dna):
    return Genome(write_fasta(tmp_path / "ens.fa", {"1": dna(100, 1), "2": dna(50, 2)}))


@pytest.fixture
def bw(tmp_path):
    """chr1: 1.0 on [0, 5), no data on [5, 10), 2.0 on [10, 20), 4.0 on [96, 100); chr2 empty."""
    return write_bigwig(tmp_path / "a.bw", SIZES, [
        ("chr1", [10, 0, 96], [20, 5, 100], [2.0, 1.0, 4.0]),  # unsorted on purpose
    ])


def test_binned_sum_and_mean_known_answer(bw, genome):
    track = BigWigTrack(bw, genome)
    # Bins of 10: [0,10) = 5 * 1.0 (5 missing bases count 0), [10,20) = 10 * 2.0, [20,30) = 0.
    np.testing.assert_array_equal(track.binned("chr1", 0, 30, 10), [5.0, 20.0, 0.0])
    np.testing.assert_array_equal(track.binned("chr1", 0, 30, 10, "mean"), [0.5, 2.0, 0.0])
    assert track.binned("chr1", 0, 30, 10).dtype == np.float32


def test_binned_past_chromosome_ends_counts_zero(bw, genome):
    track = BigWigTrack(bw, genome)
    # [90,100) holds 4 bases of 4.0; [100,110) is past the end; [-10,0) before the start.
    np.testing.assert_array_equal(track.binned("chr1", 90, 110, 10), [16.0, 0.0])
    np.testing.assert_array_equal(track.binned("chr1", -10, 10, 10), [0.0, 5.0])


def test_values_nan_where_missing(bw, genome):
    values = BigWigTrack(bw, genome).values("chr1", 3, 12)
    expected = [1, 1, np.nan, np.nan, np.nan, np.nan, np.nan, 2, 2]
    np.testing.assert_array_equal(values, np.array(expected, dtype=np.float32))


def test_all_missing(bw, genome):
    track = BigWigTrack(bw, genome)
    assert track.all_missing("chr1", 5, 10)
    assert track.all_missing("chr2", 0, 50)
    assert not track.all_missing("chr1", 0, 10)


def test_window_not_whole_bins_is_an_error(bw, genome):
    track = BigWigTrack(bw, genome)
    with pytest.raises(CoordinateError, match=r"window chr1:0-25 \(25 bp\) is not a whole "
                       r"number of 10 bp bins"):
        track.binned("chr1", 0, 25, 10)
    with pytest.raises(ConfigError, match="summary must be one of"):
        track.binned("chr1", 0, 20, 10, "max")


def test_renames_chr1_to_1(bw, ensembl_genome):
    track = BigWigTrack(bw, ensembl_genome)
    np.testing.assert_array_equal(track.binned("1", 0, 20, 10), [5.0, 20.0])


def test_without_rename_the_error_lists_the_bigwig_names(bw, ensembl_genome):
    with pytest.raises(ContigError) as err:
        BigWigTrack(bw, ensembl_genome, rename_contigs=False)
    message = str(err.value)
    assert "none of its chromosomes ('chr1', 'chr2') is in ens.fa (has '1', '2')" in message
    assert "chrom_map" in message


def test_chrom_map(bw, ensembl_genome):
    track = BigWigTrack(bw, ensembl_genome, rename_contigs=False, chrom_map={"chr1": "1"})
    np.testing.assert_array_equal(track.binned("1", 0, 10, 10), [5.0])
    with pytest.raises(ContigError, match=r"'2' is named 'chr2' in this file; set "
                       r"rename_contigs=True or chrom_map=\{'chr2': '2'\}"):
        track.binned("2", 0, 10, 10)


def test_pickled_track_reopens(bw, genome):
    track = pickle.loads(pickle.dumps(BigWigTrack(bw, genome)))
    np.testing.assert_array_equal(track.binned("chr1", 0, 20, 10), [5.0, 20.0])


def test_not_a_bigwig(write_text, genome):
    with pytest.raises(InputFileError, match="not a bigWig file"):
        BigWigTrack(write_text("a.bw", "chr1\t0\t10\t1\n"), genome)
    with pytest.raises(InputFileError, match="no such bigWig file"):
        BigWigTrack(write_text("x", "").parent / "missing.bw", genome)


def test_soft_clip_and_transforms():
    x = np.array([0.0, 3.0, 4.0, 13.0])
    clipped = transform_coverage(x, TrackSpec("t", "t.bw", clip=4.0))
    np.testing.assert_allclose(clipped, [0.0, 3.0, 4.0, 7.0])  # 4 + sqrt(13 - 4)
    scaled = transform_coverage(x, TrackSpec("t", "t.bw", clip=4.0, scale=2.0))
    np.testing.assert_allclose(scaled, [0.0, 4 + math.sqrt(2), 4 + 2.0, 4 + math.sqrt(22)],
                               rtol=1e-6)
    logged = transform_coverage(x, TrackSpec("t", "t.bw", transform="log1p"))
    np.testing.assert_allclose(logged, np.log1p(x), rtol=1e-6)
    rooted = transform_coverage(x, TrackSpec("t", "t.bw", transform="sqrt", clip=4.0))
    np.testing.assert_allclose(rooted, np.sqrt([0.0, 3.0, 4.0, 7.0]), rtol=1e-6)
    with pytest.raises(ConfigError, match="needs values >= 0"):
        transform_coverage(np.array([-1.0]), TrackSpec("t", "t.bw", transform="sqrt"))


def test_read_track_list(write_text, bw):
    text = ("name\tfile\tsummary\ttransform\tclip\tscale\n"
            "dnase\ta.bw\tmean\tlog1p\t\t2\n"
            "\n"
            f"atac\t{bw}\t\t\t32\t\n")
    specs = read_track_list(write_text("tracks.tsv", text))
    assert specs == [
        TrackSpec("dnase", bw, summary="mean", transform="log1p", clip=None, scale=2.0),
        TrackSpec("atac", bw, summary="sum", transform="none", clip=32.0, scale=1.0),
    ]


@pytest.mark.parametrize(("text", "message"), [
    ("name\tpath\nx\ta.bw\n", r"tracks.tsv:1: header has missing column\(s\) \['file'\]"),
    ("name\tfile\tcolour\nx\ta.bw\tred\n", r"tracks.tsv:1: header has unknown column"),
    ("name\tfile\nx\ta.bw\textra\n", r"tracks.tsv:2: expected 2 tab-separated fields"),
    ("name\tfile\nx\tnone.bw\n", r"tracks.tsv:2: bigWig file .*none.bw not found"),
    ("name\tfile\tsummary\nx\ta.bw\tmax\n", r"tracks.tsv:2: track 'x': summary must be one of"),
    ("name\tfile\tclip\nx\ta.bw\thigh\n", r"tracks.tsv:2: column clip must be a number; got"),
    ("name\tfile\tscale\nx\ta.bw\t0\n", r"tracks.tsv:2: track 'x': scale must be"),
    ("name\tfile\nx\ta.bw\n#c\nx\ta.bw\n", r"tracks.tsv:4: track name 'x' already used on "
                                         r"line 2"),
    ("name\tfile\n", r"tracks.tsv: no tracks listed"),
    ("\n", r"tracks.tsv: empty track list"),
])
def test_read_track_list_errors(write_text, bw, text, message):
    with pytest.raises(InputFileError, match=message):
        read_track_list(write_text("tracks.tsv", text))


def test_track_set_stacks_transformed_tracks(tmp_path, bw, genome):
    other = write_bigwig(tmp_path / "b.bw", SIZES, [("chr1", [0], [20], [9.0])])
    tracks = TrackSet([TrackSpec("a", bw, summary="mean"),
                       TrackSpec("b", other, transform="sqrt", scale=1 / 9)], genome)
    out = tracks.binned("chr1", 0, 30, 10)
    assert out.shape == (2, 3)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.5, 2.0, 0.0], [math.sqrt(10), math.sqrt(10), 0.0]],
                               rtol=1e-6)
    assert tracks.names == ["a", "b"]
    np.testing.assert_array_equal(tracks.all_missing("chr1", 20, 30), [True, True])


def test_track_set_refuses_a_track_without_data(tmp_path, bw, genome):
    empty = write_bigwig(tmp_path / "empty.bw", SIZES, [("chr1", [0], [10], [np.nan])])
    with pytest.raises(InputFileError, match=re.escape(
            f"{empty}: track 'e' has no values on any chromosome of genome.fa")):
        TrackSet([TrackSpec("a", bw), TrackSpec("e", empty)], genome)


def test_write_then_read_back(tmp_path, genome):
    starts = np.arange(0, 100, 10)
    values = np.arange(10, dtype=np.float64) / 4
    path = write_bigwig(tmp_path / "w.bw", SIZES, [("chr1", starts, starts + 10, values)])
    track = BigWigTrack(path, genome)
    np.testing.assert_array_equal(track.binned("chr1", 0, 100, 10, "mean"), values)
    assert not list(tmp_path.glob(".w.bw.*"))  # no temporary file left behind


def test_write_rejects_overlaps_and_bins_past_the_end(tmp_path):
    with pytest.raises(CoordinateError, match="bins chr1:0-10 and chr1:5-15 overlap"):
        write_bigwig(tmp_path / "w.bw", SIZES, [("chr1", [5, 0], [15, 10], [1, 2])])
    with pytest.raises(CoordinateError, match=r"bin chr2:40-60 is empty or outside chr2"):
        write_bigwig(tmp_path / "w.bw", SIZES, [("chr2", [40], [60], [1])])
    with pytest.raises(ContigError, match="'chr3' is not in chrom_sizes"):
        write_bigwig(tmp_path / "w.bw", SIZES, [("chr3", [0], [10], [1])])
    assert not (tmp_path / "w.bw").exists()


def test_write_bigwig_tracks_one_file_per_row(tmp_path, genome):
    chroms = ["chr1", "chr1", "chr2"]
    starts, ends = np.array([0, 10, 0]), np.array([10, 20, 10])
    values = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    paths = write_bigwig_tracks([tmp_path / "p0.bw", tmp_path / "p1.bw"], SIZES, chroms,
                                starts, ends, values)
    for path, row in zip(paths, values, strict=True):
        track = BigWigTrack(path, genome)
        np.testing.assert_array_equal(track.binned("chr1", 0, 20, 10, "mean"), row[:2])
        np.testing.assert_array_equal(track.binned("chr2", 0, 10, 10, "mean"), row[2:])
    with pytest.raises(ConfigError, match=r"values must have shape \(n_tracks, n_bins\)"):
        write_bigwig_tracks([tmp_path / "p0.bw"], SIZES, "chr1", starts, ends, values)


@pytest.mark.parametrize(("text", "message"), [
    ("name\tfile\tname\nx\ta.bw\ty\n", r"tracks.tsv:1: header has repeated column\(s\) "
                                       r"\['name'\]"),
    ("name\tfile\tscale\nx\ta.bw\t1_0\n", r"tracks.tsv:2: column scale must be a number; got "
                                          r"'1_0'"),
    ("name\tfile\tclip\nx\ta.bw\tnan\n", r"tracks.tsv:2: column clip must be a number; got "
                                         r"'nan'"),
    ("name\tfile\nx\t.\n", r"tracks.tsv:2: bigWig file .* is a folder"),
    ("name\tfile\nx\ttracks.tsv\n", r"tracks.tsv:2: .*tracks.tsv: not a bigWig file \(found "
                                    r"other bytes\); wig and bedGraph files need converting"),
])
def test_read_track_list_more_errors(write_text, bw, text, message):
    with pytest.raises(InputFileError, match=message):
        read_track_list(write_text("tracks.tsv", text))


def test_track_list_bytes_faults_and_encodings(tmp_path, bw):
    expected = [TrackSpec("x", bw)]
    for name, data in [("crlf.tsv", b"name\tfile\r\nx\ta.bw\r\n"),
                       ("bom.tsv", b"\xef\xbb\xbfname\tfile\nx\ta.bw\n")]:
        (tmp_path / name).write_bytes(data)
        assert read_track_list(tmp_path / name) == expected, name
    (tmp_path / "l1.tsv").write_bytes("name\tfile\n\u00d6\ta.bw\n".encode("latin-1"))
    with pytest.raises(InputFileError, match=r"l1.tsv:2: not a text track list \(byte 0xd6 at "
                       r"column 1 is not UTF-8"):
        read_track_list(tmp_path / "l1.tsv")
    (tmp_path / "u16.tsv").write_bytes("name\tfile\nx\ta.bw\n".encode("utf-16"))
    with pytest.raises(InputFileError, match=r"u16.tsv:1: not a text track list"):
        read_track_list(tmp_path / "u16.tsv")


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.8])
def test_truncated_bigwig_is_one_line_and_no_c_message(tmp_path, genome, capfd, keep):
    whole = write_bigwig(tmp_path / "whole.bw", SIZES, [
        ("chr1", np.arange(0, 100, 2), np.arange(2, 101, 2), np.arange(50.0))])
    cut = tmp_path / "cut.bw"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * keep)])
    with pytest.raises(InputFileError, match=r"cut.bw: truncated or corrupt bigWig file \(its "
                       r"header or index cannot be read\)"):
        BigWigTrack(cut, genome)
    assert capfd.readouterr().err == ""  # libBigWig's own complaints are kept off stderr


def test_bigbed_and_empty_files_are_named_as_such(tmp_path, genome):
    (tmp_path / "a.bb").write_bytes(b"\xeb\xf2\x89\x87" + b"\x00" * 60)
    with pytest.raises(InputFileError, match=r"a.bb: not a bigWig file \(found a bigBed file\)"):
        BigWigTrack(tmp_path / "a.bb", genome)
    (tmp_path / "e.bw").write_bytes(b"")
    with pytest.raises(InputFileError, match=r"e.bw: not a bigWig file \(found an empty file\)"):
        BigWigTrack(tmp_path / "e.bw", genome)


def test_bigwig_cut_inside_its_data_fails_on_read_naming_the_file(tmp_path, capfd):
    fasta = tmp_path / "long.fa"
    fasta.write_text(">chr1\n" + "A" * 100_000 + "\n")
    starts = np.arange(0, 100_000, 10)
    whole = write_bigwig(tmp_path / "long.bw", {"chr1": 100_000},
                         [("chr1", starts, starts + 10, np.linspace(0, 1, starts.size))])
    cut = tmp_path / "cut.bw"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.95)])
    track = BigWigTrack(cut, Genome(fasta))  # header and index are whole; the summaries are not
    with pytest.raises(InputFileError, match=r"cut.bw: cannot read the summary of chr1 "
                       r"\(truncated or corrupt bigWig file\)"):
        track.has_data()
    assert capfd.readouterr().err == ""
