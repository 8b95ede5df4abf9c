"""Per-base attributions of a model's output, through captum.

Every method returns a tensor shaped like the input, (batch, 4, length), rows A, C, G, T.
Conventions (they differ between methods, so read before comparing):

- ``"saliency"``: the raw gradient d output / d x at all four rows (signed, not the
  absolute value captum uses by default). This is already a *hypothetical* score:
  what each base would contribute to first order. Multiply by ``x`` to project it onto
  the observed bases (that is ``"grad_x_input"``).
- ``"grad_x_input"``: gradient * x, so 0 at every base that is not present.
- ``"integrated_gradients"``: (x - baseline) * mean gradient along the straight path
  from the baseline. With ``baseline="zero"`` it is 0 at absent bases and sums to
  output(x) - output(0) (completeness); with ``baseline="shuffle"`` it is averaged over
  ``n_shuffles`` dinucleotide-shuffled baselines and is non-zero at absent bases too.
- ``"deepshap"``: DeepLIFT (rescale rule) averaged over ``n_shuffles`` dinucleotide-shuffled
  references of each sequence (captum's DeepLiftShap): multipliers * (x - reference).
  Absent bases get ``-multiplier * reference`` (usually non-zero). With
  ``hypothetical=True`` it returns the DeepExplainer-style hypothetical contributions
  (the contribution each base *would* make at each position); ``attr * x`` projects them
  onto the observed sequence, and summing that projection over rows gives the same
  per-position score as the default output. TF-MoDISco wants the hypothetical scores.

captum's DeepLIFT rules attach to ``nn.Module`` instances: every non-linearity must be a
module (``nn.ReLU()``, not ``torch.relu`` in ``forward``) and a module instance must not be
reused twice in one forward pass. ``attribute`` runs DeepSHAP on a deep copy of the model
in which every ``nn.ReLU(inplace=True)`` is made non-inplace, so the caller's model is
never changed; in that copy each activation and max-pool is also followed by a copy of its
output, which works around captum passing a stale gradient between two adjacent hooked
modules (conv -> ReLU -> MaxPool). Models that reuse one activation instance must be rebuilt
by the caller.
"""

from __future__ import annotations

import copy
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from dnalens import checks
from dnalens.errors import DnalensError, SequenceError
from dnalens.sequence import decode, dinucleotide_shuffle, one_hot

__all__ = ["METHODS", "attribute", "save_attributions", "shuffled_references"]

METHODS = ("saliency", "grad_x_input", "integrated_gradients", "deepshap")
_BASELINES = ("zero", "shuffle")


