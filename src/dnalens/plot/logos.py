"""Sequence logos (motifs, attributions) and ISM heatmaps as PNG or SVG files.

The format follows the file suffix (``.png`` or ``.svg``). Files are written to a temporary
name beside the target and renamed, so a reader never sees a half-written image.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import logomaker
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from dnalens.alphabet import ALPHABET
from dnalens.errors import DnalensError
from dnalens.io.motifs import Motif
from dnalens.plot.figures import save_figure

__all__ = ["plot_attribution_logo", "plot_ism_heatmap", "plot_pwm_logo"]

_SUFFIXES = (".png", ".svg")
BASE_COLOURS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}


def plot_pwm_logo(motif: Motif, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Information-content logo of a motif.

    Parameters
    ----------
    motif : Motif
        ``pwm`` shape (4, width), rows A, C, G, T.
    path : str or PathLike
        Output ``.png`` or ``.svg``.
    title : str, optional
        Default: the motif name.

    Returns
    -------
    Path
        The file written; letter heights are p * information content (bits, uniform
        background, at most 2 per position).
    """
    path = _check_path(path, "plot_pwm_logo")
    if not isinstance(motif, Motif):
        raise DnalensError(f"plot_pwm_logo: expected a Motif; got {type(motif).__name__}")
    probs = pd.DataFrame(motif.pwm.T, columns=list(ALPHABET))
    bits = logomaker.transform_matrix(probs, from_type="probability", to_type="information")
    fig, ax = plt.subplots(figsize=(max(3.0, 0.45 * motif.width + 1), 2.2))
    logomaker.Logo(bits, ax=ax, color_scheme=BASE_COLOURS)
    ax.set(ylim=(0, 2), ylabel="bits", title=title if title is not None else motif.name)
    ax.set_xticks(range(motif.width), [str(i + 1) for i in range(motif.width)], fontsize=7)
    return save_figure(fig, path)


def plot_attribution_logo(
    attr: np.ndarray | torch.Tensor,
    path: str | os.PathLike[str],
    start: int | None = None,
    end: int | None = None,
    *,
    title: str | None = None,
) -> Path:
    """Logo of per-base attributions; letters above or below zero by sign.

    Parameters
    ----------
    attr : array or Tensor, shape (4, length)
        Rows A, C, G, T; typically ``attribution * one_hot`` for one sequence (projected
        onto the observed bases) or hypothetical contributions.
    path : str or PathLike
        Output ``.png`` or ``.svg``.
    start, end : int, optional
        0-based half-open window of positions to draw; default the whole sequence.
    title : str, optional

    Returns
    -------
    Path
    """
    path = _check_path(path, "plot_attribution_logo")
    values = _as_matrix(attr, "plot_attribution_logo", "attr")
    start, end = _window(values.shape[1], start, end, "plot_attribution_logo")
    frame = pd.DataFrame(values[:, start:end].T, columns=list(ALPHABET),
                         index=np.arange(start, end))
    fig, ax = plt.subplots(figsize=(min(24.0, max(4.0, 0.12 * (end - start) + 1.5)), 2.2))
    logomaker.Logo(frame, ax=ax, color_scheme=BASE_COLOURS)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="position", ylabel="attribution")
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_ism_heatmap(
    delta: np.ndarray | torch.Tensor,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """Heatmap of saturation-mutagenesis effects.

    Parameters
    ----------
    delta : array or Tensor, shape (4, length)
        output(mutant) - output(reference) per base and position, rows A, C, G, T
        (0 at the reference base).
    path : str or PathLike
        Output ``.png`` or ``.svg``.
    title : str, optional

    Returns
    -------
    Path
        Blue is a decrease, red an increase; the colour scale is symmetric about 0.
    """
    path = _check_path(path, "plot_ism_heatmap")
    values = _as_matrix(delta, "plot_ism_heatmap", "delta")
    limit = float(np.nanmax(np.abs(values))) or 1.0
    fig, ax = plt.subplots(figsize=(min(24.0, max(4.0, 0.08 * values.shape[1] + 1.5)), 1.8))
    image = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                      interpolation="nearest")
    ax.set_yticks(range(4), list(ALPHABET))
    ax.set_xlabel("position")
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01, label="Δ output")
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def _check_path(path: str | os.PathLike[str], caller: str) -> Path:
    path = Path(path)
    if path.suffix.lower() not in _SUFFIXES:
        raise DnalensError(
            f"{caller}: {path}: unknown image type {path.suffix!r}; use .png or .svg"
        )
    if not path.parent.is_dir():
        raise DnalensError(f"{caller}: {path}: folder {path.parent} does not exist")
    return path


def _as_matrix(values: object, caller: str, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != 4 or arr.shape[1] == 0:
        raise DnalensError(
            f"{caller}: {name} must have shape (4, length), rows A, C, G, T; got {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise DnalensError(f"{caller}: {name} holds NaN or infinite values")
    return arr


def _window(length: int, start: int | None, end: int | None, caller: str) -> tuple[int, int]:
    lo = 0 if start is None else start
    hi = length if end is None else end
    if not 0 <= lo < hi <= length:
        raise DnalensError(
            f"{caller}: need 0 <= start < end <= {length}; got start={start}, end={end}"
        )
    return lo, hi


