"""Basenji: the coverage contract, centred bins, receptive field, training, save/load, errors."""

from __future__ import annotations

import pytest
import torch
from test_zoo import random_one_hot

from dnalens.errors import ConfigError, SequenceError
from dnalens.models import load_model, save_model
from dnalens.models.basenji import Basenji, dilations, tower_channels
from dnalens.models.registry import build_model


@pytest.fixture(autouse=True)
def _one_thread():
    """These models are tiny: one intra-op thread is as fast on an idle machine and avoids
    OpenMP threads spinning against each other on a busy one (100x slower training)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# A narrow Basenji that still has every part (stem, tower, dilated blocks, crop, final).
NARROW = {"channels": 8, "tower_growth": 1.25, "n_dilated": 2, "dropout": 0.0}


def randomised(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights everywhere (the zero-initialised residual convs too) and non-default
    batch-norm statistics, in eval mode."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * (0.3 if name.endswith("weight") else 0.1))
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.mark.parametrize(
    ("input_length", "bin_size", "crop_bins", "output_bins"),
    [(2048, 128, 4, 8), (1024, 64, 2, 12), (512, 8, 0, 64)],
)
def test_output_is_tasks_by_bins_and_non_negative(input_length, bin_size, crop_bins, output_bins):
    model = build_model(
        "basenji",
        input_length=input_length,
        n_tasks=3,
        bin_size=bin_size,
        crop_bins=crop_bins,
        **NARROW,
    )
    assert isinstance(model, Basenji) and model.output_kind == "coverage"
    assert (model.input_length, model.n_tasks, model.bin_size) == (input_length, 3, bin_size)
    assert model.output_bins == output_bins
    # Centred: the bp left out are split equally between both ends.
    assert (input_length - output_bins * bin_size) == 2 * crop_bins * bin_size
    out = randomised(model)(random_one_hot(2, input_length))
    assert out.shape == (2, 3, output_bins)
    assert out.dtype == torch.float32
    assert (out >= 0).all() and torch.isfinite(out).all()


def test_defaults_are_small_and_written_out():
    model = build_model("basenji", input_length=4096, n_tasks=1)
    assert tower_channels(model.config) == (64, 75, 89, 105, 123, 145, 171)
    assert model.config.dilated_channels == 85 and model.config.final_channels == 342
    assert model.output_bins == 4096 // 128 - 2 * 8
    assert sum(p.numel() for p in model.parameters()) == 683_464


def test_published_layout():
    with torch.device("meta"):
        model = build_model(
            "basenji",
            input_length=131072,
            n_tasks=5313,
            channels=288,
            n_dilated=11,
            dilation_rate=1.5,
            dilated_channels=384,
            crop_bins=64,
            final_channels=1536,
        )
    assert tower_channels(model.config) == (288, 339, 399, 470, 554, 652, 768)
    assert dilations(model.config) == (1, 2, 2, 3, 5, 8, 11, 17, 26, 38, 58)
    assert model.output_bins == 896


def test_crop_keeps_the_central_bins():
    # float64: the 1x1 convs after the crop may sum in another order for another length.
    x = random_one_hot(2, 1024, seed=1).double()
    full = randomised(
        build_model("basenji", input_length=1024, n_tasks=2, bin_size=64, crop_bins=0, **NARROW)
    ).double()
    cropped = (
        build_model("basenji", input_length=1024, n_tasks=2, bin_size=64, crop_bins=3, **NARROW)
        .double()
        .eval()
    )
    cropped.load_state_dict(full.state_dict())  # the crop has no weights
    with torch.no_grad():
        expected = full(x)[..., 3:-3]
        torch.testing.assert_close(cropped(x), expected, rtol=1e-12, atol=1e-12)
        assert not torch.allclose(expected, full(x)[..., 2:-4])  # an off-by-one would fail


def test_receptive_field_of_a_conv_only_basenji():
    # bin 8: stem conv 15 + pool 2, then two blocks of conv 5 + pool 2, no dilated blocks.
    # Walking back from bin b: pool -> 2b..2b+1, conv 5 -> 2b-2..2b+3 (at 4 bp), pool -> 4b-4
    # ..4b+7, conv 5 -> 4b-6..4b+9 (at 2 bp), pool -> 8b-12..8b+19, conv 15 -> 8b-19..8b+26.
    # With crop_bins 8 the output starts at bin 8, which sees nothing before base 45.
    model = randomised(
        build_model(
            "basenji", input_length=256, n_tasks=2, bin_size=8, crop_bins=8, channels=6, n_dilated=0
        )
    ).double()
    x = random_one_hot(1, 256, seed=2).double()
    with torch.no_grad():
        ref = model(x)

    def changed_bins(p: int) -> set[int]:
        y = x.clone()
        y[0, :, p] = torch.roll(y[0, :, p], 1)  # another base at position p
        with torch.no_grad():
            return set(torch.nonzero((model(y) - ref).abs().amax(dim=1)[0] > 0).flatten().tolist())

    for p in (0, 20, 44, 211, 255):  # beyond every output bin's reach, both flanks
        assert changed_bins(p) == set(), p
    for p in (64, 100, 131, 191):  # inside the output region
        b = p // 8
        reach = {j - 8 for j in range(b - 4, b + 3) if 8 * j - 19 <= p <= 8 * j + 26}
        got = changed_bins(p)
        assert b - 8 in got, p  # the bin that holds p, counted from the first output bin
        assert got <= reach, (p, got, reach)


def test_dilated_blocks_widen_the_receptive_field():
    # Dilations 1, 2, 4, 8 (kernel 3) at 8 bp per position reach 1 + 2 + 4 + 8 = 15 more bins
    # on each side. Without them, base 512 reaches bins 61..66 (see the test above).
    model = randomised(
        build_model(
            "basenji",
            input_length=1024,
            n_tasks=1,
            bin_size=8,
            crop_bins=0,
            channels=6,
            n_dilated=4,
        )
    ).double()
    x = random_one_hot(1, 1024, seed=3).double()
    y = x.clone()
    y[0, :, 512] = torch.roll(y[0, :, 512], 1)
    with torch.no_grad():
        diff = (model(y) - model(x)).abs()[0, 0]
    changed = torch.nonzero(diff > 0).flatten()
    assert (changed.min().item(), changed.max().item()) == (61 - 15, 66 + 15)


def test_poisson_loss_goes_down_on_a_fixed_batch():
    torch.manual_seed(0)
    model = build_model(
        "basenji",
        input_length=1024,
        n_tasks=2,
        bin_size=64,
        crop_bins=4,
        final_dropout=0.0,
        **NARROW,
    )
    x = random_one_hot(4, 1024, seed=4)
    # A learnable target: G+C count per output bin (bins 4..11 of 16).
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
        build_model("basenji", input_length=1024, n_tasks=2, bin_size=64, crop_bins=2, **NARROW),
        seed=5,
    )
    save_model(model, tmp_path / "run", tasks=["dnase", "cage"])
    loaded = load_model(tmp_path / "run")
    assert type(loaded) is Basenji and loaded.config == model.config
    x = random_one_hot(2, 1024, seed=6)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_wrong_input_length_is_a_sequence_error():
    model = build_model("basenji", input_length=1024, n_tasks=1, bin_size=64, crop_bins=2)
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
        ({"crop_bins": -1}, "crop_bins must be an integer >= 0, got -1"),
        ({"bin_size": 100}, "bin_size must be a power of two .* got 100; use 64 or 128"),
        ({"bin_size": 1}, "bin_size must be a power of two >= 2"),
        ({"stem_kernel": 14}, "stem_kernel must be an odd positive integer"),
        ({"tower_growth": 0.9}, "tower_growth must be a number >= 1, got 0.9"),
        ({"n_dilated": -1}, "n_dilated must be an integer >= 0, got -1"),
        ({"activation": "swish"}, "activation must be one of 'gelu', 'relu', got 'swish'"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_bad_configs_are_config_errors(params, message):
    base = {"input_length": 2048, "n_tasks": 2, "crop_bins": 4}
    with pytest.raises(ConfigError, match=f"Basenji: {message}"):
        build_model("basenji", **{**base, **params})
