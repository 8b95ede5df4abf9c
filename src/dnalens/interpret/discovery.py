"""De novo motifs from a trained model: attributions -> TF-MoDISco patterns -> PWMs.

The patterns come from modisco-lite (optional: ``pip install dnalens[modisco]``),
run on DeepSHAP hypothetical contributions by default, and are returned as
:class:`dnalens.io.motifs.Motif` so they can be matched to a database with
:func:`dnalens.interpret.matching.tomtom_matches` or written as MEME.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dnalens.errors import SequenceError
from dnalens.interpret.attribution import attribute
from dnalens.interpret.matching import modisco
from dnalens.io.motifs import Motif

__all__ = ["discover_motifs", "patterns_to_motifs"]


def _trimmed(ppm: np.ndarray, min_information: float) -> np.ndarray | None:
    """Drop flanking columns below ``min_information`` bits; None when nothing is left."""
    ppm = ppm / np.clip(ppm.sum(axis=0, keepdims=True), 1e-9, None)
    information = (ppm * np.log2(np.clip(ppm, 1e-9, None) / 0.25)).sum(axis=0)
    informative = np.flatnonzero(information >= min_information)
    if informative.size == 0:
        return None
    return ppm[:, informative.min() : informative.max() + 1]


def patterns_to_motifs(patterns: list[Any] | None, *, prefix: str = "pattern",
                       min_information: float = 0.3) -> list[Motif]:
    """modisco-lite patterns -> Motifs (4, width), flanks below ``min_information`` bits trimmed.

    Parameters
    ----------
    patterns : list of modisco-lite patterns (with ``.sequence``, shape (width, 4)) or None
    prefix : str
        Motifs are named ``<prefix>_<i>``.
    """
    motifs = []
    for i, pattern in enumerate(patterns or []):
        ppm = _trimmed(np.asarray(pattern.sequence, dtype=np.float64).T, min_information)
        if ppm is not None:
            motifs.append(Motif(f"{prefix}_{i}", ppm))
    return motifs


def discover_motifs(model: nn.Module, x: Tensor, *, target: int = 0,
                    method: str = "deepshap", n_shuffles: int = 8,
                    window: tuple[int, int] | None = None, max_seqlets: int = 300,
                    prefix: str = "pattern", seed: int = 0,
                    device: str | torch.device | None = None) -> list[Motif]:
    """Motifs a model uses for one task, found by TF-MoDISco on its attributions.

    Parameters
    ----------
    model : nn.Module
        (batch, 4, L) -> (batch, n_tasks).
    x : Tensor, shape (batch, 4, L)
        Sequences where the task is active (for example its peaks).
    target : int
        Output column to explain.
    method : {'deepshap', 'saliency'}
        DeepSHAP (dinucleotide-shuffled references) gives hypothetical contributions
        directly; saliency gradients are mean-centred over the four bases.
    window : (start, end), optional
        Only this stretch of each window goes to MoDISco (e.g. the central 400 bp of
        a peak-centred 1 kb window), which keeps the seqlet search fast.
    max_seqlets : int
        Seqlets per metacluster.

    Returns
    -------
    list of Motif: positive patterns, strongest first, flanks trimmed.
    """
    if x.ndim != 3 or x.shape[1] != 4:
        raise SequenceError(f"discover_motifs: expected (batch, 4, length); got {tuple(x.shape)}")
    if method == "deepshap":
        scores = attribute(model, x, method="deepshap", target=target, n_shuffles=n_shuffles,
                           hypothetical=True, seed=seed, device=device)
    elif method == "saliency":
        scores = attribute(model, x, method="saliency", target=target, device=device)
        scores = scores - scores.mean(dim=1, keepdim=True)
    else:
        raise SequenceError(f"discover_motifs: method must be 'deepshap' or 'saliency'; "
                            f"got '{method}'")
    start, end = window if window is not None else (0, x.shape[-1])
    result = modisco(scores[:, :, start:end].numpy(), x[:, :, start:end].numpy(),
                     max_seqlets=max_seqlets)
    positive = result[0] if isinstance(result, tuple) else result
    return patterns_to_motifs(positive, prefix=prefix)
