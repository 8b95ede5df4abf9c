"""Every model family: output shapes, config validation, input checks, published sizes."""

from __future__ import annotations

import pytest
import torch

from dnalens.errors import ConfigError, SequenceError
from dnalens.models import build_model, model_names

# Small versions of each family, so the whole zoo runs on a CPU in seconds. Shared with
# test_store.py; a new family must add an entry here (see the coverage test below).
SMALL: dict[str, dict] = {
    "neuron": {},
    "mlp": {"hidden_sizes": (8,)},
    "kmer": {"k": 3},
    "deepsea": {"conv_channels": (6, 6, 6), "kernel_size": 5, "pool_size": 2, "hidden": 8},
    "basset": {
        "conv_channels": (6, 6, 6),
        "kernel_sizes": (5, 3, 3),
        "pool_sizes": (2, 2, 2),
        "hidden_sizes": (8, 8),
    },
    "danq": {"conv_channels": 6, "kernel_size": 5, "pool_size": 4, "lstm_hidden": 4, "hidden": 8},
    # Sequence-to-sequence: (batch, 4, L + context) -> (batch, 3, L); tested in test_spliceai.py.
    "spliceai": {"context": 20, "kernel_sizes": (3, 3, 5), "dilations": (1, 2, 1), "channels": 6},
    # Contact maps: (batch, 4, L) -> (batch, n_tasks, n_pairs); tested in test_akita.py.
    "akita": {
        "bin_size": 4,
        "crop_bins": 1,
        "stem_channels": 4,
        "tower_channels": 4,
        "residual_channels": 2,
        "residual_repeat": 1,
        "trunk_channels": 4,
        "channels_2d": 4,
        "residual_channels_2d": 2,
        "residual_repeat_2d": 1,
    },
    # Contact strips: (batch, 4, L) -> (batch, n_tasks, band_bins); tested in test_deepc.py.
    "deepc": {
        "band_bins": 4,
        "bin_size": 8,
        "conv_channels": (6,),
        "kernel_sizes": (5,),
        "pool_sizes": (2,),
        "channels": 6,
        "dilations": (1, 2),
    },
    # Coverage: (batch, 4, L) -> (batch, n_tasks, bins); tested in test_basenji/enformer.py.
    "basenji": {"bin_size": 8, "crop_bins": 1, "channels": 6, "n_dilated": 1},
    "enformer": {"bin_size": 8, "crop_bins": 1, "channels": 8, "depth": 1, "heads": 2,
                 "key_size": 4},
    "pair": {"conv_channels": 6, "kernel_size": 5, "pool_size": 4, "lstm_hidden": 4, "hidden": 8},
    # Both strands averaged around an inner model; tested in test_strands.py.
    "both_strands": {"model": "mlp", "params": {"hidden_sizes": [8]}},
    "ensemble": {
        "members": (
            {"name": "neuron", "config": {"input_length": 40, "n_tasks": 3}},
            {"name": "mlp", "config": {"input_length": 40, "n_tasks": 3, "hidden_sizes": [8]}},
        )
    },
}

# Shortest input each small conv stack accepts, worked out by hand:
# deepsea: conv5 pool2 conv5 pool2 conv5 -> 1 <- 5 <- 10 <- 14 <- 28 <- 32
# basset: conv5 pool2 conv3 pool2 conv3 pool2 -> 1 <- 2 <- 4 <- 8 <- 10 <- 20 <- 24
# danq: conv5 pool4 -> 1 <- 4 <- 8
MIN_LENGTH = {"deepsea": 32, "basset": 24, "danq": 8, "kmer": 3}


# Families whose output is not (batch, n_tasks) or whose input length is not fixed.
NOT_FLAT = {"akita", "basenji", "deepc", "enformer", "ensemble", "spliceai"}


def small_model(name: str, input_length: int = 40, n_tasks: int = 3) -> torch.nn.Module:
    if name == "ensemble":
        return build_model(name, **SMALL[name])
    if name == "spliceai":
        return build_model(name, output_length=input_length - 20, n_tasks=n_tasks, **SMALL[name])
    return build_model(name, input_length=input_length, n_tasks=n_tasks, **SMALL[name])


def random_one_hot(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (batch, length), generator=g)
    return torch.nn.functional.one_hot(codes, 4).transpose(1, 2).float()


