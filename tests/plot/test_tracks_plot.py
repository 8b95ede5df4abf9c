"""Observed-vs-predicted coverage tracks and the per-bin scatter."""

from __future__ import annotations

import numpy as np
import pytest

from dnalens.errors import ConfigError, SequenceError
from dnalens.plot.tracks import _pearson, _spearman, plot_track_comparison, plot_track_scatter

PNG = b"\x89PNG\r\n\x1a\n"


def _tracks(n_tracks: int = 3, n_bins: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    signal = np.abs(np.sin(np.linspace(0, 12, n_bins)))[None] * rng.uniform(1, 5, (n_tracks, 1))
    observed = signal + rng.gamma(1.0, 0.3, (n_tracks, n_bins))
    predicted = signal + rng.normal(0, 0.2, (n_tracks, n_bins))
    return observed, predicted


def test_comparison_writes_png_and_svg_with_masked_bins(tmp_path):
    observed, predicted = _tracks()
    observed[1, 40:60] = np.nan                      # a masked stretch: drawn as a gap
    starts = 12_300_000 + 128 * np.arange(200)
    names = ["DNase:K562", "CAGE:HepG2", "H3K27ac"]
    png = plot_track_comparison("chr7", starts, observed, predicted, names, tmp_path / "t.png",
                                bin_size=128, title="chr7:12,300,000-12,325,600")
    svg = plot_track_comparison("chr7", starts, observed, predicted, names, tmp_path / "t.svg",
                                bin_size=128)
    assert png.read_bytes()[:8] == PNG and png.stat().st_size > 1000
    assert b"<svg" in svg.read_bytes()[:400]
    assert not list(tmp_path.glob(".*tmp*"))


def test_comparison_single_track_and_all_nan_row(tmp_path):
    observed, predicted = _tracks(n_tracks=1, n_bins=30)
    observed[:] = np.nan                             # r is n/a, nothing filled, no crash
    out = plot_track_comparison("chr1", 1000 + 32 * np.arange(30), observed, predicted, ["x"],
                                tmp_path / "one.png", bin_size=32)
    assert out.read_bytes()[:8] == PNG


def test_comparison_shape_errors(tmp_path):
    observed, predicted = _tracks(n_tracks=2, n_bins=10)
    starts, out = np.arange(10) * 100, tmp_path / "t.png"
    with pytest.raises(SequenceError, match=r"both be \(n_tracks, n_bins\); got \(2, 10\) and "
                                            r"\(2, 9\)"):
        plot_track_comparison("chr1", starts, observed, predicted[:, :9], ["a", "b"], out,
                              bin_size=100)
    with pytest.raises(SequenceError, match=r"starts must be \(10,\).*got \(9,\)"):
        plot_track_comparison("chr1", starts[:9], observed, predicted, ["a", "b"], out,
                              bin_size=100)
    with pytest.raises(SequenceError, match="names has 1 entries but observed has 2 tracks"):
        plot_track_comparison("chr1", starts, observed, predicted, ["a"], out, bin_size=100)
    with pytest.raises(SequenceError, match="starts must be increasing"):
        plot_track_comparison("chr1", starts[::-1], observed, predicted, ["a", "b"], out,
                              bin_size=100)
    with pytest.raises(ConfigError, match="bin_size must be > 0; got 0"):
        plot_track_comparison("chr1", starts, observed, predicted, ["a", "b"], out, bin_size=0)
    assert not out.exists()


def test_scatter_png_svg_hexbin_and_nan(tmp_path):
    observed, predicted = _tracks(n_tracks=1, n_bins=5000)
    observed, predicted = observed[0], predicted[0].clip(0)
    observed[::7] = np.nan
    png = plot_track_scatter(observed, predicted, tmp_path / "s.png", name="DNase:K562")
    svg = plot_track_scatter(observed[:300], predicted[:300], tmp_path / "s.svg", name="x",
                             log=False)
    assert png.read_bytes()[:8] == PNG and png.stat().st_size > 1000
    assert b"<svg" in svg.read_bytes()[:400]


def test_scatter_errors(tmp_path):
    out = tmp_path / "s.png"
    with pytest.raises(SequenceError, match=r"both be \(m,\); got \(5,\) and \(4,\)"):
        plot_track_scatter(np.ones(5), np.ones(4), out, name="t")
    with pytest.raises(SequenceError, match=r"need at least 2 bins .* got 1 of 3"):
        plot_track_scatter(np.array([1.0, np.nan, 2.0]), np.array([1.0, 2.0, np.nan]), out,
                           name="t")
    with pytest.raises(ConfigError, match="log=True needs values >= 0; got minimum -1; pass "
                                          "log=False"):
        plot_track_scatter(np.array([0.0, 1, 2]), np.array([-1.0, 1, 2]), out, name="t")


def test_correlations_known_answers():
    a = np.array([1.0, 2, 3, 4, np.nan])
    assert _pearson(a, 2 * a + 1) == pytest.approx(1.0)
    assert _pearson(a, -a) == pytest.approx(-1.0)
    assert _spearman(a, a**3) == pytest.approx(1.0)   # monotone: rho 1, r below 1
    assert _pearson(a, a**3) < 0.99
    assert np.isnan(_pearson(np.ones(4), np.arange(4.0)))


def test_genomic_axis_ticks_are_exact():
    import matplotlib.pyplot as plt

    from dnalens.plot.tracks import set_genomic_axis

    fig, ax = plt.subplots()
    set_genomic_axis(ax.xaxis, "chr2", 2e6)
    labels = ax.xaxis.get_major_formatter().format_ticks([1.25e6, 1.275e6, 1.3e6])
    assert labels == ["1.250", "1.275", "1.300"] and ax.xaxis.get_label_text() == "chr2 (Mb)"
    set_genomic_axis(ax.xaxis, "chr2", 5e4)
    assert ax.xaxis.get_major_formatter().format_ticks([0, 2e4, 4e4]) == ["0", "20", "40"]
    assert ax.xaxis.get_label_text() == "chr2 (kb)"
    plt.close(fig)
