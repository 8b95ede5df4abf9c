"""First-layer convolution filters as PWMs (the DeepBind / Basset method).

Each filter of the model's first ``nn.Conv1d`` is run over a set of sequences, together
with the layers that directly follow it in the same ``nn.Sequential`` up to and including
the first activation (so a dnalens conv block gives conv -> [BatchNorm] -> ReLU). Every
window whose activation exceeds ``threshold`` times that filter's maximum over the set is
a site; the base counts of all sites, plus a pseudocount, give the filter's PWM.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from dnalens.errors import DnalensError
from dnalens.interpret.attribution import _check_one_hot
from dnalens.io.motifs import Motif, write_meme

__all__ = ["filter_motifs", "first_conv", "write_filter_meme"]

# Modules applied after the first conv; the first activation ends the chain.
_PASS_THROUGH = (nn.BatchNorm1d, nn.Identity)
_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Softplus,
                nn.SiLU)


def first_conv(model: nn.Module) -> tuple[nn.Conv1d, list[nn.Module]]:
    """The first ``nn.Conv1d`` of ``model`` and the modules that form its activation.

    Parameters
    ----------
    model : nn.Module

    Returns
    -------
    conv : nn.Conv1d
        First Conv1d in ``model.modules()`` order; it must take 4 input channels.
    after : list of nn.Module
        The modules that follow ``conv`` in its parent ``nn.Sequential``: batch norms, then
        the first activation (inclusive). Empty when the conv has no such parent or no
        activation follows; then the raw conv output is used.
    """
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv1d)), None)
    if conv is None:
        raise DnalensError(f"first_conv: {type(model).__name__} has no nn.Conv1d layer")
    if conv.in_channels != 4:
        raise DnalensError(
            f"first_conv: the first Conv1d takes {conv.in_channels} channels; "
            "expected 4 (A, C, G, T)"
        )
    if conv.dilation[0] != 1 or conv.groups != 1:
        raise DnalensError(
            f"first_conv: dilation {conv.dilation[0]} / groups {conv.groups} are not supported; "
            "expected 1 and 1"
        )
    for parent in model.modules():
        if not isinstance(parent, nn.Sequential):
            continue
        children = list(parent.children())
        if not any(child is conv for child in children):
            continue
        i = next(j for j, child in enumerate(children) if child is conv)
        chain = []
        for child in children[i + 1 :]:
            if isinstance(child, _ACTIVATIONS):
                return conv, [*chain, child]
            if not isinstance(child, _PASS_THROUGH):
                break
            chain.append(child)
        return conv, []
    return conv, []


def filter_motifs(
    model: nn.Module,
    x: Tensor,
    *,
    threshold: float = 0.5,
    pseudocount: float = 0.5,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> tuple[list[Motif], np.ndarray]:
    """PWMs of the first-layer filters from the windows that activate them.

    Parameters
    ----------
    model : nn.Module
        Any model whose first ``nn.Conv1d`` reads one-hot DNA (see :func:`first_conv`).
    x : Tensor, shape (batch, 4, length)
        One-hot DNA (e.g. test-set sequences); length >= the filter width.
    threshold : float in (0, 1]
        A window is a site of filter i when its activation > threshold * (max activation of
        filter i over ``x``).
    pseudocount : float >= 0
        Added to every base count of every column before normalising.
    batch_size : int
    device : str or torch.device, optional
        Default: the device of the conv's weight.

    Returns
    -------
    motifs : list[Motif], one per filter
        Named ``filter<i>``; ``pwm`` shape (4, kernel_size). A filter whose maximum is <= 0
        has no sites and a uniform PWM.
    n_sites : np.ndarray, shape (n_filters,), int64
        Number of windows counted for each filter.
    """
    x = _check_one_hot(x, "filter_motifs")
    if not 0 < threshold <= 1:
        raise DnalensError(f"filter_motifs: threshold must be in (0, 1]; got {threshold}")
    if not pseudocount >= 0:
        raise DnalensError(f"filter_motifs: pseudocount must be >= 0; got {pseudocount}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise DnalensError(
            f"filter_motifs: batch_size must be a positive integer; got {batch_size!r}"
        )
    conv, after = first_conv(model)
    k, stride = conv.kernel_size[0], conv.stride[0]
    pad = _left_padding(conv)
    if x.shape[2] + 2 * pad < k:
        raise DnalensError(
            f"filter_motifs: sequences of length {x.shape[2]} are shorter than the filter width {k}"
        )
    dev = torch.device(device) if device is not None else conv.weight.device
    stack = nn.Sequential(conv, *after)
    if dev != conv.weight.device:  # never move the caller's model
        stack = copy.deepcopy(stack).to(dev)
    states = [m.training for m in stack]
    stack.eval()
    try:
        with torch.no_grad():
            peak = None
            for xb in x.split(batch_size):
                best = stack(xb.to(dev)).amax(dim=(0, 2))
                peak = best if peak is None else torch.maximum(peak, best)
            cut = torch.where(peak > 0, threshold * peak, torch.full_like(peak, float("inf")))
            counts = torch.zeros(conv.out_channels, 4, k, dtype=torch.float64, device=dev)
            n_sites = torch.zeros(conv.out_channels, dtype=torch.int64, device=dev)
            for xb in x.split(batch_size):
                xb = xb.to(dev)
                act = stack(xb)  # (b, filters, positions)
                windows = nn.functional.pad(xb, (pad, pad)).unfold(2, k, stride)  # (b, 4, pos, k)
                windows = windows[:, :, : act.shape[2]]
                hits = (act > cut[None, :, None]).to(torch.float64)
                counts += torch.einsum("bfp,bcpk->fck", hits, windows.to(torch.float64))
                n_sites += hits.sum(dim=(0, 2)).to(torch.int64)
    finally:
        for module, state in zip(stack, states, strict=True):
            module.train(state)
    motifs = [
        Motif(f"filter{i}", _normalise(c + pseudocount)) for i, c in enumerate(counts.cpu().numpy())
    ]
    return motifs, n_sites.cpu().numpy()


def write_filter_meme(path: str | os.PathLike[str], motifs: Sequence[Motif]) -> Path:
    """Write filter motifs to a MEME file (atomic); returns the path."""
    path = Path(path)
    write_meme(list(motifs), path)
    return path


def _left_padding(conv: nn.Conv1d) -> int:
    if isinstance(conv.padding, str):
        if conv.padding == "valid":
            return 0
        k = conv.kernel_size[0]
        if k % 2 == 0:
            raise DnalensError(
                f"filter_motifs: padding='same' with an even width {k} is not supported"
            )
        return (k - 1) // 2
    if conv.padding_mode != "zeros":
        raise DnalensError(
            f"filter_motifs: padding_mode {conv.padding_mode!r} is not supported; expected 'zeros'"
        )
    return int(conv.padding[0])


def _normalise(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=0, keepdims=True)
    uniform = np.full_like(counts, 0.25)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / np.where(totals > 0, totals, 1), uniform)
