"""One validation library for the arguments of dnalens' Python API.

Every check takes the value plus ``name`` (the parameter) and ``caller`` (the public
function), returns the validated value, and raises :class:`~dnalens.errors.ParameterError`
with one line in the scikit-learn shape::

    `batch_size` of ism must be a positive int, got 2.5

Bad YAML keys are a different fault (:class:`~dnalens.errors.ConfigError`, which names the
file and key); these checks are for values handed to functions.

One-hot DNA (:func:`check_one_hot`) is checked the same way everywhere: a numpy array or a
torch tensor of shape (batch, 4, length), rows A, C, G, T, an N as an all-zero column;
"hard" means only 0 and 1 with at most one 1 per column, "soft" (``allow_soft=True``) means
finite values >= 0 with every column summing to at most 1 (a probability over the bases,
or less where part of the mass is N).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sized
from typing import Any, TypeVar

import numpy as np
import torch

from dnalens.errors import OneHotError, ParameterError

__all__ = [
    "OneHotError",
    "check_one_hot",
    "choice",
    "fraction",
    "nonnegative_int",
    "odd_int",
    "positive_int",
    "same_length",
]

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)
T = TypeVar("T")

# Column sums of soft one-hot may exceed 1 by float rounding (a softmax in float32 sums to
# 1 +- a few ulp); half precision rounds more, so the slack grows with the dtype's epsilon.
SOFT_TOLERANCE = 1e-5




def _who(name: str, caller: str) -> str:
    return f"`{name}` of {caller}"


# ---------------------------------------------------------------------------------------------
# Scalars
# ---------------------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    # bool is an int subclass, and numpy's bool is not Integral; both are refused so that
    # ``batch_size=True`` is a mistake, not a batch of one. numpy ints are Integral.
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def positive_int(value: object, *, name: str, caller: str) -> int:
    """``value`` as an int >= 1; bools, floats (even 3.0) and strings are refused.

    Returns
    -------
    int
        ``int(value)``, so numpy ints come back as Python ints.
    """
    if not _is_int(value) or value < 1:
        raise ParameterError(f"{_who(name, caller)} must be a positive int, got {value!r}")
    return int(value)


def nonnegative_int(value: object, *, name: str, caller: str) -> int:
    """``value`` as an int >= 0; bools, floats and strings are refused."""
    if not _is_int(value) or value < 0:
        raise ParameterError(f"{_who(name, caller)} must be a nonnegative int, got {value!r}")
    return int(value)


def odd_int(value: object, *, name: str, caller: str) -> int:
    """``value`` as an odd int >= 1 (a window or kernel with a centre)."""
    if not _is_int(value) or value < 1 or value % 2 == 0:
        raise ParameterError(f"{_who(name, caller)} must be an odd positive int, got {value!r}")
    return int(value)


def fraction(
    value: object,
    *,
    name: str,
    caller: str,
    include_low: bool = True,
    include_high: bool = True,
) -> float:
    """``value`` as a float in [0, 1]; either bound may be made open.

    Parameters
    ----------
    value : object
        An int or float (numpy scalars too); bools, NaN and strings are refused.
    include_low, include_high : bool
        Whether 0 and 1 themselves are allowed: ``include_low=False`` gives (0, 1].

    Returns
    -------
    float
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if ok:
        v = float(value)
        ok = (v >= 0.0 if include_low else v > 0.0) and (v <= 1.0 if include_high else v < 1.0)
    if not ok:
        bounds = f"{'[' if include_low else '('}0, 1{']' if include_high else ')'}"
        raise ParameterError(f"{_who(name, caller)} must be a fraction in {bounds}, got {value!r}")
    return float(value)


def _same_kind(value: object, option: object) -> bool:
    # 1 == True and 1 == 1.0 in Python; an option list ("auto", True, False) must not let
    # 1 stand for True, nor 1.0 for 1.
    if isinstance(value, (bool, np.bool_)) or isinstance(option, (bool, np.bool_)):
        return isinstance(value, (bool, np.bool_)) and isinstance(option, (bool, np.bool_))
    return isinstance(value, type(option)) or isinstance(option, type(value))


