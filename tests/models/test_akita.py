"""Akita: shapes, the upper-triangle contract, symmetry, the 1D -> 2D step, training, saving."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_zoo import random_one_hot

from dnalens.errors import ConfigError, SequenceError
from dnalens.models import build_model, load_model, save_model
from dnalens.models.akita import Akita
from dnalens.models.blocks_contact import OneToTwo, dilation_schedule

# 2**14 bp in 512 bp bins: 32 bins; small widths so a forward pass takes milliseconds.
SMALL = {
    "input_length": 2**14,
    "bin_size": 512,
    "crop_bins": 4,
    "stem_channels": 8,
    "tower_channels": 8,
    "residual_channels": 4,
    "residual_repeat": 2,
    "trunk_channels": 6,
    "channels_2d": 8,
    "residual_channels_2d": 4,
    "residual_repeat_2d": 2,
    "residual_dropout": 0.0,
    "residual_dropout_2d": 0.0,
}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from threads, and lose a lot when other work shares the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small(seed: int = 0, **params) -> Akita:
    """A small Akita with random weights and non-default batch-norm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = build_model("akita", **{**SMALL, **params})
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                module.weight.uniform_(0.5, 1.5)  # zero-initialised gammas would hide branches
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def masked_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    keep = torch.isfinite(target)
    return ((pred - target.nan_to_num()) ** 2 * keep).sum() / keep.sum()


@pytest.mark.parametrize(
    ("params", "n_tasks", "map_bins", "offset"),
    [
        ({}, 5, 24, 2),  # 32 bins - 2 x 4 cropped
        (
            {"bin_size": 256, "crop_bins": 10, "one_to_two": "concat", "diagonal_offset": 0},
            2,
            44,
            0,
        ),
    ],
)
def test_output_is_the_upper_triangle(params, n_tasks, map_bins, offset):
    model = small(n_tasks=n_tasks, **params)
    n_pairs = len(np.triu_indices(map_bins, k=offset)[0])
    assert (model.map_bins, model.diagonal_offset, model.n_pairs) == (map_bins, offset, n_pairs)
    assert (model.input_length, model.n_tasks) == (2**14, n_tasks)
    assert model.bin_size == params.get("bin_size", 512)
    assert Akita.output_kind == "contact_map"
    out = model(random_one_hot(3, 2**14))
    assert out.shape == (3, n_tasks, n_pairs)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


def test_published_defaults():
    with torch.device("meta"):
        model = build_model("akita")
    # 1,048,576 / 2,048 = 512 bins, 448 after cropping 32 per side; 446 x 447 / 2 pairs.
    assert (model.input_length, model.n_tasks, model.bin_size) == (1_048_576, 5, 2048)
    assert (model.map_bins, model.n_pairs) == (448, 99_681)
    assert sum(p.numel() for p in model.parameters()) == 746_149
    pools = [m for m in model.trunk.trunk_1d.modules() if isinstance(m, torch.nn.MaxPool1d)]
    assert len(pools) == 11  # 2 ** 11 = 2,048
    assert dilation_schedule(8, 1.75) == (1, 2, 3, 5, 9, 16, 29, 50)
    assert dilation_schedule(6, 1.75) == (1, 2, 3, 5, 9, 16)


def test_triangle_order_is_numpy_triu_indices():
    model = small()
    x = random_one_hot(2, 2**14, seed=1)
    with torch.no_grad():
        full = model.head.conv(model.trunk(x))  # (batch, tasks, map_bins, map_bins)
        out = model(x)
    rows, cols = np.triu_indices(model.map_bins, k=2)
    torch.testing.assert_close(out, full[..., rows, cols], rtol=0, atol=0)
    assert [(int(i), int(j)) for i, j in zip(*model.triu_indices(), strict=True)] == list(
        zip(rows.tolist(), cols.tolist(), strict=True)
    )


def test_to_matrix_is_symmetric_with_nan_on_excluded_diagonals():
    model = small()
    with torch.no_grad():
        out = model(random_one_hot(2, 2**14, seed=2))
    maps = model.to_matrix(out)
    assert maps.shape == (2, 5, 24, 24)
    torch.testing.assert_close(maps, maps.transpose(-1, -2), equal_nan=True, rtol=0, atol=0)
    i, j = np.indices((24, 24))
    excluded = torch.as_tensor(np.abs(i - j) < 2)
    assert torch.isnan(maps).eq(excluded).all()  # NaN exactly on the 3 central diagonals
    rows, cols = np.triu_indices(24, k=2)
    torch.testing.assert_close(maps[..., rows, cols], out, rtol=0, atol=0)
    torch.testing.assert_close(maps[..., cols, rows], out, rtol=0, atol=0)
    assert model.to_matrix(out, fill=0.0)[..., excluded].eq(0).all()
    # Numbered entries land at (rows[k], cols[k]) and its mirror.
    k = torch.arange(model.n_pairs, dtype=torch.float32)
    numbered = model.to_matrix(k[None, None])[0, 0]
    assert numbered[rows[7], cols[7]] == numbered[cols[7], rows[7]] == 7
    with pytest.raises(SequenceError, match=r"expected a tensor of shape \(batch, 5, 253\)"):
        model.to_matrix(out[..., :-1])


@pytest.mark.parametrize("one_to_two", ["mean", "concat"])
def test_2d_features_are_symmetric_inside_the_model(one_to_two):
    # Symmetrising after every 2D block keeps the whole 2D stack symmetric, also in training
    # mode (dropout masks are symmetrised too).
    model = small(one_to_two=one_to_two, residual_dropout_2d=0.3).train()
    z = model.trunk(random_one_hot(2, 2**14, seed=3))
    torch.testing.assert_close(z, z.transpose(-1, -2), rtol=0, atol=0)


