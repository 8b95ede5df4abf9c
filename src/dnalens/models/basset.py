"""Basset (Kelley, Snoek & Rinn, Genome Research 2016).

Three conv blocks (300 x 19, 200 x 11, 200 x 7 filters; batch norm, ReLU, max-pool 3 / 4 / 4)
and two 1000-unit dense layers with batch norm and dropout 0.3, then one logit per task.
With the published 600 bp input the trunk leaves 10 positions x 200 channels = 2,000
features.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from torch import Tensor, nn

from dnalens.errors import ConfigError
from dnalens.models import layers
from dnalens.models.registry import register

__all__ = ["Basset", "BassetConfig"]


@dataclass(frozen=True)
class BassetConfig:
    """Configuration of :class:`Basset`; defaults are the published architecture.

    Attributes
    ----------
    input_length : int
        Sequence length L (published: 600).
    n_tasks : int
        Number of outputs (published: 164 DNase-seq cell types).
    conv_channels : tuple of int
        Filters per conv layer.
    kernel_sizes : tuple of int
        Filter width per conv layer.
    pool_sizes : tuple of int
        Max-pooling size (and stride) per conv layer.
    hidden_sizes : tuple of int
        Width of each dense layer (Linear -> BatchNorm -> ReLU -> Dropout).
    dropout : float
        Dropout after each dense layer.
    """

    input_length: int
    n_tasks: int
    conv_channels: tuple[int, ...] = (300, 200, 200)
    kernel_sizes: tuple[int, ...] = (19, 11, 7)
    pool_sizes: tuple[int, ...] = (3, 4, 4)
    hidden_sizes: tuple[int, ...] = (1000, 1000)
    dropout: float = 0.3


@register("basset", BassetConfig)
class Basset(nn.Module):
    """Basset: (batch, 4, input_length) -> (batch, n_tasks) logits."""

    def __init__(self, config: BassetConfig) -> None:
        super().__init__()
        _validate(config)
        self.config = config

        stages: list[layers.Stage] = []
        for kernel, pool in zip(config.kernel_sizes, config.pool_sizes, strict=True):
            stages += [("conv", kernel), ("pool", pool)]
        out_length = layers.check_input_length("Basset", config.input_length, stages)

        in_channels = [4, *config.conv_channels[:-1]]
        convs = [
            layers.conv_block(c_in, c_out, kernel, pool_size=pool, batch_norm=True)
            for c_in, c_out, kernel, pool in zip(
                in_channels,
                config.conv_channels,
                config.kernel_sizes,
                config.pool_sizes,
                strict=True,
            )
        ]
        widths = [config.conv_channels[-1] * out_length, *config.hidden_sizes]
        dense = [
            layers.dense_block(n_in, n_out, dropout=config.dropout, batch_norm=True)
            for n_in, n_out in itertools.pairwise(widths)
        ]
        self.trunk = nn.Sequential(*convs, nn.Flatten(), *dense)
        self.head = nn.Linear(widths[-1], config.n_tasks)

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot -> (batch, n_tasks) logits."""
        layers.check_input(x, self.config.input_length, "Basset")
        return self.head(self.trunk(x))


def _validate(config: BassetConfig) -> None:
    layers.require_config("Basset", config, BassetConfig)
    for name in (
        "input_length",
        "n_tasks",
        "conv_channels",
        "kernel_sizes",
        "pool_sizes",
        "hidden_sizes",
    ):
        layers.require_positive("Basset", name, getattr(config, name))
    layers.require_dropout("Basset", "dropout", config.dropout)
    layers.require_same_length(
        "Basset",
        conv_channels=config.conv_channels,
        kernel_sizes=config.kernel_sizes,
        pool_sizes=config.pool_sizes,
    )
    if not config.conv_channels:
        raise ConfigError("Basset: conv_channels needs at least one conv layer, got ()")
