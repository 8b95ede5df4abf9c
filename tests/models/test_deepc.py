"""deepC: strip shape and geometry, training with missing targets, saving, config errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_zoo import random_one_hot

from dnalens.errors import ConfigError, SequenceError
from dnalens.models import build_model, load_model, save_model
from dnalens.models.deepc import DeepC, strip_pairs

# 8,192 bp at 128 bp resolution: 64 bins, a 32-bin strip; stem pools 8 x 8 -> 128 positions.
SMALL = {
    "input_length": 8192,
    "band_bins": 32,
    "bin_size": 128,
    "conv_channels": (8, 8),
    "kernel_sizes": (8, 4),
    "pool_sizes": (8, 8),
    "channels": 8,
    "dilations": (1, 2, 4),
    "dropout": 0.0,
}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from threads, and lose a lot when other work shares the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small(seed: int = 0, **params) -> DeepC:
    torch.manual_seed(seed)
    model = build_model("deepc", **{**SMALL, **params})
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def masked_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    keep = torch.isfinite(target)
    return ((pred - target.nan_to_num()) ** 2 * keep).sum() / keep.sum()


@pytest.mark.parametrize(
    ("params", "n_tasks"),
    [({}, 1), ({"pooling": "mean", "hidden": 16, "band_bins": 10, "dropout": 0.1}, 3)],
)
def test_output_is_one_strip_per_task(params, n_tasks):
    model = small(n_tasks=n_tasks, **params)
    band = params.get("band_bins", 32)
    assert (model.input_length, model.n_tasks, model.band_bins, model.bin_size) == (
        8192,
        n_tasks,
        band,
        128,
    )
    assert DeepC.output_kind == "contact_strip"
    out = model(random_one_hot(3, 8192))
    assert out.shape == (3, n_tasks, band)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


def test_trunk_and_head_compose_to_forward():
    model = small(pooling="max")
    x = random_one_hot(2, 8192, seed=1)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model.head(model.trunk(x)))


def test_strip_geometry():
    # 64 bins, centre bin 32; d = k + 1, i = 32 - d // 2, j = i + d.
    assert strip_pairs(8192, 128, 5) == [(32, 33), (31, 33), (31, 34), (30, 34), (30, 35)]
    pairs = strip_pairs(8192, 128, 64)
    assert [j - i for i, j in pairs] == list(range(1, 65))
    assert min(i for i, _ in pairs) == 0 and max(j for _, j in pairs) == 64


def test_published_size():
    with torch.device("meta"):
        model = build_model("deepc", input_length=1_010_000)
    # Pools 4 x 5 x 5 x 5 x 2 = 1,000: 1,010 positions x 100 channels flattened.
    first = next(m for m in model.head.modules() if isinstance(m, torch.nn.Linear))
    assert (first.in_features, first.out_features) == (101_000, 201)
    assert sum(p.numel() for p in model.parameters()) == 30_403_501


def test_twenty_steps_reduce_masked_mse():
    torch.manual_seed(0)
    model = build_model("deepc", n_tasks=2, **SMALL)
    x = random_one_hot(4, 8192, seed=2)
    target = torch.randn(4, 2, 32)
    target[:, 0, 20:] = float("nan")  # distances missing from one data set
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = masked_mse(model(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.5 * losses[0]


def test_save_load_round_trip(tmp_path):
    model = small(n_tasks=2, hidden=8)
    x = random_one_hot(2, 8192, seed=3)
    save_model(model, tmp_path / "deepc", tasks=["gm12878", "k562"])
    loaded = load_model(tmp_path / "deepc")
    assert isinstance(loaded, DeepC) and loaded.config == model.config
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_wrong_input_shape():
    with pytest.raises(SequenceError, match=r"\(batch, 4, 8192\).*got shape \(1, 4, 8000\)"):
        small()(random_one_hot(1, 8000))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"input_length": 4000},
            r"input_length 4000 is shorter than .* 32 x 128 = 4096; use input_length >= 4096",
        ),
        ({"conv_channels": (8, 8, 8)}, "conv_channels has 3, kernel_sizes has 2"),
        (
            {"input_length": 60, "bin_size": 1, "band_bins": 4},
            "input_length 60 is too short .* minimum input_length is 64",
        ),
        ({"pooling": "attention"}, "pooling must be one of 'flatten', 'mean', 'max'"),
        ({"dilation_kernel": 4}, "dilation_kernel must be an odd integer"),
        ({"hidden": -1}, "hidden must be an integer >= 0"),
        ({"dilations": (1, 0)}, "dilations must be positive integers"),
    ],
)
def test_bad_configs(params, message):
    with pytest.raises(ConfigError, match=message):
        build_model("deepc", **{**SMALL, **params})
