"""In-silico saturation mutagenesis: known answers, fast path == naive path, input errors."""

from __future__ import annotations

import re

import pytest
import torch
from torch import Tensor, nn

from dnalens.apply.mutagenesis import fast_ism_support, ism
from dnalens.errors import ConfigError, ParameterError, SequenceError
from dnalens.models import build_model
from dnalens.sequence.encoding import one_hot


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from threads, and lose a lot when other work shares the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class CountBase(nn.Module):
    """Output = number of ``base`` in the sequence (one task); no parameters."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.row = "ACGT".index(base)

    def forward(self, x: Tensor) -> Tensor:
        return x[:, self.row, :].sum(dim=1, keepdim=True)


def random_one_hot(batch: int, length: int, *, seed: int = 0, n_columns: int = 2) -> Tensor:
    """Random one-hot DNA with a few N (all-zero) columns, including one at each end."""
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (batch, length), generator=gen)
    x = nn.functional.one_hot(codes, 4).permute(0, 2, 1).float()
    x[0, :, 0] = 0
    x[-1, :, length - 1] = 0
    for _ in range(n_columns):
        x[:, :, int(torch.randint(0, length, (1,), generator=gen))] = 0
    return x


def random_model(name: str, seed: int = 0, **params) -> nn.Module:
    """A small model in eval mode, with non-trivial batch-norm statistics."""
    torch.manual_seed(seed)
    model = build_model(name, **params)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.running_mean.normal_(0, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.normal_(1, 0.3)
            module.bias.data.normal_(0, 0.3)
    return model.eval()


def brute_force(model: nn.Module, x: Tensor) -> Tensor:
    """(batch, n_tasks, 4, L) by a plain loop over every position and base."""
    with torch.no_grad():
        ref = model(x)
        out = torch.zeros(x.shape[0], ref.shape[1], 4, x.shape[2], dtype=ref.dtype)
        for pos in range(x.shape[2]):
            for base in range(4):
                mutant = x.clone()
                mutant[:, :, pos] = 0
                mutant[:, base, pos] = 1
                out[:, :, base, pos] = model(mutant) - ref
        # The reference base is 0 by definition (not just up to rounding).
        return out * (x[:, None] != 1)


# ---------------------------------------------------------------------------------------------
# Known answers and the output contract
# ---------------------------------------------------------------------------------------------


def test_ism_counts_g():
    model = CountBase("G")  # output = number of G
    delta = ism(model, one_hot("AGT")[None], target=0)
    expected = torch.tensor([[[0.0, -1, 0],  # A
                              [0.0, -1, 0],  # C
                              [1.0, 0, 1],  # G
                              [0.0, -1, 0]]])  # T
    torch.testing.assert_close(delta, expected)


def test_n_column_holds_the_change_from_n_to_each_base():
    delta = ism(CountBase("G"), one_hot("ANT")[None], target=0)
    torch.testing.assert_close(delta[0, :, 1], torch.tensor([0.0, 0, 1, 0]))


def test_target_selects_tasks_like_indexing():
    model = random_model("neuron", input_length=12, n_tasks=3).double()
    x = random_one_hot(2, 12)
    full = ism(model, x)
    assert full.shape == (2, 3, 4, 12)
    assert full.dtype == torch.float64
    torch.testing.assert_close(ism(model, x, target=1), full[:, 1])
    torch.testing.assert_close(ism(model, x, target=[2, 0]), full[:, [2, 0]])


def test_naive_path_matches_brute_force_loop():
    model = random_model("basset", input_length=40, n_tasks=2, conv_channels=(5, 4, 3),
                         kernel_sizes=(5, 3, 3), pool_sizes=(2, 3, 2), hidden_sizes=(6,))
    model = model.double()
    x = random_one_hot(2, 40)
    expected = brute_force(model, x.double())
    torch.testing.assert_close(ism(model, x, fast=False, batch_size=7), expected)


def test_model_mode_is_restored_and_dropout_is_off():
    model = random_model("deepsea", input_length=170, n_tasks=2, conv_channels=(4, 3, 3),
                         hidden=5).train()
    x = random_one_hot(1, 170)
    first = ism(model, x, fast=False)
    assert model.training
    torch.testing.assert_close(ism(model, x, fast=False), first)


# ---------------------------------------------------------------------------------------------
# Fast path == naive path
# ---------------------------------------------------------------------------------------------

# Lengths chosen so that pooling leaves remainders (e.g. DeepSEA 170: 163 -> 40 r3 -> 33 ->
# 8 r1 -> 1) and, for the shortest, the last window spans the whole layer.
FAST_CASES = [
    ("deepsea", 170, {"conv_channels": (6, 5, 4), "hidden": 7}),
    ("deepsea", 203, {"conv_channels": (6, 5, 4), "hidden": 7}),
    ("deepsea", 97, {"conv_channels": (6, 5, 4), "hidden": 7, "kernel_size": 5,
                     "pool_size": 3, "batch_norm": True}),
    ("deepsea", 203, {"conv_channels": (6, 5, 4), "hidden": 7, "batch_norm": True}),
    ("basset", 203, {"conv_channels": (6, 5, 4), "hidden_sizes": (9, 8)}),
    ("basset", 250, {"conv_channels": (6, 5, 4), "hidden_sizes": (9, 8)}),
    ("basset", 40, {"conv_channels": (5, 4, 3), "kernel_sizes": (5, 3, 3),
                    "pool_sizes": (2, 3, 2), "hidden_sizes": (6,)}),
    ("basset", 61, {"conv_channels": (5, 4), "kernel_sizes": (4, 6),
                    "pool_sizes": (5, 1), "hidden_sizes": ()}),
    ("neuron", 30, {}),
    ("mlp", 30, {"hidden_sizes": (8, 5)}),
]


@pytest.mark.parametrize(("name", "length", "params"), FAST_CASES)
def test_fast_path_equals_naive_float64(name, length, params):
    model = random_model(name, input_length=length, n_tasks=3, **params).double()
    assert fast_ism_support(model) is None
    x = random_one_hot(2, length, seed=length)
    naive = ism(model, x, fast=False)
    fast = ism(model, x, fast=True, batch_size=50)
    assert naive.abs().max() > 1e-4  # the comparison is not between zeros
    torch.testing.assert_close(fast, naive, atol=1e-10, rtol=0)


@pytest.mark.parametrize(("name", "length", "params"), FAST_CASES[:6:2])
def test_fast_path_equals_naive_float32(name, length, params):
    model = random_model(name, input_length=length, n_tasks=2, **params)
    x = random_one_hot(2, length, seed=1)
    torch.testing.assert_close(ism(model, x, fast=True), ism(model, x, fast=False),
                               atol=1e-5, rtol=0)


def test_fast_path_is_exact_for_a_position_weight_matrix():
    model = random_model("neuron", input_length=10, n_tasks=1)
    x = random_one_hot(1, 10, n_columns=0)
    weight = model.head.weight.detach().reshape(4, 10)
    expected = (weight - (weight * x[0]).sum(0, keepdim=True))[None]
    expected = torch.where(x == 1, 0.0, expected)  # N columns: weight of the base itself
    torch.testing.assert_close(ism(model, x, target=0, fast=True), expected)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("danq", {"conv_channels": 5, "kernel_size": 5, "pool_size": 3, "lstm_hidden": 3,
                  "hidden": 4}),
        ("neuron", {}),
        ("mlp", {"hidden_sizes": (6,)}),
    ],
)
def test_auto_equals_naive_for_other_models(name, params):
    model = random_model(name, input_length=30, n_tasks=2, **params).double()
    x = random_one_hot(2, 30)
    torch.testing.assert_close(ism(model, x), ism(model, x, fast=False), atol=1e-10, rtol=0)


def test_fast_true_on_danq_says_why():
    model = random_model("danq", input_length=30, n_tasks=2, conv_channels=5, kernel_size=5,
                         pool_size=3, lstm_hidden=3, hidden=4)
    assert "BiLSTM" in fast_ism_support(model)
    with pytest.raises(ConfigError, match=r"fast=True, but DanQ is not supported .*BiLSTM"):
        ism(model, random_one_hot(1, 30), fast=True)


class ShiftedOutput(nn.Module):
    """Has a conv trunk and a dense head, but forward is not head(trunk(x))."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv1d(4, 3, 3), nn.ReLU(), nn.Flatten())
        self.head = nn.Linear(3 * 8, 2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.head(self.trunk(x)))


