"""Logos and ISM heatmaps are written as non-empty PNG and SVG files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnalens.errors import DnalensError
from dnalens.io.motifs import jaspar_motifs
from dnalens.plot.logos import plot_attribution_logo, plot_ism_heatmap, plot_pwm_logo


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_all_plots_write_files(tmp_path, suffix):
    motif = jaspar_motifs()["C036:FOS_JUN:bZIP"]
    attr = torch.randn(4, 30, generator=torch.Generator().manual_seed(0))
    delta = np.random.default_rng(0).normal(size=(4, 30))
    paths = [
        plot_pwm_logo(motif, tmp_path / f"pwm{suffix}"),
        plot_attribution_logo(attr, tmp_path / f"attr{suffix}", start=5, end=25),
        plot_ism_heatmap(delta, tmp_path / f"ism{suffix}"),
    ]
    for path in paths:
        assert path.suffix == suffix and path.stat().st_size > 1000
    if suffix == ".png":
        assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)
    else:
        assert all(b"<svg" in p.read_bytes()[:2000] for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_errors(tmp_path):
    with pytest.raises(DnalensError, match=r"unknown image type '\.jpg'; use \.png or \.svg"):
        plot_ism_heatmap(np.zeros((4, 3)), tmp_path / "x.jpg")
    with pytest.raises(DnalensError, match=r"shape \(4, length\)"):
        plot_attribution_logo(np.zeros((3, 5)), tmp_path / "x.png")
    with pytest.raises(DnalensError, match="need 0 <= start < end <= 5"):
        plot_attribution_logo(np.zeros((4, 5)), tmp_path / "x.png", start=3, end=9)
    with pytest.raises(DnalensError, match="expected a Motif"):
        plot_pwm_logo(np.zeros((4, 5)), tmp_path / "x.png")
