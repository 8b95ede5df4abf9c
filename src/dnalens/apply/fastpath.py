"""Incremental evaluation of substitutions: recompute only what a changed base can reach.

Shared by saturation mutagenesis (:mod:`dnalens.apply.mutagenesis`, thousands of
substitutions of one sequence) and variant scoring (:mod:`dnalens.apply.variants`, one
substitution in each of many sequences). This is the idea of fastISM (Nair et al. 2022),
written for any model whose ``trunk`` + ``head`` are a valid Conv1d / BatchNorm1d /
pointwise / MaxPool1d stack, then ``Flatten``, then ``Linear`` (DeepSEA, Basset; Neuron and
MLP too):

* the reference activations of every layer are computed once per sequence;
* a substitution of ``w`` bases starting at position ``p`` can only change a window of each
  layer's output around ``p``, so each layer is recomputed over that window alone, with its
  context read from the reference activations;
* the first dense layer is linear, so its output is the reference output plus the weight
  columns of the changed features times their change; the rest of the head runs on that
  small vector.

Window arithmetic (for a layer with output length ``L_out``): a window of width ``W``
starting at ``s`` in a layer's input becomes, through a valid convolution of width ``k``,
the window of width ``min(W + k - 1, L_out)`` starting at ``s - k + 1``; through
max-pooling of size (and stride) ``q`` it becomes the window starting at ``s // q`` of width
``min((W + q - 2) // q + 1, L_out)``. Starts are clipped so that every window lies inside
its layer; each layer uses one width for all substitutions, so many of them run as one
batched convolution.

This module is written by hand because no maintained library does it for PyTorch models
of this shape; tangermeme's ``fast=True`` recomputes every layer over the full length.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["IncrementalBatch", "UnsupportedModelError", "fast_path_plan", "fast_path_support"]

# Layers that act on each position (and channel) on its own, in evaluation mode.
_POINTWISE = (
    nn.ReLU,
    nn.GELU,
    nn.SiLU,
    nn.ELU,
    nn.LeakyReLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.Identity,
    nn.Dropout,
)

# The reference output computed layer by layer must equal model(x) to within this
# tolerance, relative to the largest output, by dtype; a model whose forward is not
# head(trunk(x)) fails the check.
_REF_TOLERANCE = {torch.float64: 1e-9, torch.float32: 1e-4, torch.float16: 1e-2,
                  torch.bfloat16: 5e-2}


class UnsupportedModelError(Exception):
    """The model's layers are outside what the fast path handles (the message says which)."""


@dataclass(frozen=True)
class _Layer:
    kind: str  # "conv", "pool" or "point"
    module: nn.Module
    size: int  # conv width or pool size; 1 for pointwise


@dataclass(frozen=True)
class Plan:
    """A model read as trunk layers, the first dense layer, and the rest of the head."""

    trunk: tuple[_Layer, ...]  # the layers before Flatten
    linear: nn.Linear  # the first dense layer, after Flatten
    rest: tuple[nn.Module, ...]  # everything after it, applied to (m, hidden)


def fast_path_support(model: nn.Module) -> str | None:
    """Why the fast path cannot run ``model``, or None when it can.

    It needs ``model.trunk`` and ``model.head`` whose layers, read in order (nested
    ``nn.Sequential`` unpacked), are: valid stride-1 ``Conv1d``, ``BatchNorm1d`` with running
    statistics, pointwise activations, ``Dropout`` and ``MaxPool1d`` with kernel == stride;
    then ``Flatten``; then ``Linear``; then only ``Linear``, ``BatchNorm1d``, pointwise
    activations and ``Dropout``. It also assumes that ``forward(x)`` is ``head(trunk(x))``,
    which callers check with :meth:`IncrementalBatch.matches`.
    """
    try:
        fast_path_plan(model)
    except UnsupportedModelError as err:
        return str(err)
    return None


def _leaves(module: nn.Module) -> list[nn.Module]:
    if type(module) is nn.Sequential:
        return [leaf for child in module for leaf in _leaves(child)]
    return [module]


def _single(value: object) -> object:
    return value[0] if isinstance(value, tuple) and len(value) == 1 else value


def _is_pointwise(layer: nn.Module) -> bool:
    """Acts on each position on its own in eval mode (batch norm only with running stats)."""
    if isinstance(layer, nn.BatchNorm1d):
        return layer.running_mean is not None
    return isinstance(layer, _POINTWISE)


def _trunk_layer(layer: nn.Module, k: int) -> _Layer:
    name = type(layer).__name__
    if isinstance(layer, nn.Conv1d):
        if (
            _single(layer.stride) != 1
            or _single(layer.dilation) != 1
            or _single(layer.padding) not in (0, "valid")
        ):
            raise UnsupportedModelError(
                f"{name} layer {k} has stride, dilation or padding (only valid stride-1 "
                "convolutions are handled)"
            )
        return _Layer("conv", layer, int(_single(layer.kernel_size)))
    if isinstance(layer, nn.MaxPool1d):
        size, stride = _single(layer.kernel_size), _single(layer.stride)
        if (
            size != stride
            or _single(layer.padding) != 0
            or _single(layer.dilation) != 1
            or layer.ceil_mode
            or layer.return_indices
        ):
            raise UnsupportedModelError(
                f"{name} layer {k} is not plain pooling with kernel == stride"
            )
        return _Layer("pool", layer, int(size))
    if _is_pointwise(layer):
        return _Layer("point", layer, 1)
    raise UnsupportedModelError(f"{name} layer {k} in the trunk is not conv, pool or pointwise")


