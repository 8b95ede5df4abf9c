"""Basenji (Kelley et al., Genome Research 2018; Basenji2, PLOS Comp. Biol. 2020).

Predicts read coverage in bins along a long input sequence::

    x (batch, 4, input_length)
    stem        conv(channels, width 15) -> BN -> act -> max-pool 2
    tower       per block: conv(width 5) -> BN -> act -> max-pool 2, until one position is
                bin_size bp; block i has round(channels * tower_growth**(i + 1)) channels
    dilated     n_dilated residual blocks, x + drop(conv1x1(act(BN(dconv(act(BN(x))))))),
                dilation round(dilation_rate**i) for block i = 0, 1, ...
    crop        crop_bins bins from each end
    final       conv1x1(final_channels) -> BN -> act -> dropout(final_dropout)
    head        act -> per-bin linear (conv1x1) to n_tasks -> softplus
    -> (batch, n_tasks, output_bins) non-negative coverage, output_bins =
       input_length // bin_size - 2 * crop_bins

Every convolution is 'same'-padded, so output bin ``j`` covers input bases
``(crop_bins + j) * bin_size`` .. ``(crop_bins + j + 1) * bin_size`` (0-based, half-open)
and the crop is split equally between both ends.

The defaults are a small model that trains on a CPU. The published Basenji2 human model is
``input_length=131072, n_tasks=5313, bin_size=128, channels=288, tower_growth=1.1776``
(tower 339, 399, 470, 554, 652, 768 channels), ``n_dilated=11, dilation_rate=1.5``
(dilations 1, 2, 2, 3, 5, 8, 11, 17, 26, 38, 58), ``dilated_channels=384, dropout=0.3,
crop_bins=64`` (896 output bins), ``final_channels=1536, final_dropout=0.05``, GELU.

Differences from the Keras original: convolutions here are conv -> BN -> act (Basenji's
``conv_block`` is act -> conv -> BN), and BatchNorm uses PyTorch's defaults.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from torch import Tensor, nn

from dnalens.errors import ConfigError
from dnalens.models import blocks_long, layers
from dnalens.models.registry import register

__all__ = ["Basenji", "BasenjiConfig", "dilations", "tower_channels"]


@dataclass(frozen=True)
class BasenjiConfig:
    """Configuration of :class:`Basenji`; defaults are a small CPU-sized model.

    Attributes
    ----------
    input_length : int
        Sequence length in bp, a multiple of ``bin_size`` (published: 131072).
    n_tasks : int
        Number of coverage tracks (published: 5313 human, 1643 mouse).
    bin_size : int
        bp per output bin, a power of two >= 2 (published: 128).
    channels : int
        Filters of the stem convolution (published: 288).
    stem_kernel : int
        Width of the stem convolution, odd (published: 15).
    tower_kernel : int
        Width of the tower convolutions, odd (published: 5).
    tower_growth : float
        Channel growth per tower block, >= 1 (published: 1.1776, 288 -> 768 in 6 blocks).
    n_dilated : int
        Dilated residual blocks, >= 0 (published: 11).
    dilation_rate : float
        Dilation of block i is ``round(dilation_rate**i)``, >= 1 (published: 1.5).
    dilated_kernel : int
        Width of the dilated convolutions, odd (published: 3).
    dilated_channels : int or None
        Filters of each dilated convolution; None means half the tower's output width
        (published: 384), written out when the model is built.
    crop_bins : int
        Bins dropped from each end; must leave >= 1 bin (published: 64).
    final_channels : int or None
        Width of the final 1x1 conv; None means twice the tower's output width (published:
        1536), written out when the model is built.
    dropout : float
        Dropout at the end of each dilated residual block (published: 0.3).
    final_dropout : float
        Dropout after the final 1x1 conv (published: 0.05).
    activation : str
        ``"gelu"`` (Basenji2) or ``"relu"`` (Basenji 2018).
    """

    input_length: int
    n_tasks: int
    bin_size: int = 128
    channels: int = 64
    stem_kernel: int = 15
    tower_kernel: int = 5
    tower_growth: float = 1.1776
    n_dilated: int = 4
    dilation_rate: float = 2.0
    dilated_kernel: int = 3
    dilated_channels: int | None = None
    crop_bins: int = 8
    final_channels: int | None = None
    dropout: float = 0.1
    final_dropout: float = 0.05
    activation: str = "gelu"


def tower_channels(config: BasenjiConfig) -> tuple[int, ...]:
    """Output channels of the stem and of each tower block, as Basenji rounds them."""
    n_tower = blocks_long.n_poolings(config.bin_size) - 1
    grown = (round(config.channels * config.tower_growth ** (i + 1)) for i in range(n_tower))
    return (config.channels, *grown)


def dilations(config: BasenjiConfig) -> tuple[int, ...]:
    """Dilation of each residual block: ``round(dilation_rate**i)`` (Basenji's rounding)."""
    return tuple(round(config.dilation_rate**i) for i in range(config.n_dilated))


class DilatedResidualBlock(nn.Module):
    """x + Dropout(Conv1x1(act(BN(DilatedConv(act(BN(x))))))): (B, C, L) -> (B, C, L).

    Pre-activation order (BN -> act -> conv). Basenji2 ends its block with a batch norm whose
    scale starts at zero; here the 1x1 conv starts at zero instead, with the same effect:
    every block starts as the identity.
    """

    def __init__(
        self, channels: int, inner: int, kernel: int, dilation: int, act: str, dropout: float
    ) -> None:
        super().__init__()
        project = blocks_long.pre_activation_conv(inner, channels, 1, act)
        nn.init.zeros_(project[-1].weight)
        nn.init.zeros_(project[-1].bias)
        self.body = nn.Sequential(
            blocks_long.pre_activation_conv(channels, inner, kernel, act, dilation=dilation),
            project,
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _conv_pool(c_in: int, c_out: int, kernel: int, act: str) -> nn.Sequential:
    """'same' conv -> BN -> act -> max-pool 2: (B, c_in, L) -> (B, c_out, L // 2)."""
    return nn.Sequential(
        blocks_long.conv_same(c_in, c_out, kernel),
        nn.BatchNorm1d(c_out),
        blocks_long.activation(act),
        nn.MaxPool1d(2),
    )


@register("basenji", BasenjiConfig)
class Basenji(blocks_long.CoverageOutput, nn.Module):
    """Basenji: (batch, 4, input_length) one-hot -> (batch, n_tasks, output_bins) coverage.

    Outputs are non-negative (softplus) float32 predictions per bin; bins are centred in the
    input (see the module docstring). Properties ``input_length``, ``n_tasks``,
    ``bin_size`` and ``output_bins`` describe the layout; ``output_kind`` is "coverage".
    """

    def __init__(self, config: BasenjiConfig) -> None:
        super().__init__()
        self.config = _resolve(config)
        cfg = self.config
        widths = tower_channels(cfg)
        width = widths[-1]
        stem = _conv_pool(4, widths[0], cfg.stem_kernel, cfg.activation)
        tower = [
            _conv_pool(c_in, c_out, cfg.tower_kernel, cfg.activation)
            for c_in, c_out in itertools.pairwise(widths)
        ]
        dilated = [
            DilatedResidualBlock(
                width, cfg.dilated_channels, cfg.dilated_kernel, d, cfg.activation, cfg.dropout
            )
            for d in dilations(cfg)
        ]
        final = nn.Sequential(
            nn.Conv1d(width, cfg.final_channels, 1),
            nn.BatchNorm1d(cfg.final_channels),
            blocks_long.activation(cfg.activation),
            nn.Dropout(cfg.final_dropout),
        )
        self.trunk = nn.Sequential(stem, *tower, *dilated, blocks_long.Crop(cfg.crop_bins), final)
        self.head = nn.Sequential(
            nn.Conv1d(cfg.final_channels, cfg.n_tasks, 1),  # the same linear map in every bin
            nn.Softplus(),
        )

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot -> (batch, n_tasks, output_bins), >= 0."""
        layers.check_input(x, self.config.input_length, "Basenji")
        return self.head(self.trunk(x))


def _resolve(config: BasenjiConfig) -> BasenjiConfig:
    """Check ``config`` and write out the widths left as None."""
    owner = "Basenji"
    layers.require_config(owner, config, BasenjiConfig)
    for name in ("input_length", "n_tasks", "channels"):
        layers.require_positive(owner, name, getattr(config, name))
    for name in ("stem_kernel", "tower_kernel", "dilated_kernel"):
        blocks_long.require_odd(owner, name, getattr(config, name))
    if (
        isinstance(config.n_dilated, bool)
        or not isinstance(config.n_dilated, int)
        or (config.n_dilated < 0)
    ):
        raise ConfigError(f"{owner}: n_dilated must be an integer >= 0, got {config.n_dilated!r}")
    for name in ("tower_growth", "dilation_rate"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1.0:
            raise ConfigError(f"{owner}: {name} must be a number >= 1, got {value!r}")
    layers.require_dropout(owner, "dropout", config.dropout)
    layers.require_dropout(owner, "final_dropout", config.final_dropout)
    blocks_long.require_choice(owner, "activation", config.activation, blocks_long.ACTIVATIONS)
    blocks_long.check_bins(owner, config.input_length, config.bin_size, config.crop_bins)
    width = tower_channels(config)[-1]
    if config.dilated_channels is None:
        config = replace(config, dilated_channels=max(1, width // 2))
    if config.final_channels is None:
        config = replace(config, final_channels=2 * width)
    for name in ("dilated_channels", "final_channels"):
        layers.require_positive(owner, name, getattr(config, name))
    return config