def test_one_to_two_pairs_every_two_bins():
    x = torch.arange(2 * 3 * 5, dtype=torch.float32).reshape(2, 3, 5)
    mean = OneToTwo("mean")(x)
    concat = OneToTwo("concat")(x)
    assert mean.shape == (2, 3, 5, 5) and concat.shape == (2, 6, 5, 5)
    for i in range(5):
        for j in range(5):
            torch.testing.assert_close(mean[..., i, j], (x[..., i] + x[..., j]) / 2)
            torch.testing.assert_close(concat[..., i, j], torch.cat([x[..., i], x[..., j]], 1))


def test_swapping_two_trunk_bins_swaps_rows_and_columns_of_the_map():
    # With 1 x 1 kernels in the 2D stack and the |i - j| channel switched off, every map entry
    # (a, b) is a function of trunk bins a and b alone, so swapping two trunk bins (patched in
    # with a forward hook) must swap those rows and columns of the map, end to end through
    # forward() and the triangle gather. Bins 5 and 11 lie inside the crop (4 .. 27).
    model = small(residual_kernel=1, crop_bins=4)
    with torch.no_grad():
        model.trunk.conv_2d.conv.weight[:, -1] = 0  # the distance channel
    x = random_one_hot(2, 2**14, seed=4)
    perm = torch.arange(32)
    perm[5], perm[11] = 11, 5

    with torch.no_grad():
        full = model.head.conv(model.trunk(x))  # unpatched (batch, tasks, 24, 24)
        handle = model.trunk.trunk_1d.register_forward_hook(lambda m, i, out: out[..., perm])
        try:
            patched = model(x)
        finally:
            handle.remove()
    map_perm = perm[4:28] - 4  # the swap in map coordinates: 1 <-> 7
    expected = full[..., map_perm, :][..., :, map_perm]
    rows, cols = np.triu_indices(24, k=2)
    torch.testing.assert_close(patched, expected[..., rows, cols], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(patched, full[..., rows, cols])  # the swap did change something


def test_twenty_steps_reduce_masked_mse():
    torch.manual_seed(0)
    model = build_model("akita", n_tasks=2, **SMALL)
    x = random_one_hot(4, 2**14, seed=5)
    rows, cols = model.triu_indices()
    # Contacts that fall with distance (learnable through the |i - j| channel), plus noise.
    decay = -torch.log((cols - rows).float())
    target = decay + 0.3 * torch.randn(
        4, 2, model.n_pairs, generator=torch.Generator().manual_seed(0)
    )
    target[:, :, ::7] = float("nan")  # unmeasured pixels: no loss there
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = masked_mse(model(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.3 * losses[0]


def test_save_load_round_trip(tmp_path):
    model = small(one_to_two="concat", n_tasks=2)
    x = random_one_hot(2, 2**14, seed=6)
    save_model(model, tmp_path / "akita", tasks=["hic", "microc"])
    loaded = load_model(tmp_path / "akita")
    assert isinstance(loaded, Akita) and loaded.config == model.config
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_wider_pools_reach_the_same_bins_with_fewer_blocks():
    # 512 bp bins: stem pool 8, then one tower block pooling 64; the published 2 and 2 need 9.
    wide = small(stem_pool=8, tower_pool=64)
    pools = [m.kernel_size for m in wide.trunk.trunk_1d.modules()
             if isinstance(m, torch.nn.MaxPool1d)]
    assert pools == [8, 64]
    assert len([m for m in small().trunk.trunk_1d.modules()
                if isinstance(m, torch.nn.MaxPool1d)]) == 9
    assert wide(random_one_hot(2, 2**14)).shape == small()(random_one_hot(2, 2**14)).shape
    assert small(stem_pool=512).trunk.trunk_1d[0].pool.kernel_size == 512  # no tower block


def test_wrong_input_shape():
    model = small()
    with pytest.raises(SequenceError, match=r"\(batch, 4, 16384\).*got shape \(1, 4, 16383\)"):
        model(random_one_hot(1, 2**14 - 1))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"input_length": 2**14 + 100},
            "input_length 16484 is not a multiple of bin_size 512; use 16384 or 16896",
        ),
        (
            {"crop_bins": 15},
            r"crop_bins 15 is too big: 32 bins - 2 x 15 leaves 2 map bins.*"
            "crop_bins can be at most 14",
        ),
        ({"bin_size": 384}, "bin_size must be a power of two >= 2"),
        ({"one_to_two": "sum"}, "one_to_two must be one of 'mean', 'concat', got 'sum'"),
        ({"tower_kernel": 4}, "tower_kernel must be an odd integer"),
        ({"diagonal_offset": -1}, "diagonal_offset must be an integer >= 0, got -1"),
        ({"residual_dropout": 1.0}, r"residual_dropout must be in \[0, 1\)"),
        ({"dilation_mult": 0.5}, "dilation_mult must be a number >= 1"),
        ({"stem_pool": 8, "tower_pool": 16}, "bin_size 512 is not stem_pool 8 times a power "
                                             "of tower_pool 16"),
        ({"stem_pool": 1024}, "bin_size 512 is not stem_pool 1024"),
        ({"tower_pool": 0}, "tower_pool must be a positive integer"),
    ],
)
def test_bad_configs(params, message):
    with pytest.raises(ConfigError, match=message):
        build_model("akita", **{**SMALL, **params})
