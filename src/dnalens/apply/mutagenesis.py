"""In-silico saturation mutagenesis (ISM): the change in model output for every substitution.

:func:`ism` scores all single-base substitutions of a batch of one-hot sequences. Two
paths give the same numbers (up to float rounding):

* **naive**: every mutant sequence is built and run through the model, in batches.
  Exact for any model.
* **fast** (the idea of fastISM, Nair et al. 2022): for a model whose ``trunk`` + ``head``
  are a valid Conv1d / BatchNorm1d / pointwise / MaxPool1d stack, then ``Flatten``, then
  ``Linear`` (DeepSEA, Basset, also Neuron and MLP), the reference activations of every
  layer are computed once. A substitution at position ``p`` can only change a window of
  each layer's output around ``p``, so each layer is recomputed over that window alone,
  with its left and right context read from the reference activations. The first dense
  layer is linear, so its output is the reference output plus the weight columns of the
  changed features times their change; the rest of the head runs on that small vector.

Window arithmetic (per mutant, for a layer with output length ``L_out``): a window of
width ``W`` starting at ``s`` in a layer's input becomes, through a valid convolution of
width ``k``, the window of width ``min(W + k - 1, L_out)`` starting at ``s - k + 1``;
through max-pooling of size (and stride) ``q`` it becomes the window starting at
``s // q`` of width ``min((W + q - 2) // q + 1, L_out)``. Starts are clipped so that every
window lies inside its layer; each layer uses one width for all mutants, so many mutants
run as one batched convolution.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dnalens.errors import ConfigError, SequenceError

__all__ = ["fast_ism_support", "ism"]

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

# The fast path checks its reference output against model(x) to within this tolerance,
# relative to the largest output, by dtype; a model whose forward is not head(trunk(x))
# fails the check.
_REF_TOLERANCE = {torch.float64: 1e-9, torch.float32: 1e-4, torch.float16: 1e-2,
                  torch.bfloat16: 5e-2}


def ism(
    model: nn.Module,
    x: Tensor,
    *,
    target: int | Sequence[int] | None = None,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    fast: bool | str = "auto",
) -> Tensor:
    """Change in model output for every single-base substitution.

    Parameters
    ----------
    model : nn.Module
        Maps (batch, 4, length) to (batch, n_tasks). It is run in evaluation mode; the
        training flags of its modules are restored afterwards.
    x : Tensor, shape (batch, 4, length)
        One-hot DNA, rows A, C, G, T; an N column is all zeros. Any dtype holding only 0
        and 1 with at most one 1 per column; soft or non-finite values raise, never
        rounded.
    target : int or sequence of int, optional
        Task columns to return. An int drops the task axis, a sequence keeps it (like
        tensor indexing); None returns every task.
    batch_size : int
        Mutant sequences evaluated per batch.
    device : str or torch.device, optional
        Where to compute; the model is moved there. Defaults to the device of the model's
        parameters (the CPU for a model without any).
    fast : bool or "auto"
        ``"auto"`` uses the fast path when the model supports it (see
        :func:`fast_ism_support`), else the naive path; ``True`` requires the fast path
        and raises ConfigError when it cannot be used; ``False`` forces the naive path.

    Returns
    -------
    Tensor, shape (batch, n_tasks, 4, length), on the CPU, in the model's dtype
        ``output(mutant) - output(reference)`` for the substitution of each base (row) at
        each position (column): 0 at the reference base. At an N column every row holds the
        change from N (all-zero column) to that base. With an int ``target`` the shape is
        (batch, 4, length); with a sequence of k targets it is (batch, k, 4, length).

    Raises
    ------
    SequenceError
        When ``x`` is not one-hot DNA of shape (batch, 4, length).
    ConfigError
        For a bad ``target``, ``batch_size`` or ``fast``, a model whose output is not
        (batch, n_tasks), or ``fast=True`` with an unsupported model.
    """
    x = _check_one_hot(x, "ism")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"ism: batch_size must be a positive integer, got {batch_size!r}")
    if not (isinstance(fast, bool) or (isinstance(fast, str) and fast == "auto")):
        raise ConfigError(f"ism: fast must be True, False or 'auto', got {fast!r}")

    param = next(iter(model.parameters()), None)
    if device is None:
        device = param.device if param is not None else torch.device("cpu")
    device = torch.device(device)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    model = model.to(device)
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.inference_mode():
            return _ism(model, x.to(device=device, dtype=dtype), target, batch_size, fast)
    finally:
        for module, training in modes:  # each submodule's own flag, as it was
            module.training = training


def fast_ism_support(model: nn.Module) -> str | None:
    """Why :func:`ism` cannot use its fast path on ``model``, or None when it can.

    The fast path needs ``model.trunk`` and ``model.head`` whose layers, read in order
    (nested ``nn.Sequential`` unpacked), are: valid stride-1 ``Conv1d``, ``BatchNorm1d``
    with running statistics, pointwise activations, ``Dropout`` and ``MaxPool1d`` with
    kernel == stride; then ``Flatten``; then ``Linear``; then only ``Linear``,
    ``BatchNorm1d``, pointwise activations and ``Dropout``. It also assumes that
    ``forward(x)`` is ``head(trunk(x))``, which :func:`ism` checks on the reference output
    (a model that fails the check is run naively under ``fast="auto"``).
    """
    try:
        _plan(model)
    except _UnsupportedError as err:
        return str(err)
    return None


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


def _check_one_hot(x: object, owner: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise SequenceError(
            f"{owner}: x must be a tensor of shape (batch, 4, length), got {type(x).__name__}"
        )
    if x.ndim != 3:
        hint = "; add a batch axis with x[None]" if x.ndim == 2 else ""
        raise SequenceError(
            f"{owner}: x must have shape (batch, 4, length), got shape {tuple(x.shape)}{hint}"
        )
    if x.shape[1] != 4:
        raise SequenceError(
            f"{owner}: x must have 4 channels (rows A, C, G, T), got shape {tuple(x.shape)}"
        )
    if x.shape[0] == 0 or x.shape[2] == 0:
        raise SequenceError(f"{owner}: x is empty, got shape {tuple(x.shape)}")
    if x.is_complex():
        raise SequenceError(f"{owner}: x must be real one-hot DNA, got dtype {x.dtype}")
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        n, _, pos = (int(v) for v in torch.nonzero(~torch.isfinite(x))[0])
        raise SequenceError(
            f"{owner}: x has a non-finite value at sequence {n}, position {pos}"
        )
    bad = (x != 0) & (x != 1)
    if bool(bad.any()):
        n, row, pos = (int(v) for v in torch.nonzero(bad)[0])
        raise SequenceError(
            f"{owner}: x must be one-hot (only 0 and 1), got {float(x[n, row, pos]):g} at "
            f"sequence {n}, row {'ACGT'[row]}, position {pos}; soft inputs are not rounded"
        )
    per_column = (x == 1).sum(dim=1)
    if bool((per_column > 1).any()):
        n, pos = (int(v) for v in torch.nonzero(per_column > 1)[0])
        raise SequenceError(
            f"{owner}: x must be one-hot, but sequence {n}, position {pos} has "
            f"{int(per_column[n, pos])} bases set"
        )
    return x


def _target_index(target: object, n_tasks: int) -> int | list[int] | None:
    if target is None:
        return None
    single = isinstance(target, numbers.Integral)
    items = [target] if single else target
    ok = isinstance(items, Sequence) and not isinstance(items, str) and len(items) > 0
    if ok:
        for t in items:
            if isinstance(t, bool) or not isinstance(t, numbers.Integral) or not 0 <= t < n_tasks:
                ok = False
    if not ok:
        raise ConfigError(
            f"ism: target must be an int or a list of ints in [0, {n_tasks}) (the model has "
            f"{n_tasks} tasks), got {target!r}"
        )
    return int(target) if single else [int(t) for t in items]


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def _ism(model: nn.Module, x: Tensor, target: object, batch_size: int,
         fast: bool | str) -> Tensor:
    out_ref = model(x)
    if out_ref.ndim != 2 or out_ref.shape[0] != x.shape[0]:
        raise ConfigError(
            f"ism: the model must return (batch, n_tasks) = ({x.shape[0]}, n_tasks), got "
            f"shape {tuple(out_ref.shape)}"
        )
    index = _target_index(target, out_ref.shape[1])

    plan = None
    if fast is not False:
        try:
            plan = _plan(model)
        except _UnsupportedError as err:
            if fast is True:
                raise ConfigError(
                    f"ism: fast=True, but {type(model).__name__} is not supported by the fast "
                    f"path: {err}; use fast='auto' or fast=False"
                ) from None

    result = []
    for i in range(x.shape[0]):
        xi = x[i]
        if plan is not None:
            try:
                fast_run = _FastSequence(plan, xi)
                problem = None if fast_run.matches(out_ref[i]) else (
                    f"{type(model).__name__}.forward is not head(trunk(x)) (the "
                    "layer-by-layer output differs from model(x))"
                )
            except _UnsupportedError as err:
                problem = f"{type(model).__name__} is not supported by the fast path: {err}"
            if problem is not None:
                if fast is True:
                    raise ConfigError(
                        f"ism: fast=True, but {problem}; use fast='auto' or fast=False"
                    )
                plan = None
        # The fast path's own reference output (equal to out_ref[i] up to rounding), so that a
        # mutant whose features do not change scores exactly 0.
        ref_i = fast_run.out_ref if plan is not None else out_ref[i]
        positions, bases = _edits(xi)
        delta = torch.empty(out_ref.shape[1], positions.shape[0], dtype=out_ref.dtype,
                            device=x.device)
        for start in range(0, positions.shape[0], batch_size):
            p = positions[start : start + batch_size]
            b = bases[start : start + batch_size]
            out = fast_run.outputs(p, b) if plan is not None else model(_mutants(xi, p, b))
            delta[:, start : start + batch_size] = (out - ref_i).T
        full = torch.zeros(out_ref.shape[1], 4, x.shape[2], dtype=out_ref.dtype,
                           device=x.device)
        full[:, bases, positions] = delta
        result.append(full if index is None else full[index])
    return torch.stack(result).cpu()


def _edits(xi: Tensor) -> tuple[Tensor, Tensor]:
    """Positions and bases of every substitution of one sequence, position-major.

    Three per position; four at an N column (whose reference is no base).
    """
    pos, base = torch.nonzero(xi.T != 1, as_tuple=True)
    return pos, base


def _mutants(xi: Tensor, positions: Tensor, bases: Tensor) -> Tensor:
    """(m, 4, L): copies of ``xi`` with base ``bases[j]`` written at ``positions[j]``."""
    m = positions.shape[0]
    out = xi.expand(m, -1, -1).clone()
    rows = torch.arange(m, device=xi.device)
    out[rows, :, positions] = 0
    out[rows, bases, positions] = 1
    return out


# ---------------------------------------------------------------------------------------------
# Fast path
# ---------------------------------------------------------------------------------------------


class _UnsupportedError(Exception):
    """The model's layers are outside what the fast path handles (message says which)."""


