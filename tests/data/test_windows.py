"""Choosing bins: tiling, peak centring, coverage, blacklist / N filters, splits, negatives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dnalens.data.windows import (
    assign_split_by_chroms,
    assign_split_by_regions,
    coverage_fraction,
    drop_n_rich,
    drop_overlapping,
    peak_bins,
    sample_negative_bins,
    tile_bins,
)
from dnalens.errors import ConfigError
from dnalens.io.genome import Genome


def intervals(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


def rows(df: pd.DataFrame) -> list[tuple]:
    triples = df[["chrom", "start", "end"]].itertuples(index=False)
    return [(c, int(s), int(e)) for c, s, e in triples]


# --- tile_bins ----------------------------------------------------------------------------------

def test_tile_bins_counts_and_edges():
    bins = tile_bins({"a": 1000, "b": 450, "c": 150}, ["a", "b", "c"], 200)
    assert rows(bins) == [("a", 0, 200), ("a", 200, 400), ("a", 400, 600), ("a", 600, 800),
                          ("a", 800, 1000), ("b", 0, 200), ("b", 200, 400)]
    assert bins["start"].dtype == "int64"


def test_tile_bins_with_stride():
    bins = tile_bins({"a": 1000}, ["a"], 200, stride=100)
    assert bins["start"].tolist() == list(range(0, 801, 100))
    assert (bins["end"] - bins["start"] == 200).all()


def test_tile_bins_only_listed_chromosomes():
    bins = tile_bins({"a": 400, "b": 400}, ["b"], 200)
    assert rows(bins) == [("b", 0, 200), ("b", 200, 400)]


def test_tile_bins_no_chromosomes_gives_typed_empty_frame():
    bins = tile_bins({"a": 400}, [], 200)
    assert bins.empty
    assert list(bins.columns) == ["chrom", "start", "end"]
    assert bins["start"].dtype == "int64"


@pytest.mark.parametrize(
    ("bin_size", "stride", "got"), [(0, None, "0 and 0"), (200, -5, "200 and -5")]
)
def test_tile_bins_bad_sizes(bin_size, stride, got):
    with pytest.raises(ConfigError, match=f"bin_size and stride must be > 0; got {got}"):
        tile_bins({"a": 400}, ["a"], bin_size, stride)


# --- peak_bins ----------------------------------------------------------------------------------

def test_peak_bins_centre_on_summit():
    peaks = pd.DataFrame({"chrom": ["chr1", "chr2"], "start": [1000, 50], "end": [1400, 450],
                          "summit": [50, 300]})
    assert rows(peak_bins(peaks, 200)) == [("chr1", 950, 1150), ("chr2", 250, 450)]


def test_peak_bins_centre_on_midpoint_without_summit():
    peaks = intervals([("chr1", 1000, 1400), ("chr1", 0, 101)])
    assert rows(peak_bins(peaks, 200)) == [("chr1", 1100, 1300), ("chr1", -50, 150)]


def test_peak_bins_invalid_summit_falls_back_to_midpoint():
    # narrowPeak uses -1 for "no summit"; an offset past the peak is not a summit either.
    peaks = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [1000, 3000], "end": [1400, 3400],
                          "summit": [-1, 400]})
    assert rows(peak_bins(peaks, 200)) == [("chr1", 1100, 1300), ("chr1", 3100, 3300)]


def test_peak_bins_odd_size_and_duplicates():
    peaks = intervals([("chr1", 100, 200), ("chr1", 100, 200), ("chr1", 140, 160)])
    assert rows(peak_bins(peaks, 11)) == [("chr1", 145, 156)]


# --- coverage_fraction --------------------------------------------------------------------------

def test_coverage_fraction_hand_computed():
    peaks = intervals([
        ("chr1", 20, 60), ("chr1", 40, 80),   # overlapping: union [20, 80), 60 bp, not 80
        ("chr1", 90, 110),
        ("chr2", 0, 1000),
    ])
    bins = intervals([
        ("chr1", 0, 100),    # [20,80) + [90,100) = 70
        ("chr2", 500, 600),  # inside the chr2 peak
        ("chr1", 100, 200),  # [100,110) = 10
        ("chr3", 0, 100),    # no peaks on chr3
        ("chr1", 50, 150),   # [50,80) + [90,110) = 50
    ])
    np.testing.assert_allclose(coverage_fraction(bins, peaks), [0.7, 1.0, 0.1, 0.0, 0.5])


def test_coverage_fraction_nested_and_adjacent_intervals_are_not_double_counted():
    peaks = intervals([("chr1", 0, 100), ("chr1", 10, 20), ("chr1", 100, 150), ("chr1", 120, 130)])
    bins = intervals([("chr1", 0, 200), ("chr1", 140, 160)])
    np.testing.assert_allclose(coverage_fraction(bins, peaks), [0.75, 0.5])


def test_coverage_fraction_keeps_the_bin_index_order():
    bins = intervals([("chr1", 0, 10), ("chr1", 10, 20)]).set_axis([7, 3])
    np.testing.assert_allclose(coverage_fraction(bins, intervals([("chr1", 15, 20)])), [0.0, 0.5])


def test_coverage_fraction_brute_force():
    rng = np.random.default_rng(0)
    size = 300
    for _ in range(20):
        peaks = []
        for chrom in ("a", "b"):
            for _ in range(int(rng.integers(0, 8))):
                start = int(rng.integers(0, size - 1))
                end = int(rng.integers(start + 1, min(start + 60, size) + 1))
                peaks.append((chrom, start, end))
        peaks = intervals(peaks) if peaks else intervals([("a", 0, 1)]).iloc[:0]
        bins = []
        for _ in range(30):
            start = int(rng.integers(-20, size))
            bins.append((str(rng.choice(["a", "b"])), start, start + int(rng.integers(1, 80))))
        bins = intervals(bins)
        masks = {"a": np.zeros(size + 200, bool), "b": np.zeros(size + 200, bool)}
        for chrom, start, end in rows(peaks):
            masks[chrom][start + 100 : end + 100] = True  # offset 100: bins may start below 0
        expected = [masks[chrom][start + 100 : end + 100].sum() / (end - start)
                    for chrom, start, end in rows(bins)]
        np.testing.assert_allclose(coverage_fraction(bins, peaks), expected)


# --- drop_overlapping / drop_n_rich -------------------------------------------------------------

def test_drop_overlapping_blacklist():
    bins = tile_bins({"chr1": 1000, "chr2": 400}, ["chr1", "chr2"], 200)
    blacklist = intervals([("chr1", 500, 600)])
    kept = drop_overlapping(bins, blacklist)
    # [400, 600) meets the blacklist; [600, 800) only touches its end (half-open) and stays.
    assert rows(kept) == [("chr1", 0, 200), ("chr1", 200, 400), ("chr1", 600, 800),
                          ("chr1", 800, 1000), ("chr2", 0, 200), ("chr2", 200, 400)]
    assert kept.index.tolist() == list(range(6))


def test_drop_overlapping_with_flank():
    bins = tile_bins({"chr1": 1000}, ["chr1"], 200)
    kept = drop_overlapping(bins, intervals([("chr1", 500, 600)]), flank=1)
    assert kept["start"].tolist() == [0, 200, 800]


@pytest.fixture
def n_run_genome(tmp_path, write_fasta, dna):
    seq = dna(1000, 7)
    seq = seq[:400] + "N" * 300 + seq[700:]  # N run at [400, 700)
    return Genome(write_fasta(tmp_path / "n.fa", {"chr1": seq, "chr2": dna(300, 8)}))


def test_drop_n_rich_hand_computed(n_run_genome):
    bins = tile_bins(n_run_genome.chrom_sizes, ["chr1"], 100)
    kept = drop_n_rich(bins, n_run_genome, input_length=200, max_n_fraction=0.5)
    # Window of bin [b, b + 100) is [b - 50, b + 150). [300, 400): 50 N -> kept;
    # [400, 500): 150 N -> dropped; ... [600, 700): 150 N -> dropped; [700, 800): 50 N -> kept.
    # Chromosome ends: [0, 100) and [900, 1000) have 50 off-chromosome bases -> kept.
    assert kept["start"].tolist() == [0, 100, 200, 300, 700, 800, 900]


def test_drop_n_rich_brute_force(n_run_genome):
    bins = pd.concat([tile_bins(n_run_genome.chrom_sizes, ["chr2", "chr1"], 50, stride=30),
                      intervals([("chr2", -100, -50), ("chr1", 990, 1040)])], ignore_index=True)
    for input_length, fraction in [(200, 0.5), (151, 0.25), (400, 0.0), (1000, 0.9)]:
        kept = drop_n_rich(bins, n_run_genome, input_length, fraction)
        expected = []
        for chrom, start, end in rows(bins):
            lo = (start + end) // 2 - input_length // 2
            window = n_run_genome.fetch(chrom, lo, lo + input_length)
            if window.count("N") <= fraction * input_length:
                expected.append((chrom, start, end))
        assert rows(kept) == expected


# --- splits -------------------------------------------------------------------------------------

def test_assign_split_by_chroms():
    bins = intervals([("chr1", 0, 10), ("chr2", 0, 10), ("chr3", 0, 10), ("chr1", 10, 20)])
    bins.index = [10, 11, 12, 13]
    split = assign_split_by_chroms(bins, ["chr2"], ["chr3"])
    assert split.to_dict() == {10: "train", 11: "valid", 12: "test", 13: "train"}


def test_assign_split_chromosome_in_valid_and_test():
    bins = intervals([("chr1", 0, 10)])
    with pytest.raises(ConfigError, match=r"split: chromosomes \['chr2'\] are in both valid and "
                                          r"test"):
        assign_split_by_chroms(bins, ["chr2", "chr4"], ["chr3", "chr2"])


def window_overlaps(start: int, end: int, input_length: int, regions) -> bool:
    lo = (start + end) // 2 - input_length // 2
    hi = lo + input_length
    return any(lo < r_end and r_start < hi for _, r_start, r_end in regions)


def test_assign_split_by_regions_hand_computed():
    bins = tile_bins({"chr1": 10_000}, ["chr1"], 200)
    valid = intervals([("chr1", 4000, 5000)])
    test = intervals([("chr1", 8000, 9000)])
    split = assign_split_by_regions(bins, valid, test, input_length=1000)
    by_start = dict(zip(bins["start"], split, strict=True))
    assert [s for s, v in by_start.items() if v == "valid"] == [4000, 4200, 4400, 4600, 4800]
    assert [s for s, v in by_start.items() if v == "test"] == [8000, 8200, 8400, 8600, 8800]
    # Window of bin [b, b + 200) is [b - 400, b + 600): b = 3600, 3800 and 5000, 5200 reach
    # into the valid region, 7600, 7800 and 9000, 9200 into the test region.
    for start in (3600, 3800, 5000, 5200, 7600, 7800, 9000, 9200):
        assert by_start[start] == "drop"
    assert by_start[3000] == by_start[6000] == by_start[9800] == by_start[0] == "train"


def test_assign_split_by_regions_centre_decides():
    bins = intervals([("chr1", 3900, 4100), ("chr1", 3899, 4099)])  # centres 4000 and 3999
    split = assign_split_by_regions(bins, intervals([("chr1", 4000, 5000)]), None, input_length=200)
    assert split.tolist() == ["valid", "drop"]


@pytest.mark.parametrize(("bin_size", "input_length"), [(200, 1000), (200, 1001), (51, 500)])
def test_assign_split_by_regions_no_training_window_sees_held_out_bases(bin_size, input_length):
    rng = np.random.default_rng(1)
    valid = intervals([("chr1", 2000, 2600), ("chr2", 100, 400)])
    test = intervals([("chr1", 5000, 5300)])
    starts = rng.integers(0, 8000, 300)
    bins = pd.DataFrame({"chrom": rng.choice(["chr1", "chr2"], 300), "start": starts,
                         "end": starts + bin_size})
    split = assign_split_by_regions(bins, valid, test, input_length)
    held_out = rows(pd.concat([valid, test]))
    regions = {"valid": rows(valid), "test": rows(test)}
    for (chrom, start, end), name in zip(rows(bins), split, strict=True):
        same_chrom = [r for r in held_out if r[0] == chrom]
        reaches = window_overlaps(start, end, input_length, same_chrom)
        if name == "train":
            assert not reaches
        centre = (start + end) // 2
        in_region = [n for n, spans in regions.items()
                     if any(c == chrom and s <= centre < e for c, s, e in spans)]
        if in_region:
            assert name in (in_region[0], "drop")
        elif reaches:
            assert name == "drop"


def test_assign_split_by_regions_mixed_bin_widths_do_not_leak():
    # Bin [1710, 1810): centre 1760, window [1510, 2010) reaches 10 bp into [2000, 2600).
    bins = intervals([("chr1", 1710, 1810), ("chr1", 0, 300)])
    split = assign_split_by_regions(bins, intervals([("chr1", 2000, 2600)]), None, 500)
    assert split.tolist() == ["drop", "train"]


def test_bin_centred_in_test_region_next_to_valid_region_is_test():
    bins = intervals([("chr1", 5000, 5200)])  # centre 5100, inside the test region
    valid = intervals([("chr1", 4000, 5000)])
    test = intervals([("chr1", 5000, 6000)])
    split = assign_split_by_regions(bins, valid, test, input_length=1000)
    assert split.tolist() == ["test"]


def test_assign_split_by_regions_without_regions_is_all_train():
    bins = intervals([("chr1", 0, 10), ("chr1", 10, 20)])
    assert assign_split_by_regions(bins, None, intervals([]), 100).tolist() == ["train", "train"]


# --- sample_negative_bins -----------------------------------------------------------------------

def test_sample_negative_bins_stay_in_bounds():
    sizes = {"big": 100_000, "small": 1000, "tiny": 150}
    bins = sample_negative_bins(sizes, ["big", "small", "tiny"], 5000, 200,
                                np.random.default_rng(0))
    assert len(bins) == 5000
    assert (bins["end"] - bins["start"] == 200).all()
    assert (bins["start"] >= 0).all()
    assert (bins["end"] <= bins["chrom"].map(sizes)).all()
    assert "tiny" not in set(bins["chrom"])  # shorter than a bin
    # Chosen in proportion to the usable length: 99,800 vs 800.
    share_small = (bins["chrom"] == "small").mean()
    assert 0.003 < share_small < 0.013


def test_sample_negative_bins_is_seeded():
    sizes = {"a": 50_000, "b": 20_000}
    first = sample_negative_bins(sizes, ["a", "b"], 100, 200, np.random.default_rng(5))
    again = sample_negative_bins(sizes, ["a", "b"], 100, 200, np.random.default_rng(5))
    other = sample_negative_bins(sizes, ["a", "b"], 100, 200, np.random.default_rng(6))
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)


def test_sample_negative_bins_nothing_to_sample():
    rng = np.random.default_rng(0)
    assert sample_negative_bins({"a": 1000}, ["a"], 0, 200, rng).empty
    assert sample_negative_bins({"a": 100}, ["a"], 10, 200, rng).empty
