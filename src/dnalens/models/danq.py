"""DanQ (Quang & Xie, Nucleic Acids Research 2016).

One convolution (320 filters of width 26), max-pool 13, dropout 0.2, a bidirectional LSTM
(320 units each way) over the pooled positions, dropout 0.5, then a 925-unit dense layer and
one logit per task. With the published 1000 bp input the LSTM sees 75 positions and the
flattened output has 75 x 640 = 48,000 features.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from dnalens.models import layers
from dnalens.models.registry import register

__all__ = ["DanQ", "DanQConfig"]


@dataclass(frozen=True)
class DanQConfig:
    """Configuration of :class:`DanQ`; defaults are the published architecture.

    Attributes
    ----------
    input_length : int
        Sequence length L (published: 1000).
    n_tasks : int
        Number of outputs (published: 919, the DeepSEA targets).
    conv_channels : int
        Number of conv filters.
    kernel_size : int
        Filter width.
    pool_size : int
        Max-pooling size (and stride) after the convolution.
    conv_dropout : float
        Dropout after pooling.
    lstm_hidden : int
        LSTM units in each direction.
    lstm_dropout : float
        Dropout on the LSTM outputs.
    hidden : int
        Width of the dense layer before the output.
    """

    input_length: int
    n_tasks: int
    conv_channels: int = 320
    kernel_size: int = 26
    pool_size: int = 13
    conv_dropout: float = 0.2
    lstm_hidden: int = 320
    lstm_dropout: float = 0.5
    hidden: int = 925


@register("danq", DanQConfig)
class DanQ(nn.Module):
    """DanQ: (batch, 4, input_length) -> (batch, n_tasks) logits."""

    def __init__(self, config: DanQConfig) -> None:
        super().__init__()
        _validate(config)
        self.config = config

        stages: list[layers.Stage] = [("conv", config.kernel_size), ("pool", config.pool_size)]
        out_length = layers.check_input_length("DanQ", config.input_length, stages)

        self.trunk = nn.Sequential(
            layers.conv_block(
                4,
                config.conv_channels,
                config.kernel_size,
                pool_size=config.pool_size,
                dropout=config.conv_dropout,
            ),
            layers.BiLSTM(config.conv_channels, config.lstm_hidden),  # -> (batch, L', 2H)
            nn.Dropout(config.lstm_dropout),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(out_length * 2 * config.lstm_hidden, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, config.n_tasks),
        )

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot -> (batch, n_tasks) logits."""
        layers.check_input(x, self.config.input_length, "DanQ")
        return self.head(self.trunk(x))


def _validate(config: DanQConfig) -> None:
    layers.require_config("DanQ", config, DanQConfig)
    for name in (
        "input_length",
        "n_tasks",
        "conv_channels",
        "kernel_size",
        "pool_size",
        "lstm_hidden",
        "hidden",
    ):
        layers.require_positive("DanQ", name, getattr(config, name))
    layers.require_dropout("DanQ", "conv_dropout", config.conv_dropout)
    layers.require_dropout("DanQ", "lstm_dropout", config.lstm_dropout)
