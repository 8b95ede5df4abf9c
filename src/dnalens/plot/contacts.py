"""Contact maps: observed vs predicted, variant effects, correlation by distance, insulation.

Maps are (n, n) arrays of log(observed / expected) contacts over n bins of ``resolution`` bp,
bin 0 starting at the 0-based genome position ``start``; NaN marks a masked bin pair.
"""

from __future__ import annotations

import math
import os
from itertools import pairwise
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import Colormap
from matplotlib.patches import Rectangle

from dnalens.errors import ConfigError, SequenceError
from dnalens.plot.figures import save_figure
from dnalens.plot.tracks import set_genomic_axis

__all__ = [
    "call_boundaries",
    "insulation_score",
    "plot_contact_maps",
    "plot_difference_map",
    "plot_distance_correlation",
]

_NAN_COLOUR, _VARIANT_COLOUR, _DOMAIN_COLOUR = "#b9bcc2", "#e0a800", "#1b1b1b"


def plot_contact_maps(observed: np.ndarray, predicted: np.ndarray,
                      path: str | os.PathLike[str], *, start: int, resolution: int, chrom: str,
                      title: str | None = None, boundaries: list[int] | None = None) -> Path:
    """Observed and predicted contact maps side by side on one symmetric colour scale.

    Parameters
    ----------
    observed, predicted : array, shape (n, n)
        log(observed / expected) contacts; NaN (masked bins) is drawn grey.
    path : output ``.png`` or ``.svg``
    start : int
        0-based genome position where bin 0 starts.
    resolution : int
        Bin width in bp.
    chrom : str
        Chromosome, shown in the axis labels.
    title : str, optional
    boundaries : list of int, optional
        Domain boundaries as bin indices (as returned by :func:`call_boundaries`): boundary b
        lies between bins b - 1 and b. The domains between them are outlined on both maps.

    Returns
    -------
    Path

    Notes
    -----
    The colour scale runs from -v to v, v the 99th percentile of |value| over both maps. The
    predicted panel's title gives the Pearson r over the finite bin pairs above the diagonal.
    """
    observed = _square(observed, "plot_contact_maps", "observed")
    predicted = _square(predicted, "plot_contact_maps", "predicted")
    if observed.shape != predicted.shape:
        raise SequenceError(f"plot_contact_maps: observed {observed.shape} and predicted "
                            f"{predicted.shape} must have the same shape")
    _check_resolution(resolution, "plot_contact_maps")
    n = observed.shape[0]
    edges = sorted({0, n, *_check_boundaries(boundaries, n)})

    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.9), layout="constrained")
    vmax = _symmetric_limit(observed, predicted)
    cmap = _with_nan_colour("RdBu_r")
    r = _upper_pearson(observed, predicted)
    panel_titles = ("observed", "predicted" + ("" if math.isnan(r) else f"  (r = {r:.2f})"))
    for ax, mat, panel in zip(axes, (observed, predicted), panel_titles, strict=True):
        image = _draw_map(ax, mat, start, resolution, chrom, cmap, vmax)
        ax.set_title(panel)
        for lo, hi in pairwise(edges):
            ax.add_patch(Rectangle((start + lo * resolution,) * 2, (hi - lo) * resolution,
                                   (hi - lo) * resolution, fill=False, linewidth=0.9,
                                   edgecolor=_DOMAIN_COLOUR))
    axes[1].set_ylabel("")
    fig.colorbar(image, ax=axes, shrink=0.85, label="log(observed / expected)")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_difference_map(ref: np.ndarray, alt: np.ndarray, path: str | os.PathLike[str], *,
                        start: int, resolution: int, chrom: str, variant: int | None = None,
                        title: str | None = None) -> Path:
    """Three panels: the reference map, the alternative map, and alt - ref on its own scale.

    Parameters
    ----------
    ref, alt : array, shape (n, n)
        Predicted log(observed / expected) maps for the reference and alternative sequence.
    path : output ``.png`` or ``.svg``
    start, resolution, chrom :
        As for :func:`plot_contact_maps`.
    variant : int, optional
        0-based genome position of the variant, marked by dashed lines on every panel; it must
        lie in ``[start, start + n * resolution)``.
    title : str, optional

    Returns
    -------
    Path
    """
    ref = _square(ref, "plot_difference_map", "ref")
    alt = _square(alt, "plot_difference_map", "alt")
    if ref.shape != alt.shape:
        raise SequenceError(f"plot_difference_map: ref {ref.shape} and alt {alt.shape} must "
                            f"have the same shape")
    _check_resolution(resolution, "plot_difference_map")
    end = start + ref.shape[0] * resolution
    if variant is not None and not start <= variant < end:
        raise SequenceError(f"plot_difference_map: variant {variant} is outside the map "
                            f"{chrom}:{start}-{end}")
    diff = alt - ref

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), layout="constrained")
    vmax = _symmetric_limit(ref, alt)
    cmap = _with_nan_colour("RdBu_r")
    _draw_map(axes[0], ref, start, resolution, chrom, cmap, vmax)
    image = _draw_map(axes[1], alt, start, resolution, chrom, cmap, vmax)
    fig.colorbar(image, ax=axes[:2], shrink=0.85, label="log(observed / expected)")
    diff_image = _draw_map(axes[2], diff, start, resolution, chrom, _with_nan_colour("PuOr_r"),
                           _symmetric_limit(diff))
    fig.colorbar(diff_image, ax=axes[2], shrink=0.85, label="alt - ref")
    for ax, panel in zip(axes, ("ref", "alt", "alt - ref"), strict=True):
        ax.set_title(panel)
        if variant is not None:
            ax.axvline(variant, color=_VARIANT_COLOUR, linewidth=0.9, linestyle="--")
            ax.axhline(variant, color=_VARIANT_COLOUR, linewidth=0.9, linestyle="--")
    for ax in axes[1:]:
        ax.set_ylabel("")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_distance_correlation(table: pd.DataFrame, path: str | os.PathLike[str], *,
                              title: str | None = None) -> Path:
    """Pearson r between predicted and observed contacts as a function of genomic distance.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per distance: ``distance_bins`` (or ``distance_bp``) and ``pearson``; with a
        ``task`` column, one line per task. NaN correlations leave gaps.
    path : output ``.png`` or ``.svg``
    title : str, optional

    Returns
    -------
    Path
    """
    if not isinstance(table, pd.DataFrame):
        raise SequenceError(f"plot_distance_correlation: table must be a pandas DataFrame; got "
                            f"{type(table).__name__}")
    distance = next((c for c in ("distance_bins", "distance_bp") if c in table.columns), None)
    if distance is None or "pearson" not in table.columns:
        raise SequenceError(f"plot_distance_correlation: table needs columns 'distance_bins' (or "
                            f"'distance_bp') and 'pearson'; got {list(table.columns)}")
    if table.empty:
        raise SequenceError("plot_distance_correlation: table has no rows")

    fig, ax = plt.subplots(figsize=(6, 4))
    groups = table.groupby("task", sort=False) if "task" in table.columns else [(None, table)]
    for task, rows in groups:
        rows = rows.sort_values(distance)
        ax.plot(rows[distance].to_numpy(float), rows["pearson"].to_numpy(float), marker="o",
                ms=3, lw=1.3, label=None if task is None else str(task))
    ax.axhline(0, color="grey", lw=0.8, ls=":")
    if distance == "distance_bp":
        set_genomic_axis(ax.xaxis, "distance", float(table[distance].max()))
    else:
        ax.set_xlabel("distance (bins)")
    low = np.nanmin(table["pearson"].to_numpy(float)) if table["pearson"].notna().any() else 0.0
    ax.set(ylabel="Pearson r", ylim=(min(0.0, low) - 0.05, 1.02), title=title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, title="task", title_fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def insulation_score(mat: np.ndarray, window: int) -> np.ndarray:
    """Insulation of the edge before each bin: log2 of its window mean over the mean of all.

    Parameters
    ----------
    mat : array, shape (n, n)
        Contact frequencies (counts, balanced or observed/expected, not their log), >= 0; NaN
        marks a masked bin pair.
    window : int
        Side of the square window, in bins; ``1 <= window <= n // 2``.

    Returns
    -------
    array of float, shape (n,)
        ``raw[i]`` is the mean of ``mat[i - window:i, i:i + window]``, the contacts between the
        ``window`` bins before bin i and the ``window`` bins from bin i on, ignoring NaN; the
        score is ``log2(raw / nanmean(raw))``. Low means few contacts cross the edge between bins
        i - 1 and i. NaN where the window does not fit (i < window or i > n - window) or where
        fewer than half its cells are finite; -inf where no contact crosses.
    """
    mat = _square(mat, "insulation_score", "mat")
    n = mat.shape[0]
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ConfigError(f"insulation_score: window must be an int >= 1; got {window!r}")
    if 2 * window > n:
        raise ConfigError(f"insulation_score: window {window} does not fit a ({n}, {n}) map; it "
                          f"must be <= {n // 2}")
    finite = np.isfinite(mat)
    if finite.any() and mat[finite].min() < 0:
        raise SequenceError(f"insulation_score: mat has negative values (min "
                            f"{mat[finite].min():g}); it needs contact frequencies, not their "
                            f"log: pass np.exp(mat) (np.exp2 for log2 maps)")
    raw = np.full(n, np.nan)
    for i in range(window, n - window + 1):
        cells = mat[i - window:i, i:i + window]
        keep = np.isfinite(cells)
        if 2 * keep.sum() >= cells.size:
            raw[i] = cells[keep].mean()
    if not np.isfinite(raw).any() or np.nanmean(raw) == 0:
        return np.full(n, np.nan)
    with np.errstate(divide="ignore"):
        return np.log2(raw / np.nanmean(raw))


def call_boundaries(mat: np.ndarray, window: int, *, min_strength: float = 0.1) -> np.ndarray:
    """Domain boundaries: the local minima of :func:`insulation_score`.

    Parameters
    ----------
    mat : array, shape (n, n)
        Contact frequencies >= 0, NaN allowed (see :func:`insulation_score`).
    window : int
        Insulation window in bins; also the half-width of the neighbourhood a minimum must win.
    min_strength : float
        Smallest accepted depth, in log2 units: the lower of the highest scores within
        ``window`` bins on the left and on the right, minus the score at the minimum.

    Returns
    -------
    array of int, shape (n_boundaries,)
        Increasing bin indices b; a boundary at b lies between bins b - 1 and b (bin b starts a
        domain). A bin is a boundary when its score is not NaN, lower than every such score in
        the ``window`` bins before it, no higher than those in the ``window`` bins after it (so
        a flat minimum gives its first bin), and deep enough. Boundaries are therefore more than
        ``window`` bins apart, and none lies within ``window`` bins of either end of the map.
    """
    if not isinstance(min_strength, int | float) or not min_strength >= 0:
        raise ConfigError(f"call_boundaries: min_strength must be a number >= 0; got "
                          f"{min_strength!r}")
    score = insulation_score(mat, window)
    found = []
    for i in np.flatnonzero(~np.isnan(score)):
        left, right = score[max(0, i - window):i], score[i + 1:i + window + 1]
        left, right = left[~np.isnan(left)], right[~np.isnan(right)]
        if not left.size or not right.size:
            continue
        if score[i] < left.min() and score[i] <= right.min():
            with np.errstate(invalid="ignore"):
                strength = min(left.max(), right.max()) - score[i]
            if strength >= min_strength:
                found.append(i)
    return np.asarray(found, dtype=int)


def _square(mat: np.ndarray, caller: str, name: str) -> np.ndarray:
    mat = np.asarray(mat, dtype=float)
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1] or mat.shape[0] == 0:
        raise SequenceError(f"{caller}: {name} must be a square (n, n) map with n >= 1; got "
                            f"shape {mat.shape}")
    return mat


