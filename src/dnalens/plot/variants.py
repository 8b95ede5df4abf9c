"""The effect of one variant: attribution logos of the reference and alternative windows."""

from __future__ import annotations

import os
from pathlib import Path

import logomaker
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from dnalens.alphabet import ALPHABET
from dnalens.errors import SequenceError
from dnalens.plot.figures import save_figure
from dnalens.plot.logos import BASE_COLOURS

__all__ = ["plot_variant_effect"]


def _matrix(values: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else values
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != 4:
        raise SequenceError(f"plot_variant_effect: {name} must have shape (4, length); got "
                            f"{array.shape}")
    return array


def plot_variant_effect(ref_attr: np.ndarray | torch.Tensor, alt_attr: np.ndarray | torch.Tensor,
                        path: str | os.PathLike[str], *, centre: int | None = None,
                        flank: int = 30, title: str | None = None,
                        ref_label: str = "ref", alt_label: str = "alt") -> Path:
    """Two attribution logos, reference above alternative, on one y scale, variant marked.

    Parameters
    ----------
    ref_attr, alt_attr : array or Tensor, shape (4, length)
        Attributions projected on the observed bases (e.g. gradient x input, or DeepSHAP
        times the one-hot) of the reference and alternative windows.
    path : output ``.png`` or ``.svg``
    centre : int, optional
        Position of the variant in the windows (default: the middle).
    flank : int
        Bases drawn on each side of ``centre``.

    Returns
    -------
    Path
    """
    ref, alt = _matrix(ref_attr, "ref_attr"), _matrix(alt_attr, "alt_attr")
    if ref.shape != alt.shape:
        raise SequenceError(f"plot_variant_effect: ref {ref.shape} and alt {alt.shape} "
                            "attributions must have the same shape")
    length = ref.shape[1]
    centre = length // 2 if centre is None else centre
    if not 0 <= centre < length:
        raise SequenceError(f"plot_variant_effect: centre {centre} is outside 0..{length - 1}")
    start, end = max(0, centre - flank), min(length, centre + flank + 1)
    # One y scale for both rows: the stacked negative and positive letter heights.
    shown = np.concatenate([ref[:, start:end], alt[:, start:end]], axis=1)
    low, high = shown.clip(max=0).sum(0).min(), shown.clip(min=0).sum(0).max()
    pad = 0.05 * max(high - low, 1e-9)
    fig, axes = plt.subplots(2, 1, figsize=(max(6.0, 0.16 * (end - start) + 1.5), 4.2),
                             sharex=True)
    for ax, values, label in ((axes[0], ref, ref_label), (axes[1], alt, alt_label)):
        frame = pd.DataFrame(values[:, start:end].T, columns=list(ALPHABET),
                             index=np.arange(start, end))
        logomaker.Logo(frame, ax=ax, color_scheme=BASE_COLOURS)
        ax.axvspan(centre - 0.5, centre + 0.5, color="#fde68a", alpha=0.5, zorder=0)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set(xlim=(start - 0.5, end - 0.5), ylim=(low - pad, high + pad), ylabel=label)
    axes[1].set_xlabel("position in window (variant shaded)")
    if title:
        axes[0].set_title(title)
    return save_figure(fig, Path(path))
