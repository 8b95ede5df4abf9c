"""Pair (enhancer-promoter): halves, shared and separate branches, combiners, training, saving."""

from __future__ import annotations

import pytest
import torch
from test_zoo import random_one_hot

from dnalens.errors import ConfigError, SequenceError
from dnalens.models import build_model, load_model, save_model
from dnalens.models.pair import Pair

# Two 500 bp anchors; conv 12 -> (500 - 11) // 10 = 48 positions per anchor.
SMALL = {
    "input_length": 1000,
    "conv_channels": 8,
    "kernel_size": 12,
    "pool_size": 10,
    "lstm_hidden": 6,
    "hidden": 16,
    "conv_dropout": 0.0,
    "dropout": 0.0,
}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from threads, and lose a lot when other work shares the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small(seed: int = 0, **params) -> Pair:
    torch.manual_seed(seed)
    return build_model("pair", **{**SMALL, **params}).eval()


def halves(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., :500], x[..., 500:]


@pytest.mark.parametrize(
    ("params", "n_tasks"),
    [({}, 1), ({"combiner": "dense", "shared_branch": False, "lstm_pooling": "mean"}, 3)],
)
def test_output_is_batch_by_tasks_logits(params, n_tasks):
    model = small(n_tasks=n_tasks, **params)
    assert (model.input_length, model.n_tasks, model.anchor_length) == (1000, n_tasks, 500)
    assert Pair.output_kind == "pair"
    x = random_one_hot(5, 1000)
    out = model(x)
    assert out.shape == (5, n_tasks)
    assert torch.isfinite(out).all()
    with torch.no_grad():
        torch.testing.assert_close(out, model.head(model.trunk(x)))
    enhancer, promoter = model.trunk.branch_features(x)
    assert enhancer.shape == promoter.shape == (5, 8, 48)


def test_shared_branch_gives_identical_features_for_identical_halves():
    anchor = random_one_hot(3, 500, seed=1)
    x = torch.cat([anchor, anchor], dim=-1)
    with torch.no_grad():
        enhancer, promoter = small().trunk.branch_features(x)
        torch.testing.assert_close(enhancer, promoter, rtol=0, atol=0)
        enhancer, promoter = small(shared_branch=False).trunk.branch_features(x)
    assert not torch.allclose(enhancer, promoter)  # two branches, two sets of weights


@pytest.mark.parametrize("shared", [True, False])
def test_branches_see_only_their_own_half(shared):
    model = small(combiner="dense", shared_branch=shared)
    x = random_one_hot(2, 1000, seed=2)
    y = x.clone()
    y[..., 500:] = random_one_hot(2, 500, seed=3)  # a different promoter
    with torch.no_grad():
        enh_x, prom_x = model.trunk.branch_features(x)
        enh_y, prom_y = model.trunk.branch_features(y)
        # The enhancer branch equals the branch run on the enhancer alone.
        branch = model.trunk.branch if shared else model.trunk.enhancer_branch
        torch.testing.assert_close(enh_x, branch(halves(x)[0]), rtol=0, atol=0)
        assert not torch.allclose(model(x), model(y))
    torch.testing.assert_close(enh_x, enh_y, rtol=0, atol=0)
    assert not torch.allclose(prom_x, prom_y)


@pytest.mark.parametrize("combiner", ["dense", "lstm"])
def test_swapping_anchors_acts_only_through_the_combiner(combiner):
    # With a shared branch, swapping the halves swaps the branch features exactly; any change
    # in the output therefore comes from the (order-aware) combiner.
    model = small(combiner=combiner)
    x = random_one_hot(2, 1000, seed=4)
    enhancer, promoter = halves(x)
    swapped = torch.cat([promoter, enhancer], dim=-1)
    with torch.no_grad():
        enh, prom = model.trunk.branch_features(x)
        enh_s, prom_s = model.trunk.branch_features(swapped)
        out, out_s = model(x), model(swapped)
    torch.testing.assert_close(enh_s, prom, rtol=0, atol=0)
    torch.testing.assert_close(prom_s, enh, rtol=0, atol=0)
    assert not torch.allclose(out, out_s)


def test_twenty_steps_reduce_bce():
    torch.manual_seed(0)
    model = build_model("pair", **SMALL)
    x = random_one_hot(16, 1000, seed=5)
    y = (torch.arange(16) % 2).float()[:, None]
    for start in (100, 700):  # positives carry a 20 bp poly-G in both anchors
        x[1::2, :, start : start + 20] = 0
        x[1::2, 2, start : start + 20] = 1
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.75 * losses[0]


@pytest.mark.parametrize("params", [{}, {"combiner": "dense", "shared_branch": False}])
def test_save_load_round_trip(tmp_path, params):
    model = small(**params)
    x = random_one_hot(3, 1000, seed=6)
    save_model(model, tmp_path / "pair", tasks=["interacts"])
    loaded = load_model(tmp_path / "pair")
    assert isinstance(loaded, Pair) and loaded.config == model.config
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_wrong_input_shape():
    with pytest.raises(SequenceError, match=r"\(batch, 4, 1000\).*got shape \(1, 4, 500\)"):
        small()(random_one_hot(1, 500))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"input_length": 1001}, "input_length must be even .* got 1001; use 1000 or 1002"),
        ({"combiner": "attention"}, "combiner must be one of 'lstm', 'dense', got 'attention'"),
        ({"lstm_pooling": "sum"}, "lstm_pooling must be one of 'max', 'mean'"),
        (
            {"input_length": 40},
            r"anchor_length 20 \(input_length 40 / 2\) is too short .* minimum input_length is 42",
        ),
        ({"shared_branch": 1}, "'shared_branch' must be true or false"),
        ({"conv_dropout": -0.1}, r"conv_dropout must be in \[0, 1\)"),
    ],
)
def test_bad_configs(params, message):
    with pytest.raises(ConfigError, match=message):
        build_model("pair", **{**SMALL, **params})
