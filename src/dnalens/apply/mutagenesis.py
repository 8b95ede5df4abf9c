"""In-silico saturation mutagenesis (ISM): the change in model output for every substitution.

:func:`ism` scores all single-base substitutions of a batch of one-hot sequences. Two
paths give the same numbers (up to float rounding):

* **naive**: every mutant sequence is built and run through the model, in batches.
  Exact for any model.
* **fast**: for a convolutional stack (DeepSEA, Basset; also Neuron and MLP) the
  reference activations are computed once and each substitution recomputes only the
  window of each layer it can reach; see :mod:`dnalens.apply.fastpath`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from dnalens import checks
from dnalens.apply.fastpath import (
    IncrementalBatch,
    UnsupportedModelError,
    fast_path_plan,
    fast_path_support,
)
from dnalens.errors import ConfigError

__all__ = ["fast_ism_support", "ism"]

def ism(
    model: nn.Module,
    x: Tensor | np.ndarray,
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
    x : Tensor or np.ndarray, shape (batch, 4, length)
        One-hot DNA, rows A, C, G, T; an N column is all zeros. Any real dtype holding
        only 0 and 1 with at most one 1 per column; soft or non-finite values raise,
        never rounded (see :func:`dnalens.checks.check_one_hot`).
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
    dnalens.errors.OneHotError
        When ``x`` is not one-hot DNA of shape (batch, 4, length) (a ParameterError and a
        SequenceError).
    ParameterError
        For a ``batch_size`` that is not a positive int.
    ConfigError
        For a bad ``target`` or ``fast``, a model whose output is not
        (batch, n_tasks), or ``fast=True`` with an unsupported model.
    """
    # Hard one-hot only: every mutant replaces the reference base by another, which has no
    # meaning for a soft column, and rounding it would score a sequence the caller never gave.
    x = torch.as_tensor(checks.check_one_hot(x, name="x", caller="ism"))
    batch_size = checks.positive_int(batch_size, name="batch_size", caller="ism")
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

    See :func:`dnalens.apply.fastpath.fast_path_support` for the layers it handles. A
    supported model whose ``forward(x)`` is not ``head(trunk(x))`` fails a check on the
    reference output and is run naively under ``fast="auto"``.
    """
    return fast_path_support(model)


# ---------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------


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
            plan = fast_path_plan(model)
        except UnsupportedModelError as err:
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
                fast_run = IncrementalBatch(plan, xi[None])
                problem = None if fast_run.matches(out_ref[i : i + 1]) else (
                    f"{type(model).__name__}.forward is not head(trunk(x)) (the "
                    "layer-by-layer output differs from model(x))"
                )
            except UnsupportedModelError as err:
                problem = f"{type(model).__name__} is not supported by the fast path: {err}"
            if problem is not None:
                if fast is True:
                    raise ConfigError(
                        f"ism: fast=True, but {problem}; use fast='auto' or fast=False"
                    )
                plan = None
        # The fast path's own reference output (equal to out_ref[i] up to rounding), so that a
        # mutant whose features do not change scores exactly 0.
        ref_i = fast_run.out_ref[0] if plan is not None else out_ref[i]
        positions, bases = _edits(xi)
        delta = torch.empty(out_ref.shape[1], positions.shape[0], dtype=out_ref.dtype,
                            device=x.device)
        for start in range(0, positions.shape[0], batch_size):
            p = positions[start : start + batch_size]
            b = bases[start : start + batch_size]
            if plan is not None:
                out = fast_run.outputs(torch.zeros_like(p), p, _columns(b, x.shape[1], xi.dtype))
            else:
                out = model(_mutants(xi, p, b))
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


def _columns(bases: Tensor, n_rows: int, dtype: torch.dtype) -> Tensor:
    """(m, 4, 1): one one-hot column per base index."""
    cols = torch.zeros(bases.shape[0], n_rows, 1, dtype=dtype, device=bases.device)
    cols[torch.arange(bases.shape[0], device=bases.device), bases, 0] = 1
    return cols