@dataclass(frozen=True)
class _Layer:
    kind: str  # "conv", "pool" or "point"
    module: nn.Module
    size: int  # conv width or pool size; 1 for pointwise


@dataclass(frozen=True)
class _Plan:
    trunk: tuple[_Layer, ...]  # the layers before Flatten
    linear: nn.Linear  # the first dense layer, after Flatten
    rest: tuple[nn.Module, ...]  # everything after it, applied to (m, hidden)


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


def _plan(model: nn.Module) -> _Plan:
    trunk_module = getattr(model, "trunk", None)
    head_module = getattr(model, "head", None)
    if not isinstance(trunk_module, nn.Module) or not isinstance(head_module, nn.Module):
        raise _UnsupportedError("it has no .trunk and .head modules")
    chain = _leaves(trunk_module) + _leaves(head_module)

    trunk: list[_Layer] = []
    k = 0
    while k < len(chain) and not isinstance(chain[k], nn.Flatten):
        layer = chain[k]
        name = type(layer).__name__
        if isinstance(layer, nn.Conv1d):
            if (
                _single(layer.stride) != 1
                or _single(layer.dilation) != 1
                or _single(layer.padding) not in (0, "valid")
            ):
                raise _UnsupportedError(
                    f"{name} layer {k} has stride, dilation or padding (only valid stride-1 "
                    "convolutions are handled)"
                )
            trunk.append(_Layer("conv", layer, int(_single(layer.kernel_size))))
        elif isinstance(layer, nn.MaxPool1d):
            size, stride = _single(layer.kernel_size), _single(layer.stride)
            if (
                size != stride
                or _single(layer.padding) != 0
                or _single(layer.dilation) != 1
                or layer.ceil_mode
                or layer.return_indices
            ):
                raise _UnsupportedError(
                    f"{name} layer {k} is not plain pooling with kernel == stride"
                )
            trunk.append(_Layer("pool", layer, int(size)))
        elif _is_pointwise(layer):
            trunk.append(_Layer("point", layer, 1))
        else:
            raise _UnsupportedError(f"{name} layer {k} in the trunk is not conv, pool or pointwise")
        k += 1
    if k == len(chain):
        raise _UnsupportedError("no Flatten layer between the convolutions and the dense layers")
    flatten = chain[k]
    if flatten.start_dim != 1 or flatten.end_dim != -1:
        raise _UnsupportedError("its Flatten does not flatten (channels, length)")
    k += 1
    while k < len(chain) and isinstance(chain[k], (nn.Dropout, nn.Identity)):
        k += 1
    if k == len(chain) or not isinstance(chain[k], nn.Linear):
        raise _UnsupportedError("the layer after Flatten is not Linear")
    linear = chain[k]
    rest = tuple(chain[k + 1 :])
    for layer in rest:
        if not (isinstance(layer, nn.Linear) or _is_pointwise(layer)):
            raise _UnsupportedError(f"{type(layer).__name__} after the first dense layer")
    return _Plan(tuple(trunk), linear, rest)


