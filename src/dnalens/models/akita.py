"""Akita (Fudenberg, Kelley & Pollard, Nature Methods 2020): DNA -> Hi-C / Micro-C contact map.

Layout, with the published defaults (1,048,576 bp in, 2,048 bp bins, 5 tasks)::

    x (batch, 4, L)
    1D trunk                                        -> (batch, 64, L / bin_size)
        stem: conv 96 x 11, max-pool 2 (stem_pool)
        tower: conv 96 x 5, max-pool 2 (tower_pool), until bins of bin_size  (10 for 2,048)
        dilated residual tower: 8 units (48-channel bottleneck, kernel 3,
            dilations 1, 2, 3, 5, 9, 16, 29, 50), dropout 0.4
        conv 64 x 5
    1D -> 2D: (x_i + x_j) / 2 (or [x_i, x_j]), plus |i - j|   -> (batch, 65, n, n)
    conv2d 48 x 3, symmetrise
    symmetric dilated residual tower: 6 units (24-channel bottleneck, kernel 3,
        dilations 1, 2, 3, 5, 9, 16), dropout 0.1, (M + M^T) / 2 after each unit
    crop crop_bins from every side                  -> (batch, 48, map_bins, map_bins)
    1x1 conv to n_tasks, upper triangle             -> (batch, n_tasks, n_pairs)

Every block is Basenji's pre-activation conv block (ReLU -> conv -> batch norm ->
dropout -> pool) with 'same' padding, so ``input_length / bin_size`` bins come out exactly.

**Output.** ``forward`` returns the upper triangle of the cropped, symmetric
``map_bins x map_bins`` map, excluding the ``diagonal_offset`` diagonals nearest the main
one: entry ``k`` is ``M[..., i[k], j[k]]`` with ``(i, j) = np.triu_indices(map_bins,
k=diagonal_offset)``, row-major (``torch.triu_indices(map_bins, map_bins, diagonal_offset)``
gives the same order). Bin ``i`` of the map covers input positions
``(crop_bins + i) * bin_size`` up to ``(crop_bins + i + 1) * bin_size``. Values are linear
(the published targets are log(observed / expected) and may be negative);
:meth:`Akita.to_matrix` turns them back into full symmetric maps.

This is a re-implementation, not a weight-compatible port of the TensorFlow model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from dnalens.errors import ConfigError, SequenceError
from dnalens.models import layers
from dnalens.models.blocks_contact import (
    ConcatDistance,
    ConvBlock1d,
    ConvBlock2d,
    DilatedResidual1d,
    DilatedResidual2d,
    OneToTwo,
    dilation_schedule,
    require_choice,
    require_odd,
    require_power_of_two,
    symmetrize,
)
from dnalens.models.registry import register

__all__ = ["ONE_TO_TWO", "Akita", "AkitaConfig", "AkitaHead", "AkitaTrunk"]

ONE_TO_TWO = ("mean", "concat")


@dataclass(frozen=True)
class AkitaConfig:
    """Configuration of :class:`Akita`; defaults are the published architecture.

    Attributes
    ----------
    input_length : int
        Sequence length L; a multiple of ``bin_size`` (published: 1,048,576).
    n_tasks : int
        Contact maps predicted per window (published: 5 Hi-C / Micro-C data sets).
    bin_size : int
        Map resolution in bp, a power of two >= 2: one max-pool of 2 per doubling
        (published: 2,048).
    stem_channels, stem_kernel : int
        Filters and width of the first convolution (published: 96, 11).
    stem_pool : int
        Max-pool size after the stem (published: 2).
    tower_channels, tower_kernel : int
        Filters and width of each pooled conv block after the stem (published: 96, 5).
    tower_pool : int
        Max-pool size of each tower block (published: 2). There are
        ``log(bin_size / stem_pool) / log(tower_pool)`` blocks, so ``bin_size`` must be
        ``stem_pool * tower_pool ** k``: 2 and 2 give Akita's ``log2(bin_size) - 1`` blocks;
        a small model for CPU learns motifs faster with fewer, wider pools (e.g. 32 and 32
        for 1,024 bp bins: one tower block).
    residual_channels : int
        Bottleneck width of each 1D dilated residual unit (published: 48).
    residual_repeat : int
        Number of 1D dilated residual units (published: 8; 0 leaves the tower out).
    residual_dropout : float
        Dropout at the end of each 1D residual unit (published: 0.4).
    trunk_channels, trunk_kernel : int
        Filters and width of the last 1D convolution, whose output is paired
        (published: 64, 5).
    one_to_two : str
        ``"mean"``: pair features ``(x_i + x_j) / 2`` (published); ``"concat"``:
        ``[x_i, x_j]``.
    channels_2d : int
        Width of the 2D feature maps (published: 48).
    residual_channels_2d : int
        Bottleneck width of each 2D dilated residual unit (published: 24).
    residual_repeat_2d : int
        Number of 2D dilated residual units (published: 6; 0 leaves the tower out).
    residual_dropout_2d : float
        Dropout at the end of each 2D residual unit (published: 0.1).
    residual_kernel : int
        Kernel size of the dilated convolutions, 1D and 2D, and of the first 2D conv; odd
        (published: 3).
    dilation_mult : float
        Each residual unit's dilation is the previous one's times this, rounded
        (published: 1.75; see :func:`~dnalens.models.blocks_contact.dilation_schedule`).
    crop_bins : int
        Bins cropped from every side of the 2D map (published: 32 of 512).
    diagonal_offset : int
        Diagonals left out of the output: pairs with ``j - i < diagonal_offset``
        (published: 2, i.e. the main diagonal and the one next to it).
    batch_norm_momentum : float
        PyTorch-style running-average momentum (Keras momentum 0.9265 is 0.0735 here).
    """

    input_length: int = 1_048_576
    n_tasks: int = 5
    bin_size: int = 2048
    stem_channels: int = 96
    stem_kernel: int = 11
    stem_pool: int = 2
    tower_channels: int = 96
    tower_kernel: int = 5
    tower_pool: int = 2
    residual_channels: int = 48
    residual_repeat: int = 8
    residual_dropout: float = 0.4
    trunk_channels: int = 64
    trunk_kernel: int = 5
    one_to_two: str = "mean"
    channels_2d: int = 48
    residual_channels_2d: int = 24
    residual_repeat_2d: int = 6
    residual_dropout_2d: float = 0.1
    residual_kernel: int = 3
    dilation_mult: float = 1.75
    crop_bins: int = 32
    diagonal_offset: int = 2
    batch_norm_momentum: float = 0.0735


class AkitaTrunk(nn.Module):
    """Everything up to the cropped 2D features.

    (batch, 4, input_length) -> (batch, channels_2d, map_bins, map_bins), symmetric in the
    last two axes. ``trunk_1d`` alone maps (batch, 4, input_length) -> (batch,
    trunk_channels, n_bins) with ``n_bins = input_length // bin_size``.
    """

    def __init__(self, config: AkitaConfig) -> None:
        super().__init__()
        c = config
        momentum = c.batch_norm_momentum
        blocks: list[nn.Module] = [
            ConvBlock1d(4, c.stem_channels, c.stem_kernel, pool_size=c.stem_pool,
                        momentum=momentum)
        ]
        in_channels = c.stem_channels
        for _ in range(_tower_blocks(c)):
            blocks.append(
                ConvBlock1d(
                    in_channels, c.tower_channels, c.tower_kernel, pool_size=c.tower_pool,
                    momentum=momentum
                )
            )
            in_channels = c.tower_channels
        if c.residual_repeat:
            blocks.append(
                DilatedResidual1d(
                    in_channels,
                    c.residual_channels,
                    c.residual_kernel,
                    dilation_schedule(c.residual_repeat, c.dilation_mult),
                    dropout=c.residual_dropout,
                    momentum=momentum,
                )
            )
        blocks.append(ConvBlock1d(in_channels, c.trunk_channels, c.trunk_kernel, momentum=momentum))
        self.trunk_1d = nn.Sequential(*blocks)

        self.one_to_two = OneToTwo(c.one_to_two)
        self.distance = ConcatDistance()
        self.conv_2d = ConvBlock2d(
            self.one_to_two.out_channels(c.trunk_channels) + 1,
            c.channels_2d,
            c.residual_kernel,
            momentum=momentum,
        )
        self.tower_2d = DilatedResidual2d(
            c.channels_2d,
            c.residual_channels_2d,
            c.residual_kernel,
            dilation_schedule(c.residual_repeat_2d, c.dilation_mult),
            dropout=c.residual_dropout_2d,
            momentum=momentum,
        )
        self.crop_bins = c.crop_bins

    def pair_features(self, h: Tensor) -> Tensor:
        """1D trunk output -> 2D input: (batch, C, n) -> (batch, C' + 1, n, n).

        ``C'`` is C for ``"mean"`` and 2 C for ``"concat"``; the last channel is ``|i - j|``.
        """
        return self.distance(self.one_to_two(h))

    def forward_2d(self, h: Tensor) -> Tensor:
        """1D trunk output -> cropped 2D features: (batch, C, n) -> (batch, C2, m, m).

        ``m = n - 2 * crop_bins``; the result is symmetric in its last two axes.
        """
        z = symmetrize(self.conv_2d(self.pair_features(h)))
        z = self.tower_2d(z)
        c = self.crop_bins
        n = z.shape[-1]
        return z[..., c : n - c, c : n - c]

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) -> (batch, channels_2d, map_bins, map_bins)."""
        return self.forward_2d(self.trunk_1d(x))


class AkitaHead(nn.Module):
    """1x1 conv to ``n_tasks`` and the upper triangle.

    (batch, C, map_bins, map_bins) -> (batch, n_tasks, n_pairs), entries in
    ``torch.triu_indices(map_bins, map_bins, diagonal_offset)`` order.
    """

    def __init__(self, in_channels: int, n_tasks: int, map_bins: int, diagonal_offset: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, n_tasks, 1)
        rows, cols = torch.triu_indices(map_bins, map_bins, diagonal_offset)
        # Flat indices into a map_bins x map_bins map; a buffer so it follows .to(device),
        # not persistent because it is rebuilt from the config.
        self.register_buffer("flat_index", rows * map_bins + cols, persistent=False)

    def forward(self, z: Tensor) -> Tensor:
        """(batch, C, m, m) -> (batch, n_tasks, n_pairs)."""
        maps = self.conv(z)
        return maps.flatten(-2)[..., self.flat_index]


@register("akita", AkitaConfig)
class Akita(layers.ConfigShape, nn.Module):
    """Akita: (batch, 4, input_length) one-hot -> (batch, n_tasks, n_pairs) contact values.

    ``n_pairs`` entries of the upper triangle of a symmetric ``map_bins x map_bins`` map,
    ``map_bins = input_length // bin_size - 2 * crop_bins``, in ``np.triu_indices(map_bins,
    k=diagonal_offset)`` order; see the module docstring and :meth:`to_matrix`.
    """

    output_kind: ClassVar[str] = "contact_map"

    def __init__(self, config: AkitaConfig) -> None:
        super().__init__()
        _validate(config)
        self.config = config
        self.trunk = AkitaTrunk(config)
        self.head = AkitaHead(
            config.channels_2d, config.n_tasks, self.map_bins, config.diagonal_offset
        )



    @property
    def bin_size(self) -> int:
        """Map resolution in bp."""
        return self.config.bin_size

    @property
    def map_bins(self) -> int:
        """Side of the output map: ``input_length // bin_size - 2 * crop_bins``."""
        return self.config.input_length // self.config.bin_size - 2 * self.config.crop_bins

    @property
    def diagonal_offset(self) -> int:
        """Diagonals left out: pairs (i, j) with ``j - i < diagonal_offset``."""
        return self.config.diagonal_offset

    @property
    def n_pairs(self) -> int:
        """Length of the output vector: pairs i <= j with ``j - i >= diagonal_offset``."""
        return _n_pairs(self.map_bins, self.config.diagonal_offset)

    def triu_indices(self) -> tuple[Tensor, Tensor]:
        """(rows, cols), each shape (n_pairs,): the map position of every output entry."""
        m = self.map_bins
        rows, cols = torch.triu_indices(m, m, self.config.diagonal_offset)
        return rows, cols

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot -> (batch, n_tasks, n_pairs), linear."""
        layers.check_input(x, self.config.input_length, "Akita")
        return self.head(self.trunk(x))

    def to_matrix(self, vec: Tensor, fill: float = float("nan")) -> Tensor:
        """Full symmetric maps from upper-triangle vectors.

        Parameters
        ----------
        vec : Tensor, shape (batch, n_tasks, n_pairs)
            Model output (or targets in the same order).
        fill : float
            Value put where the output has no entry: the ``diagonal_offset`` diagonals
            nearest the main one, ``|i - j| < diagonal_offset`` (default NaN).

        Returns
        -------
        Tensor, shape (batch, n_tasks, map_bins, map_bins)
            ``M[..., i, j] = M[..., j, i] = vec[..., k]`` for the k-th pair (i, j).

        Raises
        ------
        SequenceError
            ``vec`` does not end in n_pairs.
        """
        if not isinstance(vec, Tensor) or vec.ndim < 1 or vec.shape[-1] != self.n_pairs:
            got = tuple(vec.shape) if isinstance(vec, Tensor) else type(vec).__name__
            raise SequenceError(
                f"Akita.to_matrix: expected a tensor of shape (batch, {self.n_tasks}, "
                f"{self.n_pairs}), got {got}"
            )
        m = self.map_bins
        rows, cols = self.triu_indices()
        rows, cols = rows.to(vec.device), cols.to(vec.device)
        out = vec.new_full((*vec.shape[:-1], m, m), fill)
        out[..., rows, cols] = vec
        out[..., cols, rows] = vec
        return out


def _n_pairs(map_bins: int, offset: int) -> int:
    """Pairs i <= j < map_bins with j - i >= offset."""
    kept = max(map_bins - offset, 0)
    return kept * (kept + 1) // 2


def _tower_blocks(config: AkitaConfig) -> int:
    """Pooled tower blocks after the stem: k with ``stem_pool * tower_pool ** k == bin_size``."""
    blocks, size = 0, config.stem_pool
    while size < config.bin_size and config.tower_pool > 1:
        size *= config.tower_pool
        blocks += 1
    return blocks


def _check_pools(owner: str, config: AkitaConfig) -> None:
    for name in ("stem_pool", "tower_pool"):
        layers.require_positive(owner, name, getattr(config, name))
    size = config.stem_pool * config.tower_pool ** _tower_blocks(config)
    if size != config.bin_size:
        raise ConfigError(
            f"{owner}: bin_size {config.bin_size} is not stem_pool {config.stem_pool} times a "
            f"power of tower_pool {config.tower_pool}; with the published stem_pool 2 and "
            f"tower_pool 2 any power of two works"
        )


def _validate(config: AkitaConfig) -> None:
    owner = "Akita"
    layers.require_config(owner, config, AkitaConfig)
    for name in (
        "input_length",
        "n_tasks",
        "stem_channels",
        "stem_kernel",
        "tower_channels",
        "tower_kernel",
        "residual_channels",
        "trunk_channels",
        "trunk_kernel",
        "channels_2d",
        "residual_channels_2d",
        "residual_kernel",
    ):
        layers.require_positive(owner, name, getattr(config, name))
    for name in ("residual_repeat", "residual_repeat_2d", "crop_bins", "diagonal_offset"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{owner}: {name} must be an integer >= 0, got {value!r}")
    for name in ("stem_kernel", "tower_kernel", "trunk_kernel", "residual_kernel"):
        require_odd(owner, name, getattr(config, name))
    layers.require_dropout(owner, "residual_dropout", config.residual_dropout)
    layers.require_dropout(owner, "residual_dropout_2d", config.residual_dropout_2d)
    require_choice(owner, "one_to_two", config.one_to_two, ONE_TO_TWO)
    require_power_of_two(owner, "bin_size", config.bin_size, minimum=2)
    _check_pools(owner, config)
    mult = config.dilation_mult
    if isinstance(mult, bool) or not isinstance(mult, (int, float)) or not mult >= 1:
        raise ConfigError(f"{owner}: dilation_mult must be a number >= 1, got {mult!r}")
    momentum = config.batch_norm_momentum
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 < momentum < 1:
        raise ConfigError(f"{owner}: batch_norm_momentum must be in (0, 1), got {momentum!r}")

    if config.input_length % config.bin_size:
        lower = config.input_length // config.bin_size * config.bin_size
        raise ConfigError(
            f"{owner}: input_length {config.input_length} is not a multiple of bin_size "
            f"{config.bin_size}; use {lower or config.bin_size} or "
            f"{lower + config.bin_size}"
        )
    n_bins = config.input_length // config.bin_size
    map_bins = n_bins - 2 * config.crop_bins
    if _n_pairs(map_bins, config.diagonal_offset) < 1:
        # The largest crop that still leaves one pair beyond the excluded diagonals.
        most = (n_bins - config.diagonal_offset - 1) // 2
        hint = (
            f"crop_bins can be at most {most}"
            if most >= 0
            else f"input_length must be at least {(config.diagonal_offset + 1) * config.bin_size}"
        )
        raise ConfigError(
            f"{owner}: crop_bins {config.crop_bins} is too big: {n_bins} bins "
            f"- 2 x {config.crop_bins} leaves {map_bins} map bins, which have no pair with "
            f"j - i >= diagonal_offset {config.diagonal_offset}; {hint}"
        )
