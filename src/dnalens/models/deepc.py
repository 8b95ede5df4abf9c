"""deepC (Schwessinger et al., Nature Methods 2020): DNA -> the contact strip above its centre.

Layout, with the defaults (close to the published 1 Mb, 5 kb model)::

    x (batch, 4, L)
    stem: per layer conv ('same') -> batch norm -> ReLU -> max-pool -> dropout
          (300 x 8, pool 4), (600 x 8, 5), (600 x 8, 5), (900 x 4, 5), (900 x 4, 2)
    1x1 conv to `channels` (100)
    dilated residual tower: h = h + dropout(conv_3,d(relu(bn(h)))) for
          d = 1, 2, 4, ..., 256
    pooling: flatten (default), or global mean / max over positions
    [dense `hidden` -> ReLU -> dropout]
    dense to n_tasks x band_bins                     -> (batch, n_tasks, band_bins)

**Output: the zig-zag strip.** Split the window into bins of ``bin_size`` starting at its
first base, and let ``c = (input_length // bin_size) // 2`` be the centre bin. Output
``[..., k]`` (k = 0 .. band_bins - 1) is the contact between bins

    ``i = c - floor(d / 2)`` and ``j = i + d``, with ``d = k + 1``,

i.e. the pixel at distance ``d`` on the vertical pole above the centre of the map: it
alternates between the anti-diagonal through ``(c, c)`` (even d) and the one through
``(c, c + 1)`` (odd d), hence "zig-zag". The data layer builds targets in this order.
Values are linear (targets are normalised contact values and may be negative).

``bin_size`` does not enter the network; it fixes the geometry above and is checked so that
the strip fits the window (``input_length >= band_bins * bin_size``). This is a
re-implementation, not a weight-compatible port of the published TensorFlow model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor, nn

from dnalens.errors import ConfigError
from dnalens.models import layers
from dnalens.models.blocks_contact import require_choice, require_odd
from dnalens.models.registry import register

__all__ = ["POOLINGS", "DeepC", "DeepCConfig", "strip_pairs"]

POOLINGS = ("flatten", "mean", "max")


@dataclass(frozen=True)
class DeepCConfig:
    """Configuration of :class:`DeepC`; defaults follow the published 5 kb model.

    Attributes
    ----------
    input_length : int
        Window length L in bp (published: 1,010,000); at least ``band_bins * bin_size``.
    n_tasks : int
        Contact strips predicted per window (one per cell type / data set).
    band_bins : int
        Entries of the strip, i.e. the largest distance in bins (published: 201).
    bin_size : int
        Resolution of the contact map in bp (published: 5,000); documentation and
        validation only.
    conv_channels : tuple of int
        Filters per stem conv layer.
    kernel_sizes : tuple of int
        Filter width per stem conv layer ('same' padding; even widths pad one more base on
        the right).
    pool_sizes : tuple of int
        Max-pooling size (and stride) per stem conv layer.
    channels : int
        Width of the dilated residual tower.
    dilation_kernel : int
        Kernel size of the dilated convolutions; odd.
    dilations : tuple of int
        Dilation of each residual unit, in order (empty: no tower).
    dropout : float
        Dropout after every stem layer, residual unit and hidden dense layer.
    pooling : str
        How the tower output becomes one vector: ``"flatten"`` (keeps positions, as
        published), ``"mean"`` or ``"max"`` over positions.
    hidden : int
        Width of a dense layer before the output; 0 (default) connects the pooled features
        straight to the output.
    """

    input_length: int
    n_tasks: int = 1
    band_bins: int = 201
    bin_size: int = 5000
    conv_channels: tuple[int, ...] = (300, 600, 600, 900, 900)
    kernel_sizes: tuple[int, ...] = (8, 8, 8, 4, 4)
    pool_sizes: tuple[int, ...] = (4, 5, 5, 5, 2)
    channels: int = 100
    dilation_kernel: int = 3
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    dropout: float = 0.2
    pooling: str = "flatten"
    hidden: int = 0


class DilatedUnit(nn.Module):
    """Pre-activation residual unit: ``x + dropout(conv(relu(bn(x))))``, 'same' dilated conv.

    (batch, channels, L) -> (batch, channels, L).
    """

    def __init__(self, channels: int, kernel_size: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(channels)
        self.conv = nn.Conv1d(
            channels,
            channels,
            kernel_size,
            dilation=dilation,
            padding=dilation * (kernel_size - 1) // 2,
        )
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(batch, channels, L) -> (batch, channels, L)."""
        return x + self.dropout(self.conv(self.norm(x).relu()))