class _FastSequence:
    """Reference activations of one sequence, and the outputs of batches of its mutants."""

    def __init__(self, plan: _Plan, xi: Tensor) -> None:
        self.plan = plan
        self.xi = xi
        # refs[j] is the input of trunk layer j (refs[0] = xi); refs[-1] feeds Flatten.
        refs = [xi]
        # widths[j] is the width every mutant's window of refs[j] gets (1 base at refs[0]).
        widths = [1]
        a = xi[None]
        for layer in plan.trunk:
            a = layer.module(a)
            if a.shape[2] < 1:
                raise _UnsupportedError("the input is too short for the trunk")
            refs.append(a[0])
            w, n_out = widths[-1], a.shape[2]
            if layer.kind == "conv":
                w = min(w + layer.size - 1, n_out)
            elif layer.kind == "pool":
                w = min((w + layer.size - 2) // layer.size + 1, n_out)
            widths.append(w)
        self.refs, self.widths = refs, widths
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
        final = refs[-1]  # (C, L_f)
        channels, length = final.shape
        weight = plan.linear.weight
        if weight.shape[1] != channels * length:
            raise _UnsupportedError(
                f"the first dense layer takes {weight.shape[1]} features, the trunk gives "
                f"{channels * length}"
            )
        # Flatten orders features channel-major (c * L_f + position); regroup the weight as
        # (position, channel, hidden) so that a window of positions is one contiguous slice.
        self.weight = weight.T.reshape(channels, length, -1).transpose(0, 1).contiguous()
        self.hidden_ref = plan.linear(final.reshape(1, -1))[0]
        self.out_ref = self._head(self.hidden_ref[None])[0]

    def _head(self, hidden: Tensor) -> Tensor:
        for layer in self.plan.rest:
            hidden = layer(hidden)
        return hidden

    def matches(self, out: Tensor) -> bool:
        """Whether the layer-by-layer reference output equals ``model(x)`` (within rounding)."""
        if out.shape != self.out_ref.shape:
            return False
        tol = _REF_TOLERANCE.get(out.dtype, 1e-4) * max(1.0, float(out.abs().max()))
        return bool(((out - self.out_ref).abs() <= tol).all())

    def outputs(self, positions: Tensor, bases: Tensor) -> Tensor:
        """(m, n_tasks) model outputs for the mutants (positions[j], bases[j])."""
        m = positions.shape[0]
        device = positions.device
        # The window of the input: one column holding the new base.
        cur = torch.zeros(m, 4, 1, dtype=self.xi.dtype, device=device)
        cur[torch.arange(m, device=device), bases, 0] = 1
        start = positions
        for j, layer in enumerate(self.plan.trunk):
            if layer.kind == "point":
                cur = layer.module(cur)
                continue
            n_out = self.refs[j + 1].shape[1]
            width = self.widths[j + 1]
            if layer.kind == "conv" and self.transposed[j] is not None:
                change = cur - _read(self.refs[j], start, cur.shape[2])
                change = nn.functional.conv_transpose1d(change, self.transposed[j])
                # `change` covers [start - k + 1, start + w); keep this layer's window.
                new_start = (start - layer.size + 1).clamp(0, n_out - width)
                index = new_start[:, None] + torch.arange(width, device=device)
                cur = _read(self.refs[j + 1], new_start, width) + _pick(
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
            cur = layer.module(_paste(self.refs[j], cur, start, index))
            start = new_start
        # Change of the flattened features inside each mutant's final window.
        width = self.widths[-1]
        change = cur - _read(self.refs[-1], start, width)  # (m, C, width)
        change = change.transpose(1, 2).reshape(m, -1)  # (m, width * C), position-major
        hidden = self.hidden_ref.expand(m, -1).clone()
        for s in torch.unique(start).tolist():
            rows = torch.nonzero(start == s, as_tuple=True)[0]
            block = self.weight[s : s + width].reshape(-1, self.weight.shape[2])
            hidden[rows] += change[rows] @ block
        return self._head(hidden)


def _paste(ref: Tensor, cur: Tensor, start: Tensor, index: Tensor) -> Tensor:
    """(m, C, n): ``ref`` (C, L) read at ``index`` (m, n), with each mutant's own window
    ``cur`` (m, C, w), which starts at ``start`` (m,), written over it."""
    base = ref.T[index].transpose(1, 2)
    local = index - start[:, None]
    inside = (local >= 0) & (local < cur.shape[2])
    picked = cur.gather(2, local.clamp(0, cur.shape[2] - 1)[:, None, :].expand(
        -1, cur.shape[1], -1))
    return torch.where(inside[:, None, :], picked, base)


def _read(ref: Tensor, start: Tensor, width: int) -> Tensor:
    """(m, C, width): windows of ``ref`` (C, L) starting at ``start`` (m,)."""
    index = start[:, None] + torch.arange(width, device=start.device)
    return ref.T[index].transpose(1, 2)


def _pick(cur: Tensor, start: Tensor, index: Tensor) -> Tensor:
    """(m, C, n): the windows ``cur`` (m, C, w) starting at ``start`` read at ``index``
    (m, n), with 0 where an index falls outside its window."""
    local = index - start[:, None]
    inside = (local >= 0) & (local < cur.shape[2])
    picked = cur.gather(2, local.clamp(0, cur.shape[2] - 1)[:, None, :].expand(
        -1, cur.shape[1], -1))
    return picked * inside[:, None, :]
