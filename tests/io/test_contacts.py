"""Hi-C coolers: opening, windows, balancing, O/E targets, layouts and writing."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from dnalens.errors import ConfigError, ContigError, CoordinateError, InputFileError
from dnalens.io.contacts import (
    ContactMatrix,
    contact_target,
    expected_by_distance,
    from_upper_triangle,
    log_transform,
    nan_smooth,
    observed_over_expected,
    open_cooler,
    upper_triangle,
    write_cool,
    zigzag_pairs,
)
from dnalens.io.genome import Genome

cooler = pytest.importorskip("cooler")

RES = 10
SIZES = {"chr1": 60, "chr2": 25}
WEIGHTS = np.array([1.0, 2.0, np.nan, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0])  # 6 bins chr1, 3 chr2


def _counts(n: int) -> np.ndarray:
    """Symmetric counts with count(i, j) = i + j + 1."""
    i = np.arange(n)
    return (i[:, None] + i[None, :] + 1).astype(float)


def _write(uri: str, sizes: dict[str, int], res: int, weights: np.ndarray | None,
           mode: str = "w") -> str:
    bins = cooler.util.binnify(pd.Series(sizes), res)
    if weights is not None:
        bins["weight"] = weights
    rows, cols = np.triu_indices(len(bins))
    pixels = pd.DataFrame({"bin1_id": rows, "bin2_id": cols,
                           "count": (rows + cols + 1).astype(float)})
    cooler.create_cooler(uri, bins, pixels, dtypes={"count": float}, ordered=True, mode=mode)
    return uri


@pytest.fixture
def genome(tmp_path, write_fasta, dna):
    return Genome(write_fasta(tmp_path / "genome.fa", {"chr1": dna(60, 1), "chr2": dna(25, 2)}))


@pytest.fixture
def ensembl_genome(tmp_path, write_fasta, dna):
    return Genome(write_fasta(tmp_path / "ens.fa", {"1": dna(60, 1), "2": dna(25, 2)}))


@pytest.fixture
def cool(tmp_path):
    return _write(str(tmp_path / "a.cool"), SIZES, RES, WEIGHTS)


@pytest.fixture
def mcool(tmp_path):
    path = tmp_path / "a.mcool"
    _write(f"{path}::/resolutions/10", SIZES, 10, WEIGHTS)
    _write(f"{path}::/resolutions/20", SIZES, 20, None, mode="a")
    return path


def test_fetch_balanced_known_answer(cool, genome):
    mat = ContactMatrix(cool, genome).fetch("chr1", 0, 30)
    w = WEIGHTS[:3]
    np.testing.assert_allclose(mat, _counts(3) * w[:, None] * w[None, :])
    assert np.isnan(mat[2]).all() and np.isnan(mat[:, 2]).all()  # bin without coverage
    assert mat[0, 1] == 2.0 * 1.0 * 2.0


def test_fetch_raw_counts_and_bins_past_the_end_are_nan(cool, genome):
    contacts = ContactMatrix(cool, genome)
    mat = contacts.fetch("chr2", 10, 40, balance=False)
    # chr2 bins are global ids 6, 7, 8; the window's third bin [30, 40) lies past chr2's end.
    expected = np.full((3, 3), np.nan)
    expected[:2, :2] = [[15.0, 16.0], [16.0, 17.0]]
    np.testing.assert_array_equal(mat, expected)


def test_window_that_does_not_divide_names_file_window_and_resolution(cool, genome):
    contacts = ContactMatrix(cool, genome)
    with pytest.raises(CoordinateError, match=r"a.cool: window chr1:0-25 \(25 bp\) does not "
                       r"divide into 10 bp bins"):
        contacts.fetch("chr1", 0, 25)
    with pytest.raises(CoordinateError, match=r"window chr1:5-25 .* does not divide"):
        contacts.fetch("chr1", 5, 25)


def test_mcool_needs_a_resolution_and_lists_them(mcool, genome):
    with pytest.raises(InputFileError, match=r"holds several resolutions \(10, 20 bp\); pass "
                       r"resolution="):
        open_cooler(mcool)
    with pytest.raises(InputFileError, match=r"no resolution 5 bp \(has 10, 20 bp\)"):
        open_cooler(mcool, 5)
    assert open_cooler(mcool, 20).binsize == 20
    assert ContactMatrix(f"{mcool}::/resolutions/10", genome).resolution == 10


def test_unbalanced_cooler_suggests_balance_false(mcool, genome):
    contacts = ContactMatrix(mcool, genome, resolution=20)
    with pytest.raises(InputFileError, match=r"not balanced \(no 'weight' column.*use "
                       r"balance=False"):
        contacts.fetch("chr1", 0, 40)
    np.testing.assert_array_equal(contacts.fetch("chr1", 0, 40, balance=False),
                                  [[1.0, 2.0], [2.0, 3.0]])


def test_missing_file_and_not_a_cooler(tmp_path, write_text):
    with pytest.raises(InputFileError, match="no such cooler file"):
        open_cooler(tmp_path / "none.cool")
    with pytest.raises(InputFileError, match="not a cooler file"):
        open_cooler(write_text("x.cool", "text"))


def test_renames_chr1_to_1_or_explains(cool, ensembl_genome):
    mat = ContactMatrix(cool, ensembl_genome).fetch("1", 0, 20, balance=False)
    np.testing.assert_array_equal(mat, [[1.0, 2.0], [2.0, 3.0]])
    with pytest.raises(ContigError, match=r"none of its chromosomes \('chr1', 'chr2'\) is in "
                       r"ens.fa.*chrom_map"):
        ContactMatrix(cool, ensembl_genome, rename_contigs=False)


def test_pickles(cool, genome):
    contacts = pickle.loads(pickle.dumps(ContactMatrix(cool, genome)))
    assert contacts.fetch("chr1", 0, 10, balance=False)[0, 0] == 1.0


def test_expected_observed_over_expected_and_log_of_hand_made_matrix():
    mat = np.array([[2.0, 1.0, 4.0],
                    [1.0, 4.0, np.nan],
                    [4.0, np.nan, 6.0]])
    expected = expected_by_distance(mat)
    np.testing.assert_allclose(expected, [4.0, 1.0, 4.0])  # diag 1 ignores the NaN
    oe = observed_over_expected(mat, expected)
    np.testing.assert_allclose(oe, [[0.5, 1.0, 1.0], [1.0, 1.0, np.nan], [1.0, np.nan, 1.5]])
    np.testing.assert_allclose(log_transform(oe), np.log(oe))
    zero = log_transform(np.array([0.0, np.nan, 1.0]))
    np.testing.assert_array_equal(zero, [np.nan, np.nan, 0.0])  # no -inf
    np.testing.assert_allclose(log_transform(np.array([0.0]), pseudocount=1.0), [0.0])


def test_expected_of_an_all_nan_diagonal_is_nan():
    mat = np.ones((3, 3))
    mat[0, 2] = mat[2, 0] = np.nan
    np.testing.assert_array_equal(expected_by_distance(mat), [1.0, 1.0, np.nan])


def test_chromosome_expected_matches_dense(cool, genome):
    contacts = ContactMatrix(cool, genome)
    dense = contacts.fetch("chr1", 0, 60)
    np.testing.assert_allclose(contacts.expected("chr1"), expected_by_distance(dense))
    raw = contacts.fetch("chr1", 0, 60, balance=False)
    np.testing.assert_allclose(contacts.expected("chr1", balance=False),
                               expected_by_distance(raw))


def test_nan_smooth_keeps_nan_and_constants():
    mat = np.full((5, 5), 3.0)
    mat[2, :] = mat[:, 2] = np.nan
    out = nan_smooth(mat, sigma=1.0)
    assert np.isnan(out[2]).all() and np.isnan(out[:, 2]).all()
    np.testing.assert_allclose(out[~np.isnan(mat)], 3.0)  # NaN neither pulls towards 0
    spike = np.zeros((5, 5))
    spike[0, 0] = 1.0
    assert 0 < nan_smooth(spike, 1.0)[1, 1] < nan_smooth(spike, 1.0)[0, 0] < 1


def test_contact_target_nan_where_no_coverage(cool, genome):
    mat = ContactMatrix(cool, genome).fetch("chr1", 0, 60)
    target = contact_target(mat, sigma=1.0)
    assert target.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(target), np.isnan(mat))
    unsmoothed = contact_target(mat)
    np.testing.assert_allclose(
        unsmoothed, np.log(observed_over_expected(mat, expected_by_distance(mat))), rtol=1e-6)


def test_upper_triangle_order_and_round_trip():
    mat = np.arange(16.0).reshape(4, 4)
    mat = mat + mat.T
    vec = upper_triangle(mat, offset=2)
    # (0, 2), (0, 3), (1, 3) in row-major order.
    np.testing.assert_array_equal(vec, [mat[0, 2], mat[0, 3], mat[1, 3]])
    back = from_upper_triangle(vec, 4, offset=2)
    near = np.abs(np.subtract.outer(np.arange(4), np.arange(4))) < 2
    np.testing.assert_array_equal(back[~near], mat[~near])
    assert np.isnan(back[near]).all()
    batch = np.stack([mat, 2 * mat])
    np.testing.assert_array_equal(from_upper_triangle(upper_triangle(batch, 0), 4, 0), batch)
    with pytest.raises(ConfigError, match=r"n_pairs = 3 \(n=4, offset=2\); got shape \(4,\)"):
        from_upper_triangle(np.zeros(4), 4, offset=2)


def test_zigzag_pairs_small_band():
    pairs = zigzag_pairs(5, 4)
    # d = 1..4: (5 - 0, 6), (5 - 1, 6), (5 - 1, 7), (5 - 2, 7)
    np.testing.assert_array_equal(pairs, [[5, 6], [4, 6], [4, 7], [3, 7]])
    np.testing.assert_array_equal(pairs[:, 1] - pairs[:, 0], [1, 2, 3, 4])
    with pytest.raises(ConfigError, match="outside the map of 7 bins"):
        zigzag_pairs(5, 4, n_bins=7)
    with pytest.raises(ConfigError, match="outside the map"):
        zigzag_pairs(1, 6)


def test_write_cool_then_read_back(tmp_path, genome):
    rng = np.random.default_rng(0)
    upper = np.triu(rng.normal(size=(3, 3)))
    mat = upper + np.triu(upper, 1).T
    path = write_cool(tmp_path / "pred.cool", SIZES, RES, "chr1", 20, mat)
    contacts = ContactMatrix(path, genome)
    np.testing.assert_allclose(contacts.fetch("chr1", 20, 50, balance=False), mat)
    np.testing.assert_array_equal(contacts.fetch("chr1", 0, 20, balance=False), 0.0)
    with pytest.raises(CoordinateError, match="must start on a bin edge and lie within chr1"):
        write_cool(tmp_path / "bad.cool", SIZES, RES, "chr1", 40, mat)
    assert not (tmp_path / "bad.cool").exists()