def fast_path_plan(model: nn.Module) -> Plan:
    """Read ``model`` as a :class:`Plan`; raises UnsupportedModelError saying why not."""
    trunk_module = getattr(model, "trunk", None)
    head_module = getattr(model, "head", None)
    if not isinstance(trunk_module, nn.Module) or not isinstance(head_module, nn.Module):
        raise UnsupportedModelError("it has no .trunk and .head modules")
    chain = _leaves(trunk_module) + _leaves(head_module)
    k = 0
    trunk = []
    while k < len(chain) and not isinstance(chain[k], nn.Flatten):
        trunk.append(_trunk_layer(chain[k], k))
        k += 1
    if k == len(chain):
        raise UnsupportedModelError("no Flatten layer between the convolutions and the dense "
                                    "layers")
    flatten = chain[k]
    if flatten.start_dim != 1 or flatten.end_dim != -1:
        raise UnsupportedModelError("its Flatten does not flatten (channels, length)")
    k += 1
    while k < len(chain) and isinstance(chain[k], (nn.Dropout, nn.Identity)):
        k += 1
    if k == len(chain) or not isinstance(chain[k], nn.Linear):
        raise UnsupportedModelError("the layer after Flatten is not Linear")
    rest = tuple(chain[k + 1 :])
    for layer in rest:
        if not (isinstance(layer, nn.Linear) or _is_pointwise(layer)):
            raise UnsupportedModelError(f"{type(layer).__name__} after the first dense layer")
    return Plan(tuple(trunk), chain[k], rest)


