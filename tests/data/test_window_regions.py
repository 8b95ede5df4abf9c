"""Regions in data.windows.chroms and held-out regions selected by bin centre or by window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnalens.config import DataConfig
from dnalens.data.build import build_data
from dnalens.data.windows import (
    assign_split_by_regions,
    sample_negative_bins,
    sample_negative_bins_in,
    tile_bins,
    tile_regions,
    window_regions,
)
from dnalens.errors import ConfigError, ContigError, CoordinateError
from dnalens.io.genome import Genome


def intervals(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


def starts(frame: pd.DataFrame) -> list[int]:
    return [int(s) for s in frame["start"]]


@pytest.fixture
def genome_path(tmp_path, write_fasta, dna):
    return write_fasta(tmp_path / "g.fa", {"chr1": dna(4000, 1), "chr2": dna(2000, 2)})


@pytest.fixture
def bed(write_text):
    return write_text("peaks.bed", "chr1\t1000\t1150\nchr1\t2050\t2150\nchr2\t100\t300\n")


def config(genome_path, bed, windows=None, split=None) -> DataConfig:
    return DataConfig.model_validate({
        "genome": str(genome_path), "targets": [{"name": "tf", "bed": str(bed)}],
        "windows": {"bin_size": 200, "input_length": 400, **(windows or {})},
        "split": split or {}})


# --- tile_regions / window_regions --------------------------------------------------------------

def test_tile_regions_keep_the_chromosome_grid():
    # [1050, 1999): the grid's bins inside start at 1200, 1400, 1600 (1800 would end at 2000).
    bins = tile_regions(intervals([("chr1", 1050, 1999)]), 200)
    assert starts(bins) == [1200, 1400, 1600]
    whole = tile_bins({"chr1": 4000}, ["chr1"], 200)
    inside = whole[(whole["start"] >= 1050) & (whole["end"] <= 1999)]
    assert starts(bins) == starts(inside)


def test_tile_regions_overlapping_regions_give_each_bin_once():
    bins = tile_regions(intervals([("chr1", 0, 600), ("chr1", 200, 800)]), 200)
    assert starts(bins) == [0, 200, 400, 600]


def test_window_regions_reads_chromosomes_and_one_based_regions(genome_path):
    genome = Genome(genome_path)
    found = window_regions(["chr1:1,051-1,999", "chr2"], genome)
    assert found.values.tolist() == [["chr1", 1050, 1999], ["chr2", 0, 2000]]
    assert window_regions(None, genome).values.tolist() == [["chr1", 0, 4000],
                                                            ["chr2", 0, 2000]]


@pytest.mark.parametrize("entry, error, match", [
    ("chr1:3,001-4,100", CoordinateError,
     r"^data.windows.chroms: region 'chr1:3,001-4,100' ends past the end of chr1 \(4,000 bp "
     r"in g.fa\); regions are 1-based, inclusive$"),
    ("chr1:1e3-2000", CoordinateError,
     r"^data.windows.chroms: 'chr1:1e3-2000' is not a region chrom:start-end"),
    ("chr9:1-100", ContigError, r"chr9"),
])
def test_window_regions_refuses(genome_path, entry, error, match):
    with pytest.raises(error, match=match):
        window_regions([entry], Genome(genome_path))


def test_config_names_a_region_with_bad_numbers(tmp_path, genome_path, bed):
    from dnalens.config import load_data_config

    path = tmp_path / "d.yaml"
    path.write_text(f"genome: {genome_path}\ntargets: [{{name: tf, bed: {bed}}}]\n"
                    "windows: {chroms: ['chr1:0-100']}\n")
    with pytest.raises(ConfigError, match=rf"^{path}: windows.chroms: .*'chr1:0-100': start "
                                          r"must be >= 1; region strings are 1-based"):
        load_data_config(path)


# --- build_data on a region ---------------------------------------------------------------------

@pytest.mark.parametrize("region, expected", [
    ("chr1:1,001-3,000", list(range(1000, 3000, 200))),   # [1000, 3000): 10 bins
    ("chr1:1051-3000", list(range(1200, 3000, 200))),     # [1050, 3000): 9 bins
])
def test_a_region_is_tiled_directly(genome_path, bed, region, expected):
    bundle = build_data(config(genome_path, bed, {"chroms": [region]}), all_as_test=True)
    test = bundle.frames["test"]
    assert starts(test) == expected and set(test["chrom"]) == {"chr1"}
    assert test["tf"].tolist() == [float(s in (1000, 2000)) for s in expected]


def test_peaks_mode_on_a_region_keeps_bins_inside_it(genome_path, bed):
    cfg = config(genome_path, bed, {"chroms": ["chr1:1,001-3,000"], "mode": "peaks",
                                    "negatives_per_positive": 3})
    train = build_data(cfg, seed=3).frames["train"]
    # Peak bins [975, 1175) (not inside) and [2000, 2200) (inside), plus 3 negatives inside.
    assert len(train) == 4 and (2000, 1.0) in zip(train["start"], train["tf"], strict=True)
    assert (train["start"] >= 1000).all() and (train["end"] <= 3000).all()


# --- region_selection ---------------------------------------------------------------------------

# 20 bins of 200 bp over [0, 4000), windows of 1,000 bp (bin start - 400 to start + 600), test
# region [1000, 3000). Centre in the region: starts 1000..2800. Whole window inside:
# start - 400 >= 1000 and start + 600 <= 3000, so starts 1400..2400. A training window touches the
# region when start + 600 > 1000 and start - 400 < 3000: starts 600..3200 are not training.
TILED = intervals([("chr1", s, s + 200) for s in range(0, 4000, 200)])
TEST = intervals([("chr1", 1000, 3000)])
TRAIN = [0, 200, 400, 3400, 3600, 3800]


def test_window_selection_keeps_only_bins_whose_whole_window_is_inside():
    split = assign_split_by_regions(TILED, None, TEST, 1000, "window")
    assert starts(TILED[split == "test"]) == [1400, 1600, 1800, 2000, 2200, 2400]
    assert starts(TILED[split == "train"]) == TRAIN
    assert starts(TILED[split == "drop"]) == [600, 800, 1000, 1200, 2600, 2800, 3000, 3200]


def test_centre_selection_is_the_default():
    split = assign_split_by_regions(TILED, None, TEST, 1000)
    assert starts(TILED[split == "test"]) == list(range(1000, 3000, 200))
    assert starts(TILED[split == "train"]) == TRAIN


def test_unknown_selection_is_refused():
    with pytest.raises(ConfigError, match=r"region_selection must be 'centre' or 'window'; "
                                          r"got 'middle'"):
        assign_split_by_regions(TILED, None, TEST, 1000, "middle")


@pytest.mark.parametrize("selection, n_test", [("centre", 10), ("window", 6)])
def test_build_data_selects_region_bins(tmp_path, genome_path, bed, selection, n_test):
    regions = tmp_path / "test.bed"
    regions.write_text("chr1\t1000\t3000\n")
    cfg = config(genome_path, bed, {"input_length": 1000, "chroms": ["chr1"]},
                 {"test_regions": str(regions), "region_selection": selection})
    bundle = build_data(cfg)
    assert len(bundle.datasets["test"]) == n_test
    assert starts(bundle.frames["train"]) == TRAIN


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 9000), min_size=1, max_size=30),
       st.integers(0, 5000), st.integers(1, 4000), st.sampled_from([100, 200]),
       st.sampled_from([200, 1000, 1001]))
def test_window_selection_brute_force(bin_starts, region_start, region_length, bin_size,
                                      input_length):
    bins = intervals([("chr1", s, s + bin_size) for s in bin_starts])
    lo, hi = region_start, region_start + region_length
    split = assign_split_by_regions(bins, None, intervals([("chr1", lo, hi)]), input_length,
                                    "window")
    for start, name in zip(bin_starts, split, strict=True):
        w_lo = start + bin_size // 2 - input_length // 2
        w_hi = w_lo + input_length
        inside = lo <= w_lo and w_hi <= hi
        touches = w_lo < hi and lo < w_hi
        assert name == ("test" if inside else "drop" if touches else "train")


# --- negatives inside regions -------------------------------------------------------------------

def test_negatives_in_a_region_are_the_chromosome_draws_shifted():
    on_chrom = sample_negative_bins({"a": 50_000}, ["a"], 200, 200, np.random.default_rng(4))
    in_region = sample_negative_bins_in(intervals([("a", 1000, 51_000)]), 200, 200,
                                        np.random.default_rng(4))
    np.testing.assert_array_equal(in_region["start"], on_chrom["start"] + 1000)
    assert (in_region["start"] >= 1000).all() and (in_region["end"] <= 51_000).all()