def test_forward_other_than_head_of_trunk_is_caught():
    torch.manual_seed(0)
    model = ShiftedOutput().double().eval()
    x = random_one_hot(1, 10)
    assert fast_ism_support(model) is None  # the layers alone look fine
    torch.testing.assert_close(ism(model, x), ism(model, x, fast=False))
    with pytest.raises(ConfigError, match=r"forward is not head\(trunk\(x\)\)"):
        ism(model, x, fast=True)


class CustomStack(nn.Module):
    """Outside the zoo: grouped conv, GELU, batch norm and Tanh in the head."""

    def __init__(self, padding: int = 0) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv1d(4, 6, 5, padding=padding), nn.BatchNorm1d(6), nn.GELU(), nn.MaxPool1d(2),
            nn.Sequential(nn.Conv1d(6, 6, 3, groups=3), nn.ReLU(), nn.MaxPool1d(3)),
            nn.Dropout(0.1), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(6 * 4, 5), nn.BatchNorm1d(5), nn.Tanh(),
                                  nn.Linear(5, 2))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.trunk(x))


def test_fast_path_on_a_custom_stack():
    torch.manual_seed(0)
    model = CustomStack().double().eval()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2)
    x = random_one_hot(2, 35)  # 31 -> 15 r1 -> 13 -> 4 r1
    torch.testing.assert_close(ism(model, x, fast=True, batch_size=9),
                               ism(model, x, fast=False), atol=1e-10, rtol=0)


