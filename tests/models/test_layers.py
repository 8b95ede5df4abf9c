"""Length arithmetic, the shared input check and the small blocks in dnalens.models.layers."""

from __future__ import annotations

import pytest
import torch

from dnalens.errors import ConfigError, SequenceError
from dnalens.models import layers

# DeepSEA's published stack: three width-8 convs, pooling by 4 after the first two.
DEEPSEA_STAGES = [("conv", 8), ("pool", 4), ("conv", 8), ("pool", 4), ("conv", 8)]


def test_length_after_matches_published_deepsea():
    # 1000 -> 993 -> 248 -> 241 -> 60 -> 53 (53 x 960 = 50,880 features in the paper)
    assert layers.length_after(1000, DEEPSEA_STAGES) == 53


@pytest.mark.parametrize(
    "stages",
    [DEEPSEA_STAGES, [("conv", 26), ("pool", 13)], [("conv", 19), ("pool", 3), ("conv", 11)]],
)
def test_min_input_length_is_the_exact_threshold(stages):
    need = layers.min_input_length(stages)
    assert layers.length_after(need, stages) == 1
    assert layers.length_after(need - 1, stages) < 1


def test_check_input_length_names_the_minimum():
    # 1 <- conv8: 8 <- pool4: 32 <- conv8: 39 <- pool4: 156 <- conv8: 163
    with pytest.raises(
        ConfigError, match=r"DeepSEA: input_length 50 .*minimum input_length is 163"
    ):
        layers.check_input_length("DeepSEA", 50, DEEPSEA_STAGES)
    assert layers.check_input_length("DeepSEA", 163, DEEPSEA_STAGES) == 1


@pytest.mark.parametrize(
    "shape", [(2, 4, 9), (2, 5, 10), (4, 10), (1, 2, 4, 10)], ids=["length", "rows", "2d", "4d"]
)
def test_check_input_rejects_wrong_shapes(shape):
    match = r"`x` of Toy must have shape \(batch, 4, 10\), got shape"
    with pytest.raises(SequenceError, match=match):
        layers.check_input(torch.zeros(shape), 10, "Toy")


def test_check_input_rejects_non_tensors_and_accepts_right_shape():
    with pytest.raises(SequenceError, match="got ndarray"):
        layers.check_input(torch.zeros(1, 4, 10).numpy(), 10, "Toy")
    layers.check_input(torch.zeros(3, 4, 10), 10, "Toy")


def test_conv_block_output_length_follows_arithmetic():
    block = layers.conv_block(4, 6, 5, pool_size=3, dropout=0.1, batch_norm=True)
    out = block(torch.randn(2, 4, 40))
    assert out.shape == (2, 6, layers.pool_length(layers.conv_length(40, 5), 3))


def test_conv_block_leaves_out_unused_layers():
    block = layers.conv_block(4, 6, 5)
    assert [type(m).__name__ for m in block] == ["Conv1d", "ReLU"]


def test_bilstm_returns_one_vector_per_position():
    out = layers.BiLSTM(6, 5)(torch.randn(2, 6, 7))
    assert out.shape == (2, 7, 10)


def test_config_checks_name_the_parameter():
    with pytest.raises(ConfigError, match="Toy: hidden must be a positive integer, got 0"):
        layers.require_positive("Toy", "hidden", 0)
    with pytest.raises(ConfigError, match=r"Toy: dropouts must be in \[0, 1\), got \(0.2, 1.0\)"):
        layers.require_dropout("Toy", "dropouts", (0.2, 1.0))
    with pytest.raises(ConfigError, match="a has 2, b has 3"):
        layers.require_same_length("Toy", a=(1, 2), b=(1, 2, 3))
