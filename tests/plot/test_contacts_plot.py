"""Contact-map figures and the insulation / boundary helpers on hand-made maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dnalens.errors import ConfigError, SequenceError
from dnalens.plot.contacts import (
    call_boundaries,
    insulation_score,
    plot_contact_maps,
    plot_difference_map,
    plot_distance_correlation,
)

PNG = b"\x89PNG\r\n\x1a\n"
EDGES = [12, 32, 48]            # domains [0, 12), [12, 32), [32, 48), [48, 64)


def _blocks(sizes=(12, 20, 16, 16), inside: float = 1.0, outside: float = 0.1) -> np.ndarray:
    """Block-diagonal contacts: ``inside`` within a domain, ``outside`` between domains."""
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return np.where(labels[:, None] == labels[None, :], inside, outside)


def _log_oe(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    observed = np.log(_blocks()) + 0.3 * rng.normal(size=(64, 64))
    observed = (observed + observed.T) / 2
    predicted = 0.8 * observed + 0.2 * rng.normal(size=(64, 64))
    for mat in (observed, predicted):
        mat[np.abs(np.subtract.outer(np.arange(64), np.arange(64))) < 2] = np.nan
    observed[20, :] = observed[:, 20] = np.nan      # a masked bin
    return observed, predicted


# ---------------------------------------------------------------------- insulation / boundaries

def test_insulation_known_values_on_blocks():
    score = insulation_score(_blocks(), window=4)
    # raw: 1 inside a domain, 0.1 right at an edge (every cell crosses it), and 1 - 0.9 * k / 16
    # where k of the 16 window cells cross an edge one to three bins away.
    raw = np.full(64, np.nan)
    raw[4:61] = 1.0
    for edge in EDGES:
        raw[edge] = 0.1
        for d, crossing in ((1, 12), (2, 8), (3, 4)):
            raw[edge - d] = raw[edge + d] = 1 - 0.9 * crossing / 16
    expected = np.log2(raw / np.nanmean(raw))
    np.testing.assert_allclose(score, expected, equal_nan=True)
    assert np.isnan(score[:4]).all() and np.isnan(score[61:]).all()


def test_boundaries_at_block_edges():
    np.testing.assert_array_equal(call_boundaries(_blocks(), window=4), EDGES)
    # Noise on top does not move them (within one bin).
    rng = np.random.default_rng(1)
    noisy = _blocks() * rng.uniform(0.9, 1.1, (64, 64))
    found = call_boundaries((noisy + noisy.T) / 2, window=4)
    assert len(found) == len(EDGES) and np.abs(found - EDGES).max() <= 1


@pytest.mark.parametrize("masked", [[5], [11], [12], [31, 32], [40, 41]])
def test_boundaries_with_nan_rows(masked):
    mat = _blocks()
    mat[masked, :] = np.nan
    mat[:, masked] = np.nan
    score = insulation_score(mat, window=4)
    assert np.isfinite(score[4:61]).all()           # one masked bin never empties a window
    found = call_boundaries(mat, window=4)
    assert len(found) == len(EDGES), found
    assert np.abs(found - EDGES).max() <= 1, found


def test_uniform_map_has_no_boundaries_and_zero_score():
    score = insulation_score(np.ones((30, 30)), window=5)
    np.testing.assert_allclose(score[5:26], 0.0)
    assert call_boundaries(np.ones((30, 30)), window=5).size == 0


def test_min_strength_filters_shallow_minima():
    shallow = _blocks(outside=0.97)                 # depth log2(1 / 0.97) ~ 0.04 at each edge
    assert call_boundaries(shallow, window=4).size == 0
    np.testing.assert_array_equal(call_boundaries(shallow, window=4, min_strength=0.01), EDGES)


def test_zero_between_domains_gives_minus_inf_and_boundaries():
    score = insulation_score(_blocks(outside=0.0), window=4)
    assert np.isneginf(score[EDGES]).all()
    np.testing.assert_array_equal(call_boundaries(_blocks(outside=0.0), window=4), EDGES)


def test_insulation_errors():
    with pytest.raises(SequenceError, match=r"mat must be a square \(n, n\) map.*\(4, 5\)"):
        insulation_score(np.ones((4, 5)), window=1)
    with pytest.raises(ConfigError, match="window must be an int >= 1; got 0"):
        insulation_score(np.ones((8, 8)), window=0)
    with pytest.raises(ConfigError, match=r"window 5 does not fit a \(8, 8\) map; it must be "
                                          r"<= 4"):
        insulation_score(np.ones((8, 8)), window=5)
    with pytest.raises(SequenceError, match=r"negative values \(min -2\).*np\.exp\(mat\)"):
        insulation_score(np.full((8, 8), -2.0), window=2)
    with pytest.raises(ConfigError, match="min_strength must be a number >= 0; got -1"):
        call_boundaries(np.ones((8, 8)), window=2, min_strength=-1)


# ---------------------------------------------------------------------------------- figures

def test_contact_maps_png_and_svg(tmp_path):
    observed, predicted = _log_oe()
    png = plot_contact_maps(observed, predicted, tmp_path / "m.png", start=1_250_000,
                            resolution=2048, chrom="chr2", title="held-out window",
                            boundaries=EDGES)
    svg = plot_contact_maps(observed, predicted, tmp_path / "m.svg", start=0, resolution=2048,
                            chrom="chr2")
    assert png.read_bytes()[:8] == PNG and png.stat().st_size > 1000
    assert b"<svg" in svg.read_bytes()[:400]


def test_contact_maps_all_nan(tmp_path):
    empty = np.full((10, 10), np.nan)
    out = plot_contact_maps(empty, empty, tmp_path / "m.png", start=0, resolution=10,
                            chrom="chr1")
    assert out.read_bytes()[:8] == PNG


def test_contact_maps_errors(tmp_path):
    out = tmp_path / "m.png"
    with pytest.raises(SequenceError, match=r"observed \(8, 8\) and predicted \(9, 9\)"):
        plot_contact_maps(np.zeros((8, 8)), np.zeros((9, 9)), out, start=0, resolution=10,
                          chrom="chr1")
    with pytest.raises(SequenceError, match=r"predicted must be a square \(n, n\).*\(8,\)"):
        plot_contact_maps(np.zeros((8, 8)), np.zeros(8), out, start=0, resolution=10,
                          chrom="chr1")
    with pytest.raises(SequenceError, match=r"boundaries \[9\] are outside 0\.\.8"):
        plot_contact_maps(np.zeros((8, 8)), np.zeros((8, 8)), out, start=0, resolution=10,
                          chrom="chr1", boundaries=[3, 9])
    with pytest.raises(ConfigError, match="resolution must be > 0 bp; got 0"):
        plot_contact_maps(np.zeros((8, 8)), np.zeros((8, 8)), out, start=0, resolution=0,
                          chrom="chr1")
    assert not out.exists()


def test_difference_map_png_svg_and_errors(tmp_path):
    ref, _ = _log_oe()
    alt = ref.copy()
    alt[30:34, :] -= 0.8                            # the variant weakens contacts of bins 30-33
    alt[:, 30:34] -= 0.8
    png = plot_difference_map(ref, alt, tmp_path / "d.png", start=1_000_000, resolution=2048,
                              chrom="chr2", variant=1_000_000 + 31 * 2048, title="chr2 A>G")
    svg = plot_difference_map(ref, alt, tmp_path / "d.svg", start=0, resolution=2048,
                              chrom="chr2")
    assert png.read_bytes()[:8] == PNG and png.stat().st_size > 1000
    assert b"<svg" in svg.read_bytes()[:400]
    with pytest.raises(SequenceError, match=r"variant 200 is outside the map chr1:0-80"):
        plot_difference_map(np.zeros((8, 8)), np.zeros((8, 8)), tmp_path / "x.png", start=0,
                            resolution=10, chrom="chr1", variant=200)
    with pytest.raises(SequenceError, match=r"ref \(8, 8\) and alt \(7, 7\)"):
        plot_difference_map(np.zeros((8, 8)), np.zeros((7, 7)), tmp_path / "x.png", start=0,
                            resolution=10, chrom="chr1")


def test_distance_correlation(tmp_path):
    distances = np.arange(2, 40)
    per_task = pd.DataFrame({
        "task": np.repeat(["HFF", "H1hESC"], distances.size),
        "distance_bins": np.tile(distances, 2),
        "pearson": np.concatenate([0.9 - distances / 60, 0.8 - distances / 45]),
    })
    per_task.loc[5, "pearson"] = np.nan
    png = plot_distance_correlation(per_task, tmp_path / "c.png", title="by distance")
    single = pd.DataFrame({"distance_bp": distances * 2048, "pearson": 0.9 - distances / 50})
    svg = plot_distance_correlation(single, tmp_path / "c.svg")
    assert png.read_bytes()[:8] == PNG and png.stat().st_size > 1000
    assert b"<svg" in svg.read_bytes()[:400]
    with pytest.raises(SequenceError, match=r"needs columns 'distance_bins' \(or "
                                            r"'distance_bp'\) and 'pearson'; got \['d', 'r'\]"):
        plot_distance_correlation(pd.DataFrame({"d": [1], "r": [0.5]}), tmp_path / "x.png")
    with pytest.raises(SequenceError, match="table has no rows"):
        plot_distance_correlation(pd.DataFrame({"distance_bins": [], "pearson": []}),
                                  tmp_path / "x.png")