def test_every_registered_model_has_a_small_config():
    assert sorted(SMALL) == model_names()


@pytest.mark.parametrize("name", sorted(set(SMALL) - NOT_FLAT))
@pytest.mark.parametrize("length", [40, 64])
def test_output_is_batch_by_tasks_logits(name, length):
    model = small_model(name, input_length=length, n_tasks=3)
    out = model(random_one_hot(5, length))
    assert out.shape == (5, 3)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(set(SMALL) - {"ensemble", "both_strands"}))
def test_trunk_and_head_compose_to_forward(name):
    model = small_model(name).eval()
    x = random_one_hot(2, 40)
    # KmerLogistic has no trunk: its features are counts, not a learned layer.
    expected = model.linear(model.featurize(x)) if name == "kmer" else model.head(model.trunk(x))
    torch.testing.assert_close(model(x), expected)


@pytest.mark.parametrize("name", sorted(MIN_LENGTH))
def test_too_short_input_length_states_the_minimum(name):
    need = MIN_LENGTH[name]
    small_model(name, input_length=need)  # the minimum itself builds
    with pytest.raises(
        ConfigError, match=rf"input_length {need - 1} .*minimum input_length is {need}"
    ):
        small_model(name, input_length=need - 1)


@pytest.mark.parametrize("name", sorted(set(SMALL) - {"spliceai"}))
def test_wrong_input_shape_names_expected_and_got(name):
    model = small_model(name)
    with pytest.raises(SequenceError, match=r"\(batch, 4, 40\).*got shape \(2, 4, 39\)"):
        model(random_one_hot(2, 39))
    with pytest.raises(SequenceError, match=r"got shape \(2, 5, 40\)"):
        model(torch.zeros(2, 5, 40))


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("deepsea", {"dropouts": (0.2, 0.2)}, "conv_channels has 3, dropouts has 2"),
        ("deepsea", {"hidden": 0}, "hidden must be a positive integer, got 0"),
        ("basset", {"pool_sizes": (3, 4)}, "pool_sizes has 2"),
        ("danq", {"lstm_dropout": 1.5}, r"lstm_dropout must be in \[0, 1\)"),
        ("mlp", {"hidden_sizes": (8, -1)}, "hidden_sizes must be positive"),
        ("kmer", {"k": 9}, "k must be between 1 and 8"),
        ("neuron", {"n_tasks": 0}, "n_tasks must be a positive integer"),
    ],
)
def test_bad_hyperparameters_are_config_errors(name, params, message):
    base = {"input_length": 100, "n_tasks": 2}
    with pytest.raises(ConfigError, match=message):
        build_model(name, **{**base, **params})


def test_model_rejects_config_of_another_family():
    from dnalens.models import DeepSEA, NeuronConfig

    with pytest.raises(ConfigError, match="config must be a DeepSEAConfig, got NeuronConfig"):
        DeepSEA(NeuronConfig(input_length=10, n_tasks=1))


@pytest.mark.parametrize(
    ("name", "length", "n_tasks", "flat_features", "n_params"),
    [
        # Sizes from the papers: DeepSEA 50,880 -> 925; DanQ 75 x 640 = 48,000 -> 925;
        # Basset 10 x 200 = 2,000 -> 1000.
        ("deepsea", 1000, 919, 50_880, 52_843_119),
        ("danq", 1000, 919, 48_000, 46_929_039),
        ("basset", 600, 164, 2_000, 4_135_064),
    ],
)
def test_defaults_are_the_published_architectures(name, length, n_tasks, flat_features, n_params):
    # The meta device allocates nothing, so the full-size models cost no time or memory.
    with torch.device("meta"):
        model = build_model(name, input_length=length, n_tasks=n_tasks)
    first_dense = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert first_dense.in_features == flat_features
    assert sum(p.numel() for p in model.parameters()) == n_params


def test_models_train_one_step():
    # Gradients reach the first layer of every family (no detached branch).
    for name in sorted(set(SMALL) - {"ensemble", "kmer"}):
        model = small_model(name)
        loss = model(random_one_hot(4, 40)).sum()
        loss.backward()
        first = next(p for p in model.parameters())
        assert first.grad is not None and first.grad.abs().sum() > 0, name