def choice(value: object, options: Iterable[T], *, name: str, caller: str) -> T:
    """``value`` if it is one of ``options`` (same type and equal), else raise.

    Returns
    -------
    object
        The matching member of ``options`` (so a numpy string comes back as the str).
    """
    options = list(options)
    for option in options:
        if _same_kind(value, option) and value == option:
            return option
    allowed = ", ".join(repr(o) for o in options)
    raise ParameterError(f"{_who(name, caller)} must be one of {allowed}, got {value!r}")


def same_length(*, caller: str, **named: Sized) -> int:
    """The common length of every keyword argument; raise unless they all have it.

    Example: ``same_length(caller="save_attributions", names=names, x=x)`` checks one name
    per sequence (``len`` of a (batch, 4, L) array is its batch size).

    Returns
    -------
    int
        The length they share (0 when no argument is given).
    """
    lengths = {}
    for name, value in named.items():
        if not isinstance(value, Sized):
            raise ParameterError(
                f"{_who(name, caller)} must have a length, got {type(value).__name__}"
            )
        lengths[name] = len(value)
    if len(set(lengths.values())) > 1:
        names = " and ".join(f"`{n}`" for n in lengths)
        got = ", ".join(f"{n}={k}" for n, k in lengths.items())
        raise ParameterError(f"{names} of {caller} must have the same length, got {got}")
    return next(iter(lengths.values()), 0)


# ---------------------------------------------------------------------------------------------
# One-hot DNA
# ---------------------------------------------------------------------------------------------


def check_one_hot(
    x: ArrayT,
    *,
    name: str,
    caller: str,
    allow_soft: bool = False,
    length: int | None = None,
    require_tensor: bool = False,
    check_values: bool = True,
) -> ArrayT:
    """Raise unless ``x`` is a batch of one-hot DNA; return ``x`` itself.

    Parameters
    ----------
    x : np.ndarray or torch.Tensor, shape (batch, 4, length)
        Rows A, C, G, T; an N is an all-zero column. A single sequence of shape (4, length)
        is refused (the message says to add a batch axis with ``x[None]``): one shape
        everywhere, so a (4, L) array is never mistaken for a batch of 4. Any real dtype:
        integer and bool arrays holding 0 and 1 are accepted and *not* converted; callers
        cast where they need floats. ``x`` is never rounded, cast or copied.
    name, caller : str
        The parameter and the public function, for the message.
    allow_soft : bool
        False: every value is exactly 0 or 1, at most one 1 per column (hard one-hot, what
        mutagenesis and sequence decoding need). True: every value is finite and >= 0 and
        every column sums to at most 1 (+ 1e-5, or 4 epsilon of the dtype if larger), as
        a softmax over the bases, an integrated-gradients path point or a design does;
        hard one-hot passes too.
    length : int, optional
        The length the caller needs (a model's fixed ``input_length``).
    require_tensor : bool
        Refuse numpy arrays (a model's ``forward`` cannot take one).
    check_values : bool
        False checks the type and the shape only, for a model's ``forward``: it runs at
        every training step, where a value check would cost a device synchronisation,
        and models legitimately see inputs that are not one-hot (gradients, random
        inputs in shape tests). Empty batches are then allowed too. API functions check
        values.

    Returns
    -------
    np.ndarray or torch.Tensor
        ``x``, unchanged.

    Raises
    ------
    OneHotError
        A ParameterError and a SequenceError, with one line naming the first bad entry
        (sequence, row, position), e.g. ```x` of ism must be one-hot (only 0 and 1), got
        0.5 at sequence 0, row A, position 0; soft inputs are not rounded``.
    """
    who = _who(name, caller)
    want = f"(batch, 4, {'length' if length is None else length})"
    _check_type(x, who, want, require_tensor)
    _check_shape(tuple(x.shape), who, want, length)
    if not check_values:
        return x
    if x.shape[0] == 0 or x.shape[2] == 0:
        raise OneHotError(f"{who} must not be empty, got shape {tuple(x.shape)}")
    values = x.detach() if isinstance(x, torch.Tensor) else x
    _check_finite(values, who)
    if allow_soft:
        _check_soft(values, who)
    else:
        _check_hard(values, who)
    return x


