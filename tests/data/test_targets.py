"""Peak sets -> multitask 0/1 labels, with the overlap threshold tested at its edge."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dnalens.data.targets import peak_labels
from dnalens.errors import ConfigError


def intervals(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


BIN = intervals([("chr1", 0, 200)])


@pytest.mark.parametrize(("covered", "label"), [(100, 1.0), (99, 0.0), (200, 1.0), (0, 0.0)])
def test_half_of_the_bin_is_exactly_the_threshold(covered, label):
    peaks = intervals([("chr1", 0, covered)] if covered else [("chr2", 0, 10)])
    np.testing.assert_array_equal(peak_labels(BIN, {"t": peaks}, 0.5), [[label]])


def test_threshold_met_by_two_peaks_together():
    # 60 + 40 bp from two separate peaks reach half of the bin; an overlapping copy adds nothing.
    peaks = intervals([("chr1", 0, 60), ("chr1", 160, 200), ("chr1", 10, 50)])
    np.testing.assert_array_equal(peak_labels(BIN, {"t": peaks}, 0.5), [[1.0]])
    np.testing.assert_array_equal(peak_labels(BIN, {"t": peaks}, 0.51), [[0.0]])


def test_full_overlap_with_min_overlap_one():
    peaks = intervals([("chr1", 0, 100), ("chr1", 100, 200)])
    np.testing.assert_array_equal(peak_labels(BIN, {"t": peaks}, 1.0), [[1.0]])


@pytest.mark.parametrize(
    ("bin_size", "covered", "min_overlap"), [(300, 100, 1 / 3), (1000, 700, 0.7)]
)
def test_threshold_is_inclusive_despite_floating_point(bin_size, covered, min_overlap):
    bins = intervals([("chr1", 0, bin_size)])
    peaks = intervals([("chr1", 0, covered)])
    np.testing.assert_array_equal(peak_labels(bins, {"t": peaks}, min_overlap), [[1.0]])


def test_multitask_columns_follow_mapping_order():
    bins = intervals([("chr1", 0, 200), ("chr1", 200, 400), ("chr2", 0, 200)])
    peak_sets = {
        "ctcf": intervals([("chr1", 0, 150), ("chr2", 50, 200)]),
        "rest": intervals([("chr1", 250, 400)]),
        "none": intervals([("chr3", 0, 500)]),
    }
    labels = peak_labels(bins, peak_sets)
    assert labels.dtype == np.float32
    np.testing.assert_array_equal(labels, [[1, 0, 0], [0, 1, 0], [1, 0, 0]])


def test_no_bins():
    labels = peak_labels(BIN.iloc[:0], {"a": BIN, "b": BIN})
    assert labels.shape == (0, 2)


@pytest.mark.parametrize("min_overlap", [0, -0.1, 1.5])
def test_min_overlap_out_of_range(min_overlap):
    with pytest.raises(ConfigError, match=rf"min_overlap must be in \(0, 1\]; got {min_overlap}"):
        peak_labels(BIN, {"t": BIN}, min_overlap)
