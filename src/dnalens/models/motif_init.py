"""Initialise first-layer convolution filters from known motifs (JASPAR or a MEME file).

With few positives a network can take many epochs to find even a strong motif such as
CTCF's, or never find it at all; starting some first-layer filters at the motif's log-odds
matrix is the usual remedy (e.g. Ploenzke & Irizarry's and the DeepBind-era practice of
seeding filters with known PWMs). The filters stay trainable: the data may sharpen them.

Each motif fills one filter with its log2-odds matrix (uniform background), and with
``both_strands`` a second filter with its reverse complement, so a motif is found on
either strand. A motif shorter than the kernel is centred in it (zeros elsewhere); a
longer one is cut to its most informative window of kernel width. The bias is set to
``-threshold * max score`` so the filter answers mostly near a match; a batch norm after
the convolution recentres it anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from dnalens.errors import ConfigError
from dnalens.io.motifs import Motif, jaspar_motifs, read_meme, search_motifs

__all__ = ["fit_to_kernel", "init_filters_from_motifs", "resolve_motifs"]


def resolve_motifs(queries: Sequence[str], database: Path | None = None,
                   source: str = "model.motifs") -> list[Motif]:
    """Motifs named by ``queries`` (each one or more matches), in order, without repeats.

    Parameters
    ----------
    queries : sequence of str
        Names or name parts: ``"CTCF"`` matches the JASPAR clusters ``C055:CTCF:C2H2_ZF``
        and ``C056:CTCF_INSM:C2H2_ZF`` (see :func:`dnalens.io.motifs.search_motifs`).
    database : Path, optional
        A MEME file; the bundled JASPAR 2024 clusters when None.
    """
    pool = read_meme(database) if database is not None else jaspar_motifs()
    chosen: dict[str, Motif] = {}
    for query in queries:
        found = search_motifs(pool, query)
        if not found:
            where = database if database is not None else "the bundled JASPAR 2024 clusters"
            raise ConfigError(f"{source}: no motif matching '{query}' in {where}")
        chosen.update((m.name, m) for m in found)
    return list(chosen.values())


def fit_to_kernel(scores: np.ndarray, kernel_size: int) -> np.ndarray:
    """A (4, width) scoring matrix placed in (4, kernel_size): centred, or cut to its best window.

    The window kept from a wider matrix is the one with the largest sum of column maxima
    (the highest score a site can reach), i.e. the most informative part of the motif.
    """
    width = scores.shape[1]
    out = np.zeros((4, kernel_size), dtype=np.float64)
    if width <= kernel_size:
        left = (kernel_size - width) // 2
        out[:, left : left + width] = scores
        return out
    column_max = scores.max(axis=0)
    sums = np.convolve(column_max, np.ones(kernel_size), mode="valid")
    start = int(np.argmax(sums))
    return scores[:, start : start + kernel_size].copy()


def _first_dna_conv(model: nn.Module) -> nn.Conv1d:
    for module in model.modules():
        if isinstance(module, nn.Conv1d) and module.in_channels == 4 and module.groups == 1:
            return module
    raise ConfigError(f"model.motifs: {type(model).__name__} has no Conv1d over the 4 DNA rows "
                      "to initialise")


@torch.no_grad()
def init_filters_from_motifs(model: nn.Module, motifs: Sequence[Motif], *,
                             both_strands: bool = True, scale: float = 1.0,
                             threshold: float = 0.5) -> list[str]:
    """Overwrite the first filters of the model's first DNA convolution with motifs.

    Parameters
    ----------
    model : nn.Module
        Any model whose first ``Conv1d`` with 4 input channels reads the one-hot DNA
        (batch, 4, length).
    motifs : sequence of Motif
    both_strands : bool
        Also give each motif's reverse complement a filter.
    scale : float
        Multiplies the log2-odds weights.
    threshold : float
        Bias = ``-threshold * scale * (best score of the fitted matrix)``.

    Returns
    -------
    list of str
        Per filter set, in order: the motif name (``"<name> (rc)"`` for a reverse complement).
    """
    conv = _first_dna_conv(model)
    kernel = conv.kernel_size[0]
    oriented = [(m.name, m) for m in motifs]
    if both_strands:
        oriented = [pair for m in motifs
                    for pair in ((m.name, m), (f"{m.name} (rc)", m.reverse_complement()))]
    if len(oriented) > conv.out_channels:
        raise ConfigError(f"model.motifs: {len(oriented)} filters needed but the first "
                          f"convolution has {conv.out_channels}")
    for i, (_, motif) in enumerate(oriented):
        scores = fit_to_kernel(motif.log_odds(), kernel) * scale
        conv.weight[i] = torch.as_tensor(scores, dtype=conv.weight.dtype)
        if conv.bias is not None:
            conv.bias[i] = -threshold * float(scores.max(axis=0).sum())
    return [name for name, _ in oriented]
