"""Saving figures: one place, so every image dnalens writes is written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

__all__ = ["save_figure"]


def save_figure(fig: plt.Figure, path: str | os.PathLike[str], *, dpi: int = 120) -> Path:
    """Save ``fig`` (PNG, SVG, ... by suffix) to a temporary file, rename it, close the figure.

    A reader never sees a half-written image, and a failed save leaves no temporary file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path