class _GlobalPool(nn.Module):
    """(batch, C, L) -> (batch, C): mean or max over positions."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how

    def forward(self, x: Tensor) -> Tensor:
        return x.mean(dim=-1) if self.how == "mean" else x.amax(dim=-1)


@register("deepc", DeepCConfig)
class DeepC(layers.ConfigShape, nn.Module):
    """deepC: (batch, 4, input_length) one-hot -> (batch, n_tasks, band_bins) contact strip.

    Entry ``k`` is the contact between bins ``c - floor(d / 2)`` and ``c - floor(d / 2) + d``,
    ``d = k + 1``, ``c = (input_length // bin_size) // 2``; see :func:`strip_pairs`.
    """

    output_kind: ClassVar[str] = "contact_strip"

    def __init__(self, config: DeepCConfig) -> None:
        super().__init__()
        _validate(config)
        self.config = config
        c = config

        stages: list[layers.Stage] = [("pool", p) for p in c.pool_sizes]
        out_length = layers.check_input_length("DeepC", c.input_length, stages)

        stem: list[nn.Module] = []
        in_channels = 4
        for out_channels, kernel, pool in zip(
            c.conv_channels, c.kernel_sizes, c.pool_sizes, strict=True
        ):
            if kernel > 1:  # 'same' padding; an even kernel pads one more base on the right
                stem.append(nn.ConstantPad1d(((kernel - 1) // 2, kernel // 2), 0.0))
            stem += [
                nn.Conv1d(in_channels, out_channels, kernel),
                nn.BatchNorm1d(out_channels),
                nn.ReLU(),
            ]
            if pool > 1:
                stem.append(nn.MaxPool1d(pool))
            if c.dropout > 0:
                stem.append(nn.Dropout(c.dropout))
            in_channels = out_channels
        tower = [nn.Conv1d(in_channels, c.channels, 1)]
        tower += [DilatedUnit(c.channels, c.dilation_kernel, d, c.dropout) for d in c.dilations]
        if c.pooling == "flatten":
            pool_layers: list[nn.Module] = [nn.ReLU(), nn.Flatten()]
            features = c.channels * out_length
        else:
            pool_layers = [nn.ReLU(), _GlobalPool(c.pooling)]
            features = c.channels
        if c.hidden:
            pool_layers.append(layers.dense_block(features, c.hidden, dropout=c.dropout))
            features = c.hidden
        self.trunk = nn.Sequential(*stem, *tower, *pool_layers)
        self.head = nn.Sequential(
            nn.Linear(features, c.n_tasks * c.band_bins),
            nn.Unflatten(-1, (c.n_tasks, c.band_bins)),
        )



    @property
    def band_bins(self) -> int:
        """Entries per strip (largest contact distance, in bins)."""
        return self.config.band_bins

    @property
    def bin_size(self) -> int:
        """Resolution of the contact map in bp."""
        return self.config.bin_size

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot -> (batch, n_tasks, band_bins), linear."""
        layers.check_input(x, self.config.input_length, "DeepC")
        return self.head(self.trunk(x))


def strip_pairs(input_length: int, bin_size: int, band_bins: int) -> list[tuple[int, int]]:
    """Bin pairs (i, j) of the strip entries, k = 0 .. band_bins - 1.

    Bins are ``bin_size`` wide and counted from the window's first base;
    ``c = (input_length // bin_size) // 2``, ``d = k + 1``, ``i = c - d // 2``, ``j = i + d``.
    ``i >= 0`` always (the config keeps ``band_bins <= input_length // bin_size``), but ``j``
    reaches ``input_length // bin_size``, one bin past the window, when ``band_bins`` is that
    large; the caller decides how to fetch such contacts.
    """
    c = (input_length // bin_size) // 2
    return [(c - d // 2, c - d // 2 + d) for d in range(1, band_bins + 1)]


def _validate(config: DeepCConfig) -> None:
    owner = "DeepC"
    layers.require_config(owner, config, DeepCConfig)
    for name in (
        "input_length",
        "n_tasks",
        "band_bins",
        "bin_size",
        "conv_channels",
        "kernel_sizes",
        "pool_sizes",
        "channels",
        "dilation_kernel",
    ):
        layers.require_positive(owner, name, getattr(config, name))
    if config.dilations:
        layers.require_positive(owner, "dilations", config.dilations)
    require_odd(owner, "dilation_kernel", config.dilation_kernel)
    layers.require_dropout(owner, "dropout", config.dropout)
    layers.require_same_length(
        owner,
        conv_channels=config.conv_channels,
        kernel_sizes=config.kernel_sizes,
        pool_sizes=config.pool_sizes,
    )
    if not config.conv_channels:
        raise ConfigError(f"{owner}: conv_channels needs at least one conv layer, got ()")
    require_choice(owner, "pooling", config.pooling, POOLINGS)
    hidden = config.hidden
    if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 0:
        raise ConfigError(
            f"{owner}: hidden must be an integer >= 0 (0: no hidden layer), got {hidden!r}"
        )
    span = config.band_bins * config.bin_size
    if config.input_length < span:
        raise ConfigError(
            f"{owner}: input_length {config.input_length} is shorter than the strip it "
            f"predicts, band_bins x bin_size = {config.band_bins} x {config.bin_size} = {span}; "
            f"use input_length >= {span} or fewer band_bins"
        )
