"""Enformer: the coverage contract, relative-position attention, training, save/load, errors."""

from __future__ import annotations

import pytest
import torch
from test_zoo import random_one_hot

from dnalens.errors import ConfigError, SequenceError
from dnalens.models import load_model, save_model
from dnalens.models.blocks_long import (
    AttentionPool,
    RelativeMultiHeadAttention,
    relative_position_features,
)
from dnalens.models.enformer import Enformer, tower_channels
from dnalens.models.registry import build_model


@pytest.fixture(autouse=True)
def _one_thread():
    """These models are tiny: one intra-op thread is as fast on an idle machine and avoids
    OpenMP threads spinning against each other on a busy one (100x slower training)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# A narrow Enformer that still has every part; dropout off so outputs are repeatable.
NARROW = {
    "channels": 16,
    "depth": 1,
    "heads": 2,
    "key_size": 4,
    "dropout": 0.0,
    "attention_dropout": 0.0,
    "position_dropout": 0.0,
    "final_dropout": 0.0,
}


def randomised(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights everywhere (zero-initialised projections and biases too) and
    non-default batch-norm statistics, in eval mode."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return module.eval()


def attention(seed: int = 0, **params) -> RelativeMultiHeadAttention:
    sizes = {"channels": 8, "heads": 2, "key_size": 4, "value_size": 3, "position_features": 12}
    return randomised(RelativeMultiHeadAttention(**{**sizes, **params}), seed).double()


@pytest.mark.parametrize(
    ("input_length", "bin_size", "crop_bins", "pooling", "output_bins"),
    [(2048, 128, 4, "attention", 8), (1024, 64, 2, "max", 12), (256, 8, 0, "attention", 32)],
)
def test_output_is_tasks_by_bins_and_non_negative(
    input_length, bin_size, crop_bins, pooling, output_bins
):
    model = build_model(
        "enformer",
        input_length=input_length,
        n_tasks=3,
        bin_size=bin_size,
        crop_bins=crop_bins,
        pooling=pooling,
        **NARROW,
    )
    assert isinstance(model, Enformer) and model.output_kind == "coverage"
    assert (model.input_length, model.n_tasks, model.bin_size) == (input_length, 3, bin_size)
    assert model.output_bins == output_bins
    assert (input_length - output_bins * bin_size) == 2 * crop_bins * bin_size
    out = randomised(model)(random_one_hot(2, input_length))
    assert out.shape == (2, 3, output_bins)
    assert out.dtype == torch.float32
    assert (out >= 0).all() and torch.isfinite(out).all()


def test_defaults_are_small_and_written_out():
    model = build_model("enformer", input_length=4096, n_tasks=1)
    cfg = model.config
    assert (cfg.value_size, cfg.position_features, cfg.final_channels) == (16, 12, 64)
    assert tower_channels(cfg) == (16, 16, 18, 21, 24, 28, 32)
    assert model.output_bins == 4096 // 128 - 2 * 8
    assert sum(p.numel() for p in model.parameters()) == 41_655


def test_published_layout():
    with torch.device("meta"):
        model = build_model(
            "enformer",
            input_length=196_608,
            n_tasks=5313,
            channels=1536,
            depth=11,
            heads=8,
            key_size=64,
            crop_bins=320,
            tower_divisible_by=128,
        )
    assert tower_channels(model.config) == (768, 768, 896, 1024, 1152, 1280, 1536)
    assert (model.config.value_size, model.config.position_features) == (192, 192)
    assert model.output_bins == 896


def test_crop_keeps_the_central_bins():
    x = random_one_hot(2, 1024, seed=1).double()
    full = randomised(
        build_model("enformer", input_length=1024, n_tasks=2, bin_size=64, crop_bins=0, **NARROW)
    ).double()
    cropped = build_model(
        "enformer", input_length=1024, n_tasks=2, bin_size=64, crop_bins=3, **NARROW
    ).double()
    cropped.load_state_dict(full.state_dict())  # the crop has no weights
    cropped.eval()
    with torch.no_grad():
        expected = full(x)[..., 3:-3]
        torch.testing.assert_close(cropped(x), expected, rtol=1e-12, atol=1e-12)
        assert not torch.allclose(expected, full(x)[..., 2:-4])


def test_each_output_bin_sees_the_whole_input():
    # The transformer mixes all bins: one base in the cropped flank moves every output bin.
    model = randomised(
        build_model("enformer", input_length=1024, n_tasks=1, bin_size=64, crop_bins=4, **NARROW)
    ).double()
    x = random_one_hot(1, 1024, seed=2).double()
    y = x.clone()
    y[0, :, 3] = torch.roll(y[0, :, 3], 1)
    with torch.no_grad():
        assert ((model(y) - model(x)).abs() > 0).all()


# ---------------------------------------------------------------------------------------------
# Relative positions
# ---------------------------------------------------------------------------------------------


def test_position_features_are_even_then_odd_in_the_distance():
    f = relative_position_features(10, 18)
    assert f.shape == (19, 18) and f.dtype == torch.float32
    even, odd = f[:, :9], f[:, 9:]
    torch.testing.assert_close(even, even.flip(0))  # row r <-> distance r - 9
    torch.testing.assert_close(odd, -odd.flip(0))
    torch.testing.assert_close(odd, torch.sign(torch.arange(-9.0, 10.0))[:, None] * even)
    # Distance 0: exponentials and central masks are 1.
    torch.testing.assert_close(even[9, :6], torch.ones(6))
    # Central masks |d| < 1, 3, 7: at distance 2 only the last two are on.
    torch.testing.assert_close(even[9 + 2, 3:6], torch.tensor([0.0, 1.0, 1.0]))
    # Exponentials decay with the distance.
    assert (even[10:, :3].diff(dim=0) < 0).all()


def test_attention_logits_match_a_loop_over_query_key_pairs():
    module = attention()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    logits = module.attention_logits(x)
    rel = module.relative_keys(5)  # (heads, 9, key_size), row 4 + (j - i)
    q = module.to_q(x).reshape(2, 5, 2, 4) / 2.0  # key_size ** -0.5
    k = module.to_k(x).reshape(2, 5, 2, 4)
    expected = torch.empty(2, 2, 5, 5, dtype=torch.float64)
    for b in range(2):
        for h in range(2):
            for i in range(5):
                for j in range(5):
                    content = (q[b, i, h] + module.content_bias[h, 0]) @ k[b, j, h]
                    position = (q[b, i, h] + module.position_bias[h, 0]) @ rel[h, 4 + j - i]
                    expected[b, h, i, j] = content + position
    torch.testing.assert_close(logits, expected)


def test_position_term_depends_only_on_the_distance():
    # With no query/key weights the logits are v_h . r_(j - i): a Toeplitz matrix per head.
    module = attention()
    with torch.no_grad():
        module.to_q.weight.zero_()
        module.to_k.weight.zero_()
    logits = module.attention_logits(torch.randn(1, 7, 8, dtype=torch.float64))[0]
    for s in range(1, 7):
        torch.testing.assert_close(logits[:, s:, s:], logits[:, :-s, :-s])
    assert not torch.allclose(logits[:, 0, 1], logits[:, 0, 2])  # it does vary with distance
    assert not torch.allclose(logits[:, 0, 1], logits[:, 1, 0])  # and with its sign


def test_attention_is_translation_equivariant():
    # For a periodic input, x[i + 3] = x[i], logits[i + 3, j + 3] = logits[i, j] for all i, j:
    # nothing in the logits depends on absolute position.
    module = attention(seed=1)
    period = torch.randn(1, 3, 8, dtype=torch.float64)
    x = period.repeat(1, 4, 1)  # 12 positions
    logits = module.attention_logits(x)
    torch.testing.assert_close(logits[..., 3:, 3:], logits[..., :-3, :-3])
    # The same check fails for an absolute (learned per position) bias.
    absolute = logits + torch.randn(12, 12, dtype=torch.float64)
    assert not torch.allclose(absolute[..., 3:, 3:], absolute[..., :-3, :-3])


def test_attention_takes_any_number_of_positions():
    module = attention()
    for n in (1, 4, 33):
        assert module(torch.randn(2, n, 8, dtype=torch.float64)).shape == (2, n, 8)


def test_attention_pool_weights_the_larger_value():
    pool = AttentionPool(1)
    x = torch.tensor([[[0.0, 1.0, 2.0, 2.0]]])
    # softmax(2 * [0, 1]) = [1, e^2] / (1 + e^2); equal values average to themselves.
    w = torch.exp(torch.tensor(2.0)) / (1 + torch.exp(torch.tensor(2.0)))
    torch.testing.assert_close(pool(x), torch.stack([w, torch.tensor(2.0)])[None, None])
    with torch.no_grad():
        pool.weight.zero_()
    torch.testing.assert_close(pool(x), torch.tensor([[[0.5, 2.0]]]))  # average pooling


# ---------------------------------------------------------------------------------------------
# Training, save/load, errors
# ---------------------------------------------------------------------------------------------


def test_poisson_loss_goes_down_on_a_fixed_batch():
    torch.manual_seed(0)
    model = build_model(
        "enformer", input_length=1024, n_tasks=2, bin_size=64, crop_bins=4, **NARROW
    )
    x = random_one_hot(4, 1024, seed=4)
    gc = x[:, 1:3].sum(dim=1).reshape(4, 16, 64).sum(dim=-1)[:, 4:12] / 8
    target = torch.stack([gc, 2 * gc], dim=1)
    loss_fn = torch.nn.PoissonNLLLoss(log_input=False)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    losses = []
    for _ in range(20):
        optimiser.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    # Without the log(target!) term the loss can go below zero, so compare differences.
    assert losses[-1] < losses[0] - 0.5, losses


def test_save_load_round_trip(tmp_path):
    model = randomised(
        build_model("enformer", input_length=1024, n_tasks=2, bin_size=64, crop_bins=2, **NARROW),
        seed=5,
    )
    save_model(model, tmp_path / "run", tasks=["dnase", "cage"])
    loaded = load_model(tmp_path / "run")
    assert type(loaded) is Enformer and loaded.config == model.config
    x = random_one_hot(2, 1024, seed=6)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_wrong_input_length_is_a_sequence_error():
    model = build_model("enformer", input_length=1024, n_tasks=1, bin_size=64, crop_bins=2)
    with pytest.raises(SequenceError, match=r"\(batch, 4, 1024\).*got shape \(1, 4, 2048\)"):
        model(random_one_hot(1, 2048))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"input_length": 2000},
            r"input_length 2000 must be a multiple of bin_size 128 "
            r"\(e\.g\. 1920 or 2048\)",
        ),
        (
            {"crop_bins": 8},
            r"crop_bins 8 per side leaves no output bins: input_length 2048 / "
            r"bin_size 128 = 16 bins, so crop_bins must be at most 7",
        ),
        ({"bin_size": 96}, "bin_size must be a power of two .* got 96; use 64 or 128"),
        ({"position_features": 8}, "position_features must be a multiple of 6 .* got 8"),
        ({"tower_divisible_by": 5}, "channels 32 must be a multiple of tower_divisible_by 5"),
        ({"pooling": "mean"}, "pooling must be one of 'attention', 'max', got 'mean'"),
        ({"heads": 64}, "heads 64 is more than channels 32"),
        ({"depth": -1}, "depth must be an integer >= 0, got -1"),
        ({"tower_kernel": 4}, "tower_kernel must be an odd positive integer"),
    ],
)
def test_bad_configs_are_config_errors(params, message):
    base = {"input_length": 2048, "n_tasks": 2, "crop_bins": 4}
    with pytest.raises(ConfigError, match=f"Enformer: {message}"):
        build_model("enformer", **{**base, **params})
