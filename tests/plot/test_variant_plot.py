"""The ref-vs-alt attribution plot of one variant."""

from __future__ import annotations

import numpy as np
import pytest

from dnalens.errors import SequenceError
from dnalens.plot.variants import plot_variant_effect


def test_writes_png_and_svg(tmp_path):
    rng = np.random.default_rng(0)
    ref, alt = rng.normal(size=(4, 101)), rng.normal(size=(4, 101))
    png = plot_variant_effect(ref, alt, tmp_path / "v.png", title="chr1:100 G>T")
    svg = plot_variant_effect(ref, alt, tmp_path / "v.svg", centre=10, flank=5)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in svg.read_bytes()[:400]


def test_shape_mismatch_and_centre_errors(tmp_path):
    with pytest.raises(SequenceError, match=r"ref \(4, 10\) and alt \(4, 12\)"):
        plot_variant_effect(np.zeros((4, 10)), np.zeros((4, 12)), tmp_path / "v.png")
    with pytest.raises(SequenceError, match=r"centre 10 is outside 0\.\.9"):
        plot_variant_effect(np.zeros((4, 10)), np.zeros((4, 10)), tmp_path / "v.png", centre=10)
    with pytest.raises(SequenceError, match=r"ref_attr must have shape \(4, length\)"):
        plot_variant_effect(np.zeros((3, 10)), np.zeros((4, 10)), tmp_path / "v.png")
