"""Coverage tracks: observed vs predicted along a region, and predicted vs observed per bin."""

from __future__ import annotations

import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axis import Axis
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, MaxNLocator
from scipy.stats import rankdata

from dnalens.errors import ConfigError, SequenceError
from dnalens.plot.figures import save_figure

__all__ = ["plot_track_comparison", "plot_track_scatter"]

_OBSERVED_COLOUR, _PREDICTED_COLOUR = "#b4b9c2", "#2b5fab"


def plot_track_comparison(chrom: str, starts: np.ndarray, observed: np.ndarray,
                          predicted: np.ndarray, names: list[str],
                          path: str | os.PathLike[str], *, bin_size: int,
                          title: str | None = None) -> Path:
    """One row per track: observed coverage as a grey area, the prediction as a line over it.

    Parameters
    ----------
    chrom : str
        Chromosome of the region, shown in the x-axis label.
    starts : array of int, shape (n,)
        0-based genome position where each bin starts, increasing.
    observed : array, shape (n_tracks, n)
        Observed coverage per bin; NaN marks a masked bin, drawn as a gap.
    predicted : array, shape (n_tracks, n)
        Predicted coverage, same bins as ``observed``.
    names : list of str, length n_tracks
        Track names, one per row.
    path : output ``.png`` or ``.svg``
    bin_size : int
        Width of a bin in bp; bin i covers ``[starts[i], starts[i] + bin_size)``.
    title : str, optional

    Returns
    -------
    Path

    Notes
    -----
    The Pearson r in each row's corner is computed over the bins where both tracks are finite.
    """
    starts = np.asarray(starts)
    observed = np.asarray(observed, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if observed.ndim != 2 or observed.shape != predicted.shape:
        raise SequenceError(f"plot_track_comparison: observed and predicted must both be "
                            f"(n_tracks, n_bins); got {observed.shape} and {predicted.shape}")
    n_tracks, n_bins = observed.shape
    if n_tracks == 0 or n_bins == 0:
        raise SequenceError(f"plot_track_comparison: no tracks or no bins to draw; "
                            f"observed is {observed.shape}")
    if starts.shape != (n_bins,):
        raise SequenceError(f"plot_track_comparison: starts must be ({n_bins},), one per bin of "
                            f"observed {observed.shape}; got {starts.shape}")
    if n_bins > 1 and np.any(np.diff(starts) <= 0):
        raise SequenceError("plot_track_comparison: starts must be increasing (bins in genome "
                            "order)")
    if len(names) != n_tracks:
        raise SequenceError(f"plot_track_comparison: names has {len(names)} entries but "
                            f"observed has {n_tracks} tracks")
    if bin_size <= 0:
        raise ConfigError(f"plot_track_comparison: bin_size must be > 0; got {bin_size}")

    # Bin edges with the last value repeated, so step="post" draws the last bin full width.
    edges = np.append(starts, starts[-1] + bin_size).astype(float)
    fig, axes = plt.subplots(n_tracks, 1, figsize=(10, 0.4 + 1.15 * n_tracks), sharex=True,
                             squeeze=False)
    axes = axes[:, 0]
    for ax, obs, pred, name in zip(axes, observed, predicted, names, strict=True):
        obs_edges = np.ma.masked_invalid(np.append(obs, obs[-1]))
        pred_edges = np.ma.masked_invalid(np.append(pred, pred[-1]))
        ax.fill_between(edges, 0, obs_edges, step="post", color=_OBSERVED_COLOUR, linewidth=0)
        ax.step(edges, pred_edges, where="post", color=_PREDICTED_COLOUR, linewidth=1.1)
        r = _pearson(obs, pred)
        ax.text(0.995, 0.95, "r = n/a" if math.isnan(r) else f"r = {r:.2f}",
                transform=ax.transAxes, ha="right", va="top", fontsize=8,
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none",
                      "alpha": 0.8})
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
        ax.yaxis.set_major_locator(MaxNLocator(3))
        ax.tick_params(labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        finite = np.concatenate([obs[np.isfinite(obs)], pred[np.isfinite(pred)]])
        if finite.size and finite.min() >= 0:
            ax.set_ylim(bottom=0)
    axes[0].set_xlim(edges[0], edges[-1])
    set_genomic_axis(axes[-1].xaxis, chrom, edges[-1])
    axes[0].legend(handles=[Patch(color=_OBSERVED_COLOUR, label="observed"),
                            plt.Line2D([], [], color=_PREDICTED_COLOUR, label="predicted")],
                   loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=8,
                   frameon=False)
    if title:
        axes[0].set_title(title, loc="left")
    fig.tight_layout(h_pad=0.3)
    return save_figure(fig, path)


def plot_track_scatter(observed: np.ndarray, predicted: np.ndarray,
                       path: str | os.PathLike[str], *, name: str, log: bool = True) -> Path:
    """Predicted against observed coverage, one point per bin, with Pearson r and Spearman rho.

    Parameters
    ----------
    observed, predicted : array, shape (m,)
        One value per bin; bins where either is NaN are left out.
    path : output ``.png`` or ``.svg``
    name : str
        Track name, used as the title.
    log : bool
        Draw both axes as log10(1 + value); the values must then be >= 0.

    Returns
    -------
    Path

    Notes
    -----
    r and rho are computed on the values as given, not on the log-transformed ones. Above 2,000
    bins the points are drawn as a hexbin density with a log colour scale.
    """
    observed = np.asarray(observed, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if observed.ndim != 1 or observed.shape != predicted.shape:
        raise SequenceError(f"plot_track_scatter: observed and predicted must both be (m,); got "
                            f"{observed.shape} and {predicted.shape}")
    keep = np.isfinite(observed) & np.isfinite(predicted)
    if keep.sum() < 2:
        raise SequenceError(f"plot_track_scatter: {name}: need at least 2 bins where observed and "
                            f"predicted are both finite; got {int(keep.sum())} of "
                            f"{observed.size}")
    obs, pred = observed[keep], predicted[keep]
    if log and min(obs.min(), pred.min()) < 0:
        raise ConfigError(f"plot_track_scatter: {name}: log=True needs values >= 0; got minimum "
                          f"{min(obs.min(), pred.min()):g}; pass log=False")
    r, rho = _pearson(obs, pred), _spearman(obs, pred)
    x, y = (np.log10(1 + obs), np.log10(1 + pred)) if log else (obs, pred)

    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    if x.size > 2000:
        cells = ax.hexbin(x, y, gridsize=60, bins="log", cmap="Blues", mincnt=1, linewidths=0)
        fig.colorbar(cells, ax=ax, label="bins")
    else:
        ax.scatter(x, y, s=7, alpha=0.6, color=_PREDICTED_COLOUR, linewidths=0)
    lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
    pad = 0.03 * (hi - lo) if hi > lo else 0.5
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="grey", lw=0.8, ls=":")
    ax.set(xlim=(lo - pad, hi + pad), ylim=(lo - pad, hi + pad), title=name)
    label = "log10(1 + {})" if log else "{}"
    ax.set_xlabel(label.format("observed"))
    ax.set_ylabel(label.format("predicted"))
    ax.text(0.03, 0.97, f"r = {_fmt(r)}\nρ = {_fmt(rho)}\nn = {obs.size:,}",
            transform=ax.transAxes, ha="left", va="top", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def set_genomic_axis(axis: Axis, chrom: str, largest: float) -> None:
    """Label ``axis`` ``"{chrom} (Mb)"`` (or kb, bp by ``largest``) with ticks to match.

    Shared by the track and contact-map plots; ticks get as many decimals as they need, so a
    50 kb window far along a chromosome still shows distinct, exact ticks.
    """
    unit, scale = ("Mb", 1e6) if largest >= 1e6 else ("kb", 1e3) if largest >= 1e3 else ("bp", 1)
    axis.set_major_formatter(_GenomicFormatter(scale))
    axis.set_major_locator(MaxNLocator(6))
    axis.set_label_text(f"{chrom} ({unit})")


class _GenomicFormatter(Formatter):
    """Positions divided by ``scale``, with as many decimals as the ticks need to be exact."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.decimals = 0

    def format_ticks(self, values: list[float]) -> list[str]:
        # The fewest decimals that write every tick exactly (1.275 Mb is not "1.27").
        scaled = np.asarray(values, dtype=float) / self.scale
        self.decimals = next((d for d in range(7)
                              if np.allclose(scaled, np.round(scaled, d), rtol=0, atol=1e-9)), 6)
        return [self(value) for value in values]

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x / self.scale:,.{self.decimals}f}"


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 2:
        return math.nan
    a, b = a[keep] - a[keep].mean(), b[keep] - b[keep].mean()
    denom = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else math.nan


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    keep = np.isfinite(a) & np.isfinite(b)
    return _pearson(rankdata(a[keep]), rankdata(b[keep]))


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"