def _check_resolution(resolution: int, caller: str) -> None:
    if resolution <= 0:
        raise ConfigError(f"{caller}: resolution must be > 0 bp; got {resolution}")


def _check_boundaries(boundaries: list[int] | None, n: int) -> list[int]:
    boundaries = [] if boundaries is None else [int(b) for b in boundaries]
    outside = [b for b in boundaries if not 0 <= b <= n]
    if outside:
        raise SequenceError(f"plot_contact_maps: boundaries {outside} are outside 0..{n} (bin "
                            f"indices of the ({n}, {n}) map)")
    return boundaries


def _symmetric_limit(*mats: np.ndarray) -> float:
    values = np.abs(np.concatenate([m[np.isfinite(m)] for m in mats]))
    limit = float(np.percentile(values, 99)) if values.size else 0.0
    return limit if limit > 0 else 1.0


def _with_nan_colour(name: str) -> Colormap:
    return plt.get_cmap(name).with_extremes(bad=_NAN_COLOUR)


def _draw_map(ax: plt.Axes, mat: np.ndarray, start: int, resolution: int, chrom: str,
              cmap: Colormap, vmax: float) -> plt.AxesImage:
    end = start + mat.shape[0] * resolution
    image = ax.imshow(np.ma.masked_invalid(mat), cmap=cmap, vmin=-vmax, vmax=vmax,
                      extent=(start, end, end, start), interpolation="nearest")
    set_genomic_axis(ax.xaxis, chrom, end)
    set_genomic_axis(ax.yaxis, chrom, end)
    ax.tick_params(labelsize=8)
    return image


def _upper_pearson(a: np.ndarray, b: np.ndarray) -> float:
    rows, cols = np.triu_indices(a.shape[0], k=1)
    x, y = a[rows, cols], b[rows, cols]
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 2:
        return math.nan
    x, y = x[keep] - x[keep].mean(), y[keep] - y[keep].mean()
    denom = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / denom) if denom > 0 else math.nan
