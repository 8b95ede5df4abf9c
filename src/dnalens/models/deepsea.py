"""DeepSEA (Zhou & Troyanskaya, Nature Methods 2015).

Three valid convolutions (320, 480, 960 filters of width 8) with max-pooling by 4 after the
first two, dropout 0.2 / 0.2 / 0.5, then a 925-unit dense layer and one logit per task.
With the published input of 1000 bp the trunk leaves 53 positions x 960 channels = 50,880
features, and the full model has about 52.8 million parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from dnalens.errors import ConfigError
from dnalens.models import layers
from dnalens.models.registry import register

__all__ = ["DeepSEA", "DeepSEAConfig"]


@dataclass(frozen=True)
class DeepSEAConfig:
    """Configuration of :class:`DeepSEA`; defaults are the published architecture.

    Attributes
    ----------
    input_length : int
        Sequence length L (published: 1000).
    n_tasks : int
        Number of outputs (published: 919 chromatin profiles).
    conv_channels : tuple of int
        Filters per conv layer; every layer but the last is followed by max-pooling.
    kernel_size : int
        Width of every convolution.
    pool_size : int
        Max-pooling size (and stride) after each conv layer but the last.
    dropouts : tuple of float
        Dropout after each conv layer (one per entry of ``conv_channels``).
    hidden : int
        Width of the dense layer before the output.
    batch_norm : bool
        Batch norm after each convolution. Not in the paper (False by default);
        it makes small models train in a few epochs where the plain stack can sit
        at the base rate for many.
    """

    input_length: int
    n_tasks: int
    conv_channels: tuple[int, ...] = (320, 480, 960)
    kernel_size: int = 8
    pool_size: int = 4
    dropouts: tuple[float, ...] = (0.2, 0.2, 0.5)
    hidden: int = 925
    batch_norm: bool = False


@register("deepsea", DeepSEAConfig)
class DeepSEA(nn.Module):
    """DeepSEA: (batch, 4, input_length) -> (batch, n_tasks) logits."""

    def __init__(self, config: DeepSEAConfig) -> None:
        super().__init__()
        _validate(config)
        self.config = config

        n = len(config.conv_channels)
        pools = [config.pool_size] * (n - 1) + [1]  # the last conv is not pooled
        stages: list[layers.Stage] = []
        for pool in pools:
            stages.append(("conv", config.kernel_size))
            stages.append(("pool", pool))
        out_length = layers.check_input_length("DeepSEA", config.input_length, stages)

        in_channels = [4, *config.conv_channels[:-1]]
        self.trunk = nn.Sequential(
            *(
                layers.conv_block(
                    c_in,
                    c_out,
                    config.kernel_size,
                    pool_size=pool,
                    dropout=p,
                    batch_norm=config.batch_norm,
                )
                for c_in, c_out, pool, p in zip(
                    in_channels, config.conv_channels, pools, config.dropouts, strict=True
                )
            ),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(config.conv_channels[-1] * out_length, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, config.n_tasks),
        )

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot -> (batch, n_tasks) logits."""
        layers.check_input(x, self.config.input_length, "DeepSEA")
        return self.head(self.trunk(x))


def _validate(config: DeepSEAConfig) -> None:
    layers.require_config("DeepSEA", config, DeepSEAConfig)
    for name in ("input_length", "n_tasks", "conv_channels", "kernel_size", "pool_size", "hidden"):
        layers.require_positive("DeepSEA", name, getattr(config, name))
    layers.require_dropout("DeepSEA", "dropouts", config.dropouts)
    layers.require_same_length(
        "DeepSEA", conv_channels=config.conv_channels, dropouts=config.dropouts
    )
    if not config.conv_channels:
        raise ConfigError("DeepSEA: conv_channels needs at least one conv layer, got ()")