def test_padded_conv_is_not_supported():
    model = CustomStack(padding=2)
    assert "padding" in fast_ism_support(model)
    with pytest.raises(ConfigError, match="only valid stride-1 convolutions"):
        ism(model, random_one_hot(1, 31), fast=True)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (one_hot("ACGT"), r"shape \(batch, 4, length\), got shape \(4, 4\); add a batch axis"),
        (torch.zeros(1, 5, 4), r"4 channels \(rows A, C, G, T\), got shape \(1, 5, 4\)"),
        (torch.zeros(0, 4, 4), r"`x` of ism must not be empty, got shape \(0, 4, 4\)"),
        (one_hot("ACGT")[None] * 0.5, r"one-hot \(only 0 and 1\), got 0.5 at sequence 0"),
        (one_hot("ACGT")[None].index_put((torch.tensor(0), torch.tensor(0), torch.tensor(1)),
                                         torch.tensor(1.0)),
         r"got 2 bases set at sequence 0, position 1"),
        (torch.full((1, 4, 4), float("nan")), r"non-finite value at sequence 0, position 0"),
        ([[0, 1]], r"must be a tensor .* got list"),
    ],
)
def test_bad_input_raises(x, match):
    with pytest.raises(SequenceError, match=match):
        ism(CountBase("G"), x)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target": 1}, r"target must be .* in \[0, 1\) \(the model has 1 tasks\), got 1"),
        ({"target": []}, r"target must be"),
        ({"fast": "yes"}, r"fast must be True, False or 'auto', got 'yes'"),
        ({"fast": 1}, r"fast must be True, False or 'auto', got 1"),
    ],
)
def test_bad_option_raises(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ism(CountBase("G"), one_hot("ACGT")[None], **kwargs)


@pytest.mark.parametrize("batch_size", [0, 2.5, True, "8"])
def test_bad_batch_size_raises_parameter_error(batch_size):
    with pytest.raises(ParameterError, match=rf"`batch_size` of ism must be a positive int, got "
                                             rf"{re.escape(repr(batch_size))}$"):
        ism(CountBase("G"), one_hot("ACGT")[None], batch_size=batch_size)


def test_integer_and_numpy_one_hot_give_the_float_answer():
    x = one_hot("AGTN")[None]
    expected = ism(CountBase("G"), x)
    torch.testing.assert_close(ism(CountBase("G"), x.to(torch.uint8)), expected)
    torch.testing.assert_close(ism(CountBase("G"), x.numpy()), expected)


def test_model_output_must_be_two_dimensional():
    class PerPosition(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return x.sum(dim=1)[:, None]  # (batch, 1, L)

    with pytest.raises(ConfigError, match=r"must return \(batch, n_tasks\)"):
        ism(PerPosition(), one_hot("ACGT")[None])