class IncrementalBatch:
    """Reference activations of a batch of sequences, and outputs of substitutions in them.

    Parameters
    ----------
    plan : Plan
        From :func:`fast_path_plan`; the model must be in evaluation mode.
    x : Tensor, shape (batch, 4, length)
        The reference sequences, on the model's device and dtype.
    Attributes
    ----------
    out_ref : Tensor, shape (batch, n_outputs)
        The model's output on ``x``, computed layer by layer.
    """

    def __init__(self, plan: Plan, x: Tensor) -> None:
        self.plan = plan
        self.dtype = x.dtype
        # The activations (batch, channels, length) a substitution reads: the input and
        # output of each convolution and the input of each pooling layer; None where nothing
        # reads them (kept as they are: copying them costs more than the gathers save).
        keep = set()
        for j, layer in enumerate(plan.trunk):
            if layer.kind == "conv":
                keep.update((j, j + 1))
            elif layer.kind == "pool":
                keep.add(j)
        keep.add(len(plan.trunk))
        refs: list[Tensor | None] = [x if 0 in keep else None]
        # lengths[j] is the length of the input of layer j.
        lengths = [x.shape[2]]
        a = x
        for j, layer in enumerate(plan.trunk):
            a = layer.module(a)
            if a.shape[2] < 1:
                raise UnsupportedModelError("the input is too short for the trunk")
            refs.append(a if j + 1 in keep else None)
            lengths.append(a.shape[2])
        self.refs, self.lengths = refs, lengths
        self._widths: dict[int, list[int]] = {}
        # A convolution is linear, so a mutant's conv output is the reference output plus
        # the convolution (without bias) of its input change, which is nonzero only over the
        # input window: a transposed convolution with the flipped kernel computes exactly
        # those w * k products per output channel, against (w + k - 1) * k for a direct
        # convolution of the window with its context.
        self.transposed = [
            layer.module.weight.flip(2).transpose(0, 1).contiguous()
            if layer.kind == "conv" and layer.module.groups == 1
            else None
            for layer in plan.trunk
        ]
        batch, channels, length = refs[-1].shape
        weight = plan.linear.weight
        if weight.shape[1] != channels * length:
            raise UnsupportedModelError(
                f"the first dense layer takes {weight.shape[1]} features, the trunk gives "
                f"{channels * length}"
            )
        # Flatten orders features channel-major (c * L_f + position); regroup the weight as
        # (position, channel, hidden) so that a window of positions is one contiguous slice.
        self.weight = weight.T.reshape(channels, length, -1).transpose(0, 1).contiguous()
        self.hidden_ref = plan.linear(a.reshape(batch, -1))
        self.out_ref = self._head(self.hidden_ref)

    def widths(self, width: int) -> list[int]:
        """Window width in the input of each layer (and the final one) for substitutions of
        ``width`` bases; the same for every substitution, so they batch."""
        if width not in self._widths:
            widths = [width]
            for layer, n_out in zip(self.plan.trunk, self.lengths[1:], strict=True):
                w = widths[-1]
                if layer.kind == "conv":
                    w = min(w + layer.size - 1, n_out)
                elif layer.kind == "pool":
                    w = min((w + layer.size - 2) // layer.size + 1, n_out)
                widths.append(w)
            self._widths[width] = widths
        return self._widths[width]

    def _head(self, hidden: Tensor) -> Tensor:
        for layer in self.plan.rest:
            hidden = layer(hidden)
        return hidden

    def matches(self, out: Tensor) -> bool:
        """Whether the layer-by-layer reference output equals ``out = model(x)``."""
        if out.shape != self.out_ref.shape:
            return False
        tol = _REF_TOLERANCE.get(out.dtype, 1e-4) * max(1.0, float(out.abs().max()))
        return bool(((out - self.out_ref).abs() <= tol).all())

    def outputs(self, seq: Tensor, positions: Tensor, columns: Tensor) -> Tensor:
        """Model outputs for substituted sequences.

        Parameters
        ----------
        seq : Tensor, shape (m,), int64
            Which reference sequence each substitution is made in.
        positions : Tensor, shape (m,), int64
            First changed position of each.
        columns : Tensor, shape (m, 4, width)
            The new bases (one-hot, an N column all zeros) written from ``positions``.

        Returns
        -------
        Tensor, shape (m, n_outputs)
        """
        m = positions.shape[0]
        device = positions.device
        widths = self.widths(columns.shape[2])
        cur, start = columns.to(self.dtype), positions
        for j, layer in enumerate(self.plan.trunk):
            if layer.kind == "point":
                cur = layer.module(cur)
                continue
            n_out = self.lengths[j + 1]
            width = widths[j + 1]
            if layer.kind == "conv" and self.transposed[j] is not None:
                change = cur - _read(self.refs[j], seq, start, cur.shape[2])
                change = nn.functional.conv_transpose1d(change, self.transposed[j])
                # `change` covers [start - k + 1, start + w); keep this layer's window.
                new_start = (start - layer.size + 1).clamp(0, n_out - width)
                index = new_start[:, None] + torch.arange(width, device=device)
                cur = _read(self.refs[j + 1], seq, new_start, width) + _pick(
                    change, start - layer.size + 1, index
                )
                start = new_start
                continue
            if layer.kind == "conv":
                new_start = (start - layer.size + 1).clamp(0, n_out - width)
                span = width + layer.size - 1
                first = new_start
            else:
                new_start = (start // layer.size).clamp(max=n_out - width)
                span = width * layer.size
                first = new_start * layer.size
            index = first[:, None] + torch.arange(span, device=device)
            cur = layer.module(_paste(self.refs[j], seq, cur, start, index))
            start = new_start
        # Change of the flattened features inside each substitution's final window.
        width = widths[-1]
        change = cur - _read(self.refs[-1], seq, start, width)  # (m, C, width)
        change = change.transpose(1, 2).reshape(m, -1)  # (m, width * C), position-major
        hidden = self.hidden_ref[seq]
        for s in torch.unique(start).tolist():
            rows = torch.nonzero(start == s, as_tuple=True)[0]
            block = self.weight[s : s + width].reshape(-1, self.weight.shape[2])
            hidden[rows] += change[rows] @ block
        return self._head(hidden)


def _read(ref: Tensor, seq: Tensor, start: Tensor, width: int) -> Tensor:
    """(m, C, width): windows of ``ref`` (batch, C, L) of sequences ``seq`` from ``start``."""
    index = start[:, None] + torch.arange(width, device=start.device)
    return _gather(ref, seq, index).transpose(1, 2)


def _gather(ref: Tensor, seq: Tensor, index: Tensor) -> Tensor:
    """(m, n, C): positions ``index`` (m, n) of ``ref`` (batch, C, L) of sequences ``seq``."""
    if ref.shape[0] == 1:  # ISM: one sequence; a plain gather is faster
        return ref[0].T[index]
    return ref[seq[:, None], :, index]


def _paste(ref: Tensor, seq: Tensor, cur: Tensor, start: Tensor, index: Tensor) -> Tensor:
    """(m, C, n): ``ref`` (batch, C, L) of sequences ``seq`` read at ``index`` (m, n), with each
    substitution's own window ``cur`` (m, C, w), which starts at ``start`` (m,), over it."""
    base = _gather(ref, seq, index).transpose(1, 2)
    local = index - start[:, None]
    inside = (local >= 0) & (local < cur.shape[2])
    picked = cur.gather(2, local.clamp(0, cur.shape[2] - 1)[:, None, :].expand(
        -1, cur.shape[1], -1))
    return torch.where(inside[:, None, :], picked, base)


def _pick(cur: Tensor, start: Tensor, index: Tensor) -> Tensor:
    """(m, C, n): the windows ``cur`` (m, C, w) starting at ``start`` read at ``index``
    (m, n), with 0 where an index falls outside its window."""
    local = index - start[:, None]
    inside = (local >= 0) & (local < cur.shape[2])
    picked = cur.gather(2, local.clamp(0, cur.shape[2] - 1)[:, None, :].expand(
        -1, cur.shape[1], -1))
    return picked * inside[:, None, :]
