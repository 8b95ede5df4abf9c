"""Exon view of a splice variant: acceptor and donor probabilities along a gene, ref vs alt."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from dnalens.errors import SequenceError
from dnalens.plot.figures import save_figure

__all__ = ["plot_splice_tracks"]

_REF_COLOUR, _ALT_COLOUR, _EXON_COLOUR = "#5b6475", "#d62839", "#2b5fab"


def plot_splice_tracks(start: int, ref: np.ndarray, alt: np.ndarray | None,
                       exons: list[tuple[int, int]], variant: int | None,
                       path: str | os.PathLike[str], *, strand: str = "+",
                       title: str | None = None) -> Path:
    """Acceptor and donor probability of every base, ref and alt, over the gene's exons.

    Parameters
    ----------
    start : int
        0-based genome position of the first track position.
    ref, alt : array, shape (n, 3)
        P(neither), P(acceptor), P(donor) per position in genome order, alt aligned to ref
        (as for the delta scores). ``alt`` None draws the reference prediction alone.
    exons : list of (start, end)
        0-based half-open exons of the transcript (drawn where they overlap the tracks).
    variant : int or None
        0-based position of the variant, marked by a vertical line.
    path : output ``.png`` or ``.svg``
    strand : str
        The transcript's strand, shown as arrows on the intron line.
    title : str, optional

    Returns
    -------
    Path
    """
    ref = np.asarray(ref, dtype=float)
    alt = np.asarray(alt, dtype=float) if alt is not None else None
    if ref.ndim != 2 or ref.shape[1] != 3 or (alt is not None and ref.shape != alt.shape):
        raise SequenceError(f"plot_splice_tracks: ref and alt must both be (n, 3); got "
                            f"{ref.shape} and {None if alt is None else alt.shape}")
    x = start + np.arange(ref.shape[0])
    fig, axes = plt.subplots(3, 1, figsize=(10, 6.2), sharex=True,
                             gridspec_kw={"height_ratios": [3, 3, 1]})
    # Ref above the axis, alt mirrored below it: a site kept, lost or gained reads at once,
    # and neither track hides the other.
    for ax, column, label in ((axes[0], 1, "acceptor"), (axes[1], 2, "donor")):
        ax.vlines(x, 0, ref[:, column], color=_REF_COLOUR, linewidth=1.6)
        ax.axhline(0, color="#c8ccd4", linewidth=0.8)
        if variant is not None:
            ax.axvline(variant, color="#e0a800", linewidth=1, linestyle="--")
        ax.set_ylabel(f"P({label})")
        ax.spines[["top", "right"]].set_visible(False)
        if alt is None:
            # Alone, a weak model's peaks would vanish on a 0-1 axis: scale to the data.
            ax.set_ylim(0, max(0.05, 1.08 * float(ref[:, column].max())))
            continue
        ax.vlines(x, 0, -alt[:, column], color=_ALT_COLOUR, linewidth=1.6)
        ax.set_ylim(-1.08, 1.08)
        ax.set_yticks([-1, -0.5, 0, 0.5, 1], ["1", "0.5", "0", "0.5", "1"])
        ax.text(0.005, 0.97, "ref", transform=ax.transAxes, va="top", color=_REF_COLOUR,
                fontweight="bold")
        ax.text(0.005, 0.03, "alt", transform=ax.transAxes, va="bottom", color=_ALT_COLOUR,
                fontweight="bold")
    _draw_exons(axes[2], exons, x[0], x[-1] + 1, strand)
    if variant is not None:
        axes[2].axvline(variant, color="#e0a800", linewidth=1, linestyle="--")
    axes[2].set_xlabel("position (0-based)")
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)


def _draw_exons(ax: plt.Axes, exons: list[tuple[int, int]], lo: int, hi: int,
                strand: str) -> None:
    ax.plot([lo, hi], [0.5, 0.5], color=_EXON_COLOUR, linewidth=1)
    arrow = ">" if strand == "+" else "<"
    for xpos in np.linspace(lo, hi, 12)[1:-1]:
        ax.text(xpos, 0.5, arrow, color=_EXON_COLOUR, ha="center", va="center", fontsize=8)
    for s, e in exons:
        if e > lo and s < hi:
            ax.add_patch(Rectangle((max(s, lo), 0.15), min(e, hi) - max(s, lo), 0.7,
                                   color=_EXON_COLOUR))
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_ylabel("exons", rotation=0, ha="right", va="center")
    ax.spines[["top", "right", "left"]].set_visible(False)