def attribute(
    model: nn.Module,
    x: Tensor | np.ndarray,
    *,
    method: str = "saliency",
    target: int = 0,
    n_shuffles: int = 20,
    n_steps: int = 50,
    baseline: str = "zero",
    hypothetical: bool = False,
    batch_size: int = 64,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> Tensor:
    """Attribution of one model output to every base of every sequence.

    Parameters
    ----------
    model : nn.Module
        Maps (batch, 4, length) to (batch, n_targets) or (batch, n_targets, bins); with
        bins, the score is the sum over bins of output column ``target``.
    x : Tensor or np.ndarray, shape (batch, 4, length)
        One-hot DNA, rows A, C, G, T; an N column is all zeros. Soft one-hot (values >= 0,
        each column summing to at most 1) is accepted; integer inputs are cast to float32.
    method : {"saliency", "grad_x_input", "integrated_gradients", "deepshap"}
        See the module docstring for what each returns.
    target : int
        Output column to explain.
    n_shuffles : int
        Dinucleotide-shuffled references per sequence (deepshap, and integrated gradients
        with ``baseline="shuffle"``).
    n_steps : int
        Integration steps (integrated gradients only).
    baseline : {"zero", "shuffle"}
        Integrated-gradients baseline: all-zero input, or shuffles of each sequence.
    hypothetical : bool
        deepshap only: return hypothetical contributions (see module docstring).
    batch_size : int
        Sequences per forward/backward pass (integrated gradients: also the chunk size of
        its ``batch_size * n_steps`` path points; deepshap: one sequence with its
        ``n_shuffles`` references per pass, whatever ``batch_size`` is).
    seed : int
        Seed of the shuffles: sequence i (0-based, in ``x``) is shuffled with seed
        ``seed + i``, as :func:`shuffled_references` would do, so results are reproducible.
    device : str or torch.device, optional
        Where to compute; default the device of the model's first parameter (CPU if none).
        The caller's model is never moved (a copy is used on another device).

    Returns
    -------
    Tensor, shape (batch, 4, length), float32, on the CPU

    Raises
    ------
    dnalens.errors.OneHotError
        ``x`` is not non-empty (soft) one-hot DNA of shape (batch, 4, length) (a
        ParameterError and a SequenceError).
    ParameterError
        A count or ``target`` that is not a positive (``target``: nonnegative) int.
    DnalensError
        Unknown method or baseline, or ``target`` out of range.
    """
    from captum.attr import DeepLiftShap, InputXGradient, IntegratedGradients, Saliency

    x = _check_one_hot(x, "attribute")
    if method not in METHODS:
        raise DnalensError(f"attribute: method must be one of {', '.join(METHODS)}; got {method!r}")
    if baseline not in _BASELINES:
        raise DnalensError(f"attribute: baseline must be 'zero' or 'shuffle'; got {baseline!r}")
    if hypothetical and method != "deepshap":
        raise DnalensError(
            f"attribute: hypothetical=True needs method='deepshap'; got {method!r} "
            "(the gradient from method='saliency' is already hypothetical)"
        )
    n_shuffles = checks.positive_int(n_shuffles, name="n_shuffles", caller="attribute")
    n_steps = checks.positive_int(n_steps, name="n_steps", caller="attribute")
    batch_size = checks.positive_int(batch_size, name="batch_size", caller="attribute")
    if method == "deepshap" and n_shuffles < 2:
        raise DnalensError(f"attribute: deepshap needs n_shuffles >= 2; got {n_shuffles}")
    target = checks.nonnegative_int(target, name="target", caller="attribute")

    dev = torch.device(device) if device is not None else _model_device(model)
    if method == "deepshap":
        net = _for_deeplift(model)
    else:  # never move the caller's model to another device
        net = model if dev == _model_device(model) else copy.deepcopy(model)
    was_training = net.training
    net.eval()
    wrapped = _Select(net, target).to(dev)
    try:
        _check_target(wrapped, x[:1].to(dev), target)
        out = []
        if method == "deepshap":
            explainer = DeepLiftShap(wrapped)
            func = _hypothetical if hypothetical else None
            for i in range(x.shape[0]):
                refs = shuffled_references(x[i], n_shuffles, seed=seed + i).to(dev)
                xi = x[i : i + 1].to(dev).requires_grad_()
                with warnings.catch_warnings():  # captum's note that it hooks activations
                    warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
                    attr = explainer.attribute(xi, baselines=refs, custom_attribution_func=func)
                out.append(attr.detach().cpu())
        else:
            for start in range(0, x.shape[0], batch_size):
                xb = x[start : start + batch_size].to(dev).requires_grad_()
                if method == "saliency":
                    attr = Saliency(wrapped).attribute(xb, abs=False)
                elif method == "grad_x_input":
                    attr = InputXGradient(wrapped).attribute(xb)
                elif baseline == "zero":
                    attr = IntegratedGradients(wrapped).attribute(
                        xb, baselines=torch.zeros_like(xb), n_steps=n_steps,
                        internal_batch_size=batch_size,
                    )
                else:
                    attr = _ig_shuffled(wrapped, xb, start, n_shuffles, n_steps, seed)
                out.append(attr.detach().cpu())
    finally:
        net.train(was_training)
    return torch.cat(out).float()


def shuffled_references(x: Tensor, n: int, *, seed: int = 0) -> Tensor:
    """Dinucleotide shuffles of one one-hot sequence, as references.

    Parameters
    ----------
    x : Tensor, shape (4, length)
        One-hot DNA; N columns stay N (zero) in the shuffles.
    n : int
        Number of shuffles.
    seed : int

    Returns
    -------
    Tensor, shape (n, 4, length), float32
    """
    if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[0] != 4:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise SequenceError(f"shuffled_references: expected x of shape (4, length); got {shape}")
    rng = np.random.default_rng(seed)
    seq = decode(x)
    return one_hot([dinucleotide_shuffle(seq, rng) for _ in range(n)]).to(x.dtype)


def save_attributions(
    path: str | os.PathLike[str],
    x: Tensor,
    attributions: Tensor,
    names: Sequence[str] | None = None,
) -> Path:
    """Write sequences, one-hot inputs and attributions to one ``.npz`` file.

    Parameters
    ----------
    path : str or PathLike
        Output file; written to a temporary file beside it, then renamed.
    x : Tensor, shape (batch, 4, length)
        One-hot DNA.
    attributions : Tensor, shape (batch, 4, length)
    names : sequence of str, optional
        One name per sequence; default ``seq0``, ``seq1``, ...

    Returns
    -------
    Path
        The file written. Arrays: ``names`` (batch,) str, ``sequences`` (batch,) str,
        ``one_hot`` (batch, 4, length) float32, ``attributions`` (batch, 4, length) float32.
    """
    x = _check_one_hot(x, "save_attributions")
    attributions = torch.as_tensor(attributions)
    if tuple(attributions.shape) != tuple(x.shape):
        raise SequenceError(
            f"save_attributions: attributions shape {tuple(attributions.shape)} must equal "
            f"x shape {tuple(x.shape)}"
        )
    names = [f"seq{i}" for i in range(x.shape[0])] if names is None else list(names)
    if len(names) != x.shape[0]:
        raise DnalensError(
            f"save_attributions: {len(names)} names for {x.shape[0]} sequences; need one each"
        )
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(
                handle,
                names=np.array(names, dtype=str),
                sequences=np.array(decode(x), dtype=str),
                one_hot=x.detach().cpu().numpy().astype(np.float32),
                attributions=attributions.detach().cpu().numpy().astype(np.float32),
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------- helpers


class _Select(nn.Module):
    """(batch, 4, L) -> (batch,): output column ``target``, summed over bins if any."""

    def __init__(self, model: nn.Module, target: int) -> None:
        super().__init__()
        self.model = model
        self.target = target

    def forward(self, x: Tensor) -> Tensor:
        out = self.model(x)
        if out.ndim == 1:
            out = out[:, None]
        out = out[:, self.target]
        return out.sum(dim=-1) if out.ndim == 2 else out


def _check_one_hot(x: object, caller: str) -> Tensor:
    """``x`` checked as soft one-hot, as a detached float tensor (ints become float32).

    Soft input is allowed: attributions of a designed sequence (a softmax over bases) or of
    a point on an integrated-gradients path are meaningful, and nothing here enumerates
    bases. Gradients need floats, so integer and bool inputs are cast after the check.
    """
    x = torch.as_tensor(checks.check_one_hot(x, name="x", caller=caller, allow_soft=True))
    return x.detach() if x.is_floating_point() else x.detach().float()


def _check_target(wrapped: _Select, x1: Tensor, target: int) -> None:
    with torch.no_grad():
        out = wrapped.model(x1)
    n = 1 if out.ndim == 1 else out.shape[1]
    if target >= n:
        raise DnalensError(f"attribute: target {target} is out of range; the model has {n} outputs")


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _for_deeplift(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` prepared for captum's DeepLIFT hooks.

    In-place activations are made non-inplace, and every module that captum treats as a
    non-linearity (ReLU, max-pool, ...) is followed by a copy of its output. captum keeps a
    module's output gradient with a hook on its output tensor; when the next module is also
    hooked, that tensor is the next module's input, whose hook rewrites the gradient only
    after the first hook has stored the unrewritten one (conv -> ReLU -> MaxPool then misses
    the max-pool rule and attributions stop summing to output - reference output). The copy
    gives each hooked module its own output tensor.
    """
    from captum.attr._core.deep_lift import SUPPORTED_NON_LINEAR

    net = copy.deepcopy(model)
    for module in net.modules():
        if isinstance(getattr(module, "inplace", None), bool):
            module.inplace = False
    hooked = [
        (parent, name, child)
        for parent in net.modules()
        for name, child in parent.named_children()
        if type(child) in SUPPORTED_NON_LINEAR
    ]
    for parent, name, child in hooked:
        setattr(parent, name, nn.Sequential(child, _Copy()))
    if type(net) in SUPPORTED_NON_LINEAR:  # a bare activation as the whole model
        net = nn.Sequential(net, _Copy())
    return net


class _Copy(nn.Module):
    """(any shape) -> a new tensor equal to the input."""

    def forward(self, x: Tensor) -> Tensor:
        return x.clone()


def _hypothetical(
    multipliers: tuple[Tensor, ...], inputs: tuple[Tensor, ...], baselines: tuple[Tensor, ...]
) -> tuple[Tensor, ...]:
    # Contribution base b would make at position l: sum_c m[c, l] * (onehot_b[c] - ref[c, l])
    # = m[b, l] - sum_c m[c, l] * ref[c, l]; captum then averages over the references.
    m, ref = multipliers[0], baselines[0]
    return (m - (m * ref).sum(dim=1, keepdim=True),)


def _ig_shuffled(
    wrapped: nn.Module, xb: Tensor, start: int, n_shuffles: int, n_steps: int, seed: int
) -> Tensor:
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(wrapped)
    refs = [
        shuffled_references(xb[i].detach().cpu(), n_shuffles, seed=seed + start + i)
        for i in range(xb.shape[0])
    ]
    total = torch.zeros_like(xb)
    for k in range(n_shuffles):
        base = torch.stack([r[k] for r in refs]).to(xb.device)
        total = total + ig.attribute(
            xb, baselines=base, n_steps=n_steps, internal_batch_size=xb.shape[0]
        )
    return total / n_shuffles