def _check_type(x: object, who: str, want: str, require_tensor: bool) -> None:
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise OneHotError(f"{who} must hold real numbers, got dtype {x.dtype}")
        return
    if isinstance(x, np.ndarray) and not require_tensor:
        if x.dtype.kind not in "biuf":
            raise OneHotError(f"{who} must hold real numbers, got dtype {x.dtype}")
        return
    kinds = "a torch tensor" if require_tensor else "a tensor or numpy array"
    raise OneHotError(f"{who} must be {kinds} of shape {want}, got {type(x).__name__}")


def _check_shape(shape: tuple[int, ...], who: str, want: str, length: int | None) -> None:
    if len(shape) != 3:
        hint = "; add a batch axis with x[None]" if len(shape) == 2 else ""
        raise OneHotError(
            f"{who} must have shape {want}, got shape {shape}{hint}"
        )
    if shape[1] != 4 and length is None:
        raise OneHotError(f"{who} must have 4 channels (rows A, C, G, T), got shape {shape}")
    if shape[1] != 4 or (length is not None and shape[2] != length):
        raise OneHotError(f"{who} must have shape {want}, got shape {shape}")


def _first(mask: Any) -> tuple[int, ...]:
    """Index of the first True entry of a numpy or torch boolean array."""
    found = np.argwhere(mask)[0] if isinstance(mask, np.ndarray) else torch.nonzero(mask)[0]
    return tuple(int(i) for i in found)


def _is_float(x: Any) -> bool:
    return x.is_floating_point() if isinstance(x, torch.Tensor) else x.dtype.kind == "f"


def _check_finite(x: Any, who: str) -> None:
    if not _is_float(x):
        return
    bad = ~(torch.isfinite(x) if isinstance(x, torch.Tensor) else np.isfinite(x))
    if bool(bad.any()):
        n, row, pos = _first(bad)
        raise OneHotError(
            f"{who} must be finite, got a non-finite value at sequence {n}, position {pos} "
            f"({float(x[n, row, pos])}, row {'ACGT'[row]})"
        )


def _check_hard(x: Any, who: str) -> None:
    bad = (x != 0) & (x != 1)
    if bool(bad.any()):
        n, row, pos = _first(bad)
        value = float(x[n, row, pos])
        hint = "" if value.is_integer() else "; soft inputs are not rounded"
        raise OneHotError(
            f"{who} must be one-hot (only 0 and 1), got {value:g} at "
            f"sequence {n}, row {'ACGT'[row]}, position {pos}{hint}"
        )
    per_column = (x == 1).sum(1)
    if bool((per_column > 1).any()):
        n, pos = _first(per_column > 1)
        raise OneHotError(
            f"{who} must be one-hot (at most one base per column), got "
            f"{int(per_column[n, pos])} bases set at sequence {n}, position {pos}"
        )


def _check_soft(x: Any, who: str) -> None:
    rule = "soft one-hot (values >= 0, each column summing to at most 1)"
    negative = x < 0
    if bool(negative.any()):
        n, row, pos = _first(negative)
        raise OneHotError(
            f"{who} must be {rule}, got {float(x[n, row, pos]):g} at sequence {n}, "
            f"row {'ACGT'[row]}, position {pos}"
        )
    # Sum in at least float32 (integer and bool inputs too: there, sums <= 1 means 0/1);
    # the slack follows the input's own precision (a bfloat16 softmax sums to 1 +- 1e-3).
    if isinstance(x, torch.Tensor):
        eps = torch.finfo(x.dtype).eps if x.is_floating_point() else 0.0
        sums = x.to(torch.promote_types(x.dtype, torch.float32)).sum(1)
    else:
        eps = float(np.finfo(x.dtype).eps) if x.dtype.kind == "f" else 0.0
        sums = x.astype(np.promote_types(x.dtype, np.float32), copy=False).sum(1)
    over = sums > 1 + max(SOFT_TOLERANCE, 4 * eps)
    if bool(over.any()):
        n, pos = _first(over)
        raise OneHotError(
            f"{who} must be {rule}, got a column sum of {float(sums[n, pos]):g} at "
            f"sequence {n}, position {pos}"
        )
