"""dnalens.checks: known answers for every check, and one-hot properties under hypothesis."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dnalens import checks
from dnalens.checks import OneHotError, check_one_hot
from dnalens.errors import ConfigError, ParameterError, SequenceError
from dnalens.sequence import one_hot


def _full(pattern: str) -> str:
    """A regex matching exactly ``pattern`` (the whole message)."""
    return "^" + re.escape(pattern) + "$"


# ---------------------------------------------------------------------------------------------
# Integers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "got"),
    [(True, "True"), (False, "False"), (2.5, "2.5"), (3.0, "3.0"), ("3", "'3'"), (0, "0"),
     (-2, "-2"), (None, "None"), (np.float64(3.0), repr(np.float64(3.0))),
     (np.bool_(True), repr(np.bool_(True)))],
)
def test_positive_int_refuses(value, got):
    message = f"`batch_size` of score_variants must be a positive int, got {got}"
    with pytest.raises(ParameterError, match=_full(message)):
        checks.positive_int(value, name="batch_size", caller="score_variants")


def test_positive_int_accepts_python_and_numpy_ints():
    assert checks.positive_int(7, name="n", caller="f") == 7
    value = checks.positive_int(np.int64(3), name="n", caller="f")
    assert value == 3 and type(value) is int
    assert checks.positive_int(np.uint8(1), name="n", caller="f") == 1


def test_nonnegative_int():
    assert checks.nonnegative_int(0, name="target", caller="attribute") == 0
    assert checks.nonnegative_int(np.int32(5), name="target", caller="attribute") == 5
    for value, got in [(-1, "-1"), (True, "True"), (1.0, "1.0")]:
        message = f"`target` of attribute must be a nonnegative int, got {got}"
        with pytest.raises(ParameterError, match=_full(message)):
            checks.nonnegative_int(value, name="target", caller="attribute")


def test_odd_int():
    assert checks.odd_int(3, name="window", caller="f") == 3
    assert checks.odd_int(np.int64(1), name="window", caller="f") == 1
    for value in [4, 0, -3, True, 3.0]:
        with pytest.raises(ParameterError, match=_full(
            f"`window` of f must be an odd positive int, got {value!r}"
        )):
            checks.odd_int(value, name="window", caller="f")


# ---------------------------------------------------------------------------------------------
# Fractions, choices, lengths
# ---------------------------------------------------------------------------------------------


def test_fraction_bounds():
    assert checks.fraction(0, name="p", caller="f") == 0.0
    assert checks.fraction(1, name="p", caller="f") == 1.0
    assert checks.fraction(np.float32(0.5), name="p", caller="f") == 0.5
    assert checks.fraction(1.0, name="p", caller="f", include_low=False) == 1.0
    cases = [
        (0.0, {"include_low": False}, "(0, 1]"),
        (1.0, {"include_high": False}, "[0, 1)"),
        (1.0, {"include_low": False, "include_high": False}, "(0, 1)"),
        (1.5, {}, "[0, 1]"),
        (-0.1, {}, "[0, 1]"),
        (float("nan"), {}, "[0, 1]"),
        (True, {}, "[0, 1]"),
        ("0.5", {}, "[0, 1]"),
    ]
    for value, kwargs, bounds in cases:
        message = f"`threshold` of filter_motifs must be a fraction in {bounds}, got {value!r}"
        with pytest.raises(ParameterError, match=_full(message)):
            checks.fraction(value, name="threshold", caller="filter_motifs", **kwargs)


def test_choice():
    methods = ("saliency", "deepshap")
    assert checks.choice("deepshap", methods, name="method", caller="attribute") == "deepshap"
    got = checks.choice(np.str_("saliency"), methods, name="method", caller="attribute")
    assert got == "saliency" and type(got) is str
    message = "`method` of attribute must be one of 'saliency', 'deepshap', got 'lime'"
    with pytest.raises(ParameterError, match=_full(message)):
        checks.choice("lime", methods, name="method", caller="attribute")
    # 1 == True in Python; a choice among True, False, "auto" must still refuse 1.
    assert checks.choice(True, (True, False, "auto"), name="fast", caller="ism") is True
    with pytest.raises(ParameterError, match=_full(
        "`fast` of ism must be one of True, False, 'auto', got 1"
    )):
        checks.choice(1, (True, False, "auto"), name="fast", caller="ism")
    with pytest.raises(ParameterError, match=r"got 1.0$"):
        checks.choice(1.0, (1, 2), name="k", caller="f")


def test_same_length():
    assert checks.same_length(caller="f", names=["a", "b"], x=np.zeros((2, 4, 3))) == 2
    assert checks.same_length(caller="f") == 0
    message = "`names` and `x` of save_attributions must have the same length, got names=3, x=2"
    with pytest.raises(ParameterError, match=_full(message)):
        checks.same_length(caller="save_attributions", names="abc", x=torch.zeros(2, 4, 5))
    with pytest.raises(ParameterError, match=_full("`n` of f must have a length, got int")):
        checks.same_length(caller="f", n=3)


def test_parameter_error_is_a_value_error_and_not_a_config_error():
    assert issubclass(ParameterError, ValueError)
    assert not issubclass(ParameterError, ConfigError)
    assert issubclass(OneHotError, ParameterError) and issubclass(OneHotError, SequenceError)


# ---------------------------------------------------------------------------------------------
# One-hot: known answers
# ---------------------------------------------------------------------------------------------


def test_hard_one_hot_with_n_columns_and_integer_dtypes_passes_unchanged():
    x = one_hot(["ACGTN", "NNNNN"])
    assert check_one_hot(x, name="x", caller="f") is x
    for same in [x.long(), x.to(torch.uint8), x.bool(), x.numpy(), x.numpy().astype(np.int8)]:
        assert check_one_hot(same, name="x", caller="f") is same
        assert check_one_hot(same, name="x", caller="f", allow_soft=True) is same


@pytest.mark.parametrize("allow_soft", [False, True])
def test_integer_two_is_refused(allow_soft):
    x = one_hot("ACGT")[None].long()
    x[0, 2, 3] = 2
    with pytest.raises(OneHotError, match=r"at sequence 0.*position 3"):
        check_one_hot(x, name="x", caller="f", allow_soft=allow_soft)


def test_soft_one_hot_is_refused_unless_allowed():
    x = torch.full((2, 4, 3), 0.25)
    message = ("`x` of ism must be one-hot (only 0 and 1), got 0.25 at sequence 0, row A, "
               "position 0; soft inputs are not rounded")
    with pytest.raises(OneHotError, match=_full(message)):
        check_one_hot(x, name="x", caller="ism")
    assert check_one_hot(x, name="x", caller="attribute", allow_soft=True) is x
    assert check_one_hot(x.numpy() * 0.5, name="x", caller="f", allow_soft=True) is not None


def test_soft_rules():
    x = torch.full((1, 4, 3), 0.25)
    x[0, :, 2] = 0.3
    rule = "soft one-hot (values >= 0, each column summing to at most 1)"
    with pytest.raises(OneHotError, match=_full(
        f"`x` of f must be {rule}, got a column sum of 1.2 at sequence 0, position 2"
    )):
        check_one_hot(x, name="x", caller="f", allow_soft=True)
    x = torch.zeros(1, 4, 3)
    x[0, 1, 1] = -0.5
    with pytest.raises(OneHotError, match=_full(
        f"`x` of f must be {rule}, got -0.5 at sequence 0, row C, position 1"
    )):
        check_one_hot(x, name="x", caller="f", allow_soft=True)
    # Column sums just over 1 from rounding pass; a half-precision softmax too.
    check_one_hot(torch.full((1, 4, 2), 0.25 + 1e-6), name="x", caller="f", allow_soft=True)
    logits = torch.randn(3, 4, 50, generator=torch.Generator().manual_seed(0))
    for dtype in (torch.float16, torch.bfloat16):
        soft = torch.softmax(logits.to(dtype), dim=1)
        check_one_hot(soft, name="x", caller="f", allow_soft=True)


def test_two_bases_and_non_finite_values():
    x = one_hot("ACGT")[None]
    x[0, 3, 1] = 1
    with pytest.raises(OneHotError, match=_full(
        "`x` of ism must be one-hot (at most one base per column), got 2 bases set at "
        "sequence 0, position 1"
    )):
        check_one_hot(x, name="x", caller="ism")
    x = one_hot(["ACGT", "ACGT"])
    x[1, 2, 3] = float("nan")
    for allow_soft in (False, True):
        with pytest.raises(OneHotError, match=_full(
            "`x` of f must be finite, got a non-finite value at sequence 1, position 3 "
            "(nan, row G)"
        )):
            check_one_hot(x, name="x", caller="f", allow_soft=allow_soft)


@pytest.mark.parametrize(
    ("x", "kwargs", "message"),
    [
        (torch.zeros(4, 5), {},
         "`x` of f must have shape (batch, 4, length), got shape (4, 5); add a batch axis "
         "with x[None]"),
        (torch.zeros(1, 2, 4, 5), {},
         "`x` of f must have shape (batch, 4, length), got shape (1, 2, 4, 5)"),
        (torch.zeros(1, 5, 3), {},
         "`x` of f must have 4 channels (rows A, C, G, T), got shape (1, 5, 3)"),
        (torch.zeros(2, 4, 9), {"length": 10},
         "`x` of DeepSEA must have shape (batch, 4, 10), got shape (2, 4, 9)"),
        (torch.zeros(2, 5, 10), {"length": 10},
         "`x` of DeepSEA must have shape (batch, 4, 10), got shape (2, 5, 10)"),
        (torch.zeros(0, 4, 3), {}, "`x` of f must not be empty, got shape (0, 4, 3)"),
        (np.zeros((2, 4, 0)), {}, "`x` of f must not be empty, got shape (2, 4, 0)"),
        ([[0, 1]], {},
         "`x` of f must be a tensor or numpy array of shape (batch, 4, length), got list"),
        (np.zeros((1, 4, 10)), {"require_tensor": True, "length": 10},
         "`x` of DeepSEA must be a torch tensor of shape (batch, 4, 10), got ndarray"),
        (torch.zeros(1, 4, 3, dtype=torch.complex64), {},
         "`x` of f must hold real numbers, got dtype torch.complex64"),
        (np.array([[["A"]] * 4]), {}, "`x` of f must hold real numbers, got dtype <U1"),
    ],
)
def test_wrong_type_and_shape_messages(x, kwargs, message):
    caller = "DeepSEA" if "length" in kwargs else "f"
    with pytest.raises(OneHotError, match=_full(message)):
        check_one_hot(x, name="x", caller=caller, **kwargs)


def test_shape_only_mode_ignores_values_but_not_shape():
    noise = torch.randn(2, 4, 10)
    assert check_one_hot(noise, name="x", caller="M", length=10, check_values=False) is noise
    check_one_hot(torch.zeros(0, 4, 10), name="x", caller="M", length=10, check_values=False)
    with pytest.raises(OneHotError, match=r"got shape \(2, 4, 9\)"):
        check_one_hot(torch.zeros(2, 4, 9), name="x", caller="M", length=10, check_values=False)


def test_gradients_are_not_tracked_by_the_check():
    x = (one_hot("ACGT")[None] * 0.5).requires_grad_()
    assert check_one_hot(x, name="x", caller="f", allow_soft=True) is x
    assert x.grad is None


# ---------------------------------------------------------------------------------------------
# One-hot: properties
# ---------------------------------------------------------------------------------------------


@st.composite
def _hard_one_hot(draw: st.DrawFn) -> np.ndarray:
    batch = draw(st.integers(1, 3))
    length = draw(st.integers(1, 12))
    codes = draw(st.lists(st.integers(0, 4), min_size=batch * length, max_size=batch * length))
    x = np.zeros((batch, 5, length), dtype=np.float32)  # row 4 is N, dropped below
    b, p = np.divmod(np.arange(batch * length), length)
    x[b, codes, p] = 1
    return x[:, :4]


@settings(max_examples=150, deadline=None)
@given(x=_hard_one_hot(), data=st.data())
def test_hard_one_hot_passes_and_one_perturbed_entry_fails(x, data):
    as_tensor = data.draw(st.booleans())
    wrap = torch.from_numpy if as_tensor else np.asarray
    check_one_hot(wrap(x.copy()), name="x", caller="f")
    check_one_hot(wrap(x.copy()), name="x", caller="f", allow_soft=True)

    n = data.draw(st.integers(0, x.shape[0] - 1))
    row = data.draw(st.integers(0, 3))
    pos = data.draw(st.integers(0, x.shape[2] - 1))
    has_base = x[n, :, pos].sum() == 1
    # A value other than 0 and 1 always breaks hard one-hot; a 1 breaks it only where the
    # column already holds another base (a 1 in an N column, or a 1 turned to 0, is valid).
    others = st.floats(width=32, allow_nan=True).filter(lambda v: v not in (0.0, 1.0))
    if has_base and x[n, row, pos] == 0:
        others = st.one_of(others, st.just(1.0))
    value = data.draw(others)
    bad = x.copy()
    bad[n, row, pos] = value
    with pytest.raises(ParameterError, match=rf"sequence {n}.* position {pos}\b"):
        check_one_hot(wrap(bad), name="x", caller="f")


@settings(max_examples=100, deadline=None)
@given(x=_hard_one_hot(), data=st.data())
def test_soft_one_hot_passes_soft_and_a_column_over_one_fails(x, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    # Each column a probability vector scaled by a mass in [0, 1] (1 - mass is N).
    soft = rng.dirichlet(np.ones(4), size=(x.shape[0], x.shape[2])).transpose(0, 2, 1)
    soft = (soft * rng.uniform(0, 1, size=(x.shape[0], 1, x.shape[2]))).astype(np.float32)
    check_one_hot(torch.from_numpy(soft), name="x", caller="f", allow_soft=True)
    n = data.draw(st.integers(0, x.shape[0] - 1))
    row = data.draw(st.integers(0, 3))
    pos = data.draw(st.integers(0, x.shape[2] - 1))
    soft[n, row, pos] += data.draw(st.sampled_from([1.001, 2.0, -1.5]))
    with pytest.raises(ParameterError, match=rf"sequence {n}.* position {pos}\b"):
        check_one_hot(torch.from_numpy(soft), name="x", caller="f", allow_soft=True)
