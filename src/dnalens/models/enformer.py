"""Enformer (Avsec et al., Nature Methods 2021): convolutions, then a transformer over bins.

Predicts read coverage in bins along a long input sequence::

    x (batch, 4, input_length)
    stem          conv(channels / 2, width 15) -> + ConvBlock(1) -> pool 2
    tower         per block: ConvBlock(width 5) -> + ConvBlock(1) -> pool 2, until one
                  position is bin_size bp; widths grow geometrically from channels / 2 to
                  channels (rounded to multiples of tower_divisible_by)
    transformer   depth x [ + Dropout(MHA(LayerNorm(x)))
                            + Dropout(Linear(ReLU(Dropout(Linear(LayerNorm(x), 2C))), C)) ]
    crop          crop_bins bins from each end
    final         ConvBlock(final_channels, 1) -> dropout(final_dropout) -> GELU
    head          per-bin linear (conv1x1) to n_tasks -> softplus
    -> (batch, n_tasks, output_bins) non-negative coverage, output_bins =
       input_length // bin_size - 2 * crop_bins

``ConvBlock(k)`` is BatchNorm -> GELU -> 'same' conv of width k, and ``+ f`` a residual
connection. Pooling is Enformer's attention pooling (softmax-weighted, see
:class:`~dnalens.models.blocks_long.AttentionPool`) or max pooling. The attention is
Transformer-XL style with relative positions: content and position terms, the position
term built from Enformer's exponential / central-mask / gamma basis functions of the signed
bin distance (:class:`~dnalens.models.blocks_long.RelativeMultiHeadAttention`), so it is
translation equivariant and computed for the actual number of bins.

Every convolution is 'same'-padded, so output bin ``j`` covers input bases
``(crop_bins + j) * bin_size`` .. ``(crop_bins + j + 1) * bin_size`` (0-based, half-open).

The defaults are a small model that trains on a CPU. The published human model is
``input_length=196608, n_tasks=5313, bin_size=128, channels=1536, depth=11, heads=8,
key_size=64`` (value size 192 = 1536 / 8, 192 position features), ``dropout=0.4,
attention_dropout=0.05, position_dropout=0.01, crop_bins=320`` (896 output bins),
``tower_divisible_by=128`` (tower 768, 896, 1024, 1152, 1280, 1536), ``final_channels=3072,
final_dropout=0.05, pooling="attention"``.

Differences from the original: PyTorch's exact GELU instead of ``sigmoid(1.702 x) x``, and
the per-head biases ``u``, ``v`` start at zero.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from torch import Tensor, nn

from dnalens.errors import ConfigError
from dnalens.models import blocks_long, layers
from dnalens.models.registry import register

__all__ = ["Enformer", "EnformerConfig", "tower_channels"]


@dataclass(frozen=True)
class EnformerConfig:
    """Configuration of :class:`Enformer`; defaults are a small CPU-sized model.

    Attributes
    ----------
    input_length : int
        Sequence length in bp, a multiple of ``bin_size`` (published: 196608).
    n_tasks : int
        Number of coverage tracks (published: 5313 human, 1643 mouse).
    bin_size : int
        bp per output bin, a power of two >= 2 (published: 128).
    channels : int
        Transformer width; the stem has half as many (published: 1536).
    depth : int
        Transformer blocks, >= 0 (published: 11).
    heads : int
        Attention heads (published: 8).
    key_size : int
        Query / key size per head (published: 64).
    value_size : int or None
        Value size per head; None means ``channels // heads`` (published: 192), written out
        when the model is built.
    position_features : int or None
        Relative-position basis functions, a multiple of 6; None means the largest multiple
        of 6 <= ``channels // heads`` (at least 6; published: 192), written out when built.
    stem_kernel : int
        Width of the stem convolution, odd (published: 15).
    tower_kernel : int
        Width of the tower convolutions, odd (published: 5).
    tower_divisible_by : int
        Tower widths are rounded to multiples of this; ``channels`` must be one
        (published: 128).
    pooling : str
        ``"attention"`` (published) or ``"max"``.
    dropout : float
        Dropout in the transformer blocks (published: 0.4).
    attention_dropout : float
        Dropout on the attention weights (published: 0.05).
    position_dropout : float
        Dropout on the relative-position basis functions (published: 0.01).
    crop_bins : int
        Bins dropped from each end; must leave >= 1 bin (published: 320).
    final_channels : int or None
        Width of the final pointwise conv; None means ``2 * channels`` (published: 3072),
        written out when the model is built.
    final_dropout : float
        Dropout after the final pointwise conv (published: 0.05).
    """

    input_length: int
    n_tasks: int
    bin_size: int = 128
    channels: int = 32
    depth: int = 2
    heads: int = 2
    key_size: int = 8
    value_size: int | None = None
    position_features: int | None = None
    stem_kernel: int = 15
    tower_kernel: int = 5
    tower_divisible_by: int = 1
    pooling: str = "attention"
    dropout: float = 0.1
    attention_dropout: float = 0.05
    position_dropout: float = 0.01
    crop_bins: int = 8
    final_channels: int | None = None
    final_dropout: float = 0.05


def tower_channels(config: EnformerConfig) -> tuple[int, ...]:
    """Output channels of the stem and of each tower block (the last is ``channels``)."""
    n_tower = blocks_long.n_poolings(config.bin_size) - 1
    if n_tower == 0:
        return (config.channels,)
    half = max(1, config.channels // 2)
    widths = blocks_long.exponential_widths(
        half, config.channels, n_tower, config.tower_divisible_by
    )
    return (half, *widths)


def _conv_block(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    """BatchNorm -> GELU -> 'same' conv: (B, c_in, L) -> (B, c_out, L)."""
    return blocks_long.pre_activation_conv(c_in, c_out, kernel, "gelu")


class TransformerBlock(nn.Module):
    """Pre-LayerNorm attention and feed-forward, each residual: (B, L, C) -> (B, L, C)."""

    def __init__(self, config: EnformerConfig) -> None:
        super().__init__()
        c = config.channels
        self.attention = blocks_long.Residual(
            nn.Sequential(
                nn.LayerNorm(c),
                blocks_long.RelativeMultiHeadAttention(
                    c,
                    config.heads,
                    config.key_size,
                    config.value_size,
                    config.position_features,
                    attention_dropout=config.attention_dropout,
                    position_dropout=config.position_dropout,
                ),
                nn.Dropout(config.dropout),
            )
        )
        self.feed_forward = blocks_long.Residual(
            nn.Sequential(
                nn.LayerNorm(c),
                nn.Linear(c, 2 * c),
                nn.Dropout(config.dropout),
                nn.ReLU(),
                nn.Linear(2 * c, c),
                nn.Dropout(config.dropout),
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.feed_forward(self.attention(x))


class Transformer(nn.Module):
    """``depth`` transformer blocks on a channels-first map: (B, C, L) -> (B, C, L)."""

    def __init__(self, config: EnformerConfig) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(TransformerBlock(config) for _ in range(config.depth)))

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(x.transpose(1, 2)).transpose(1, 2)


@register("enformer", EnformerConfig)
class Enformer(blocks_long.CoverageOutput, nn.Module):
    """Enformer: (batch, 4, input_length) one-hot -> (batch, n_tasks, output_bins) coverage.

    Outputs are non-negative (softplus) float32 predictions per bin; bins are centred in the
    input (see the module docstring). Properties ``input_length``, ``n_tasks``,
    ``bin_size`` and ``output_bins`` describe the layout; ``output_kind`` is "coverage".
    """

    def __init__(self, config: EnformerConfig) -> None:
        super().__init__()
        self.config = _resolve(config)
        cfg = self.config
        widths = tower_channels(cfg)
        stem = nn.Sequential(
            blocks_long.conv_same(4, widths[0], cfg.stem_kernel),
            blocks_long.Residual(_conv_block(widths[0], widths[0], 1)),
            blocks_long.pool(cfg.pooling, widths[0]),
        )
        tower = [
            nn.Sequential(
                _conv_block(c_in, c_out, cfg.tower_kernel),
                blocks_long.Residual(_conv_block(c_out, c_out, 1)),
                blocks_long.pool(cfg.pooling, c_out),
            )
            for c_in, c_out in itertools.pairwise(widths)
        ]
        final = nn.Sequential(
            _conv_block(cfg.channels, cfg.final_channels, 1),
            nn.Dropout(cfg.final_dropout),
            nn.GELU(),
        )
        self.trunk = nn.Sequential(
            stem, *tower, Transformer(cfg), blocks_long.Crop(cfg.crop_bins), final
        )
        self.head = nn.Sequential(
            nn.Conv1d(cfg.final_channels, cfg.n_tasks, 1),  # the same linear map in every bin
            nn.Softplus(),
        )

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot -> (batch, n_tasks, output_bins), >= 0."""
        layers.check_input(x, self.config.input_length, "Enformer")
        return self.head(self.trunk(x))


def _resolve(config: EnformerConfig) -> EnformerConfig:
    """Check ``config`` and write out the sizes left as None."""
    owner = "Enformer"
    layers.require_config(owner, config, EnformerConfig)
    for name in ("input_length", "n_tasks", "channels", "heads", "key_size", "tower_divisible_by"):
        layers.require_positive(owner, name, getattr(config, name))
    if isinstance(config.depth, bool) or not isinstance(config.depth, int) or config.depth < 0:
        raise ConfigError(f"{owner}: depth must be an integer >= 0, got {config.depth!r}")
    for name in ("stem_kernel", "tower_kernel"):
        blocks_long.require_odd(owner, name, getattr(config, name))
    for name in ("dropout", "attention_dropout", "position_dropout", "final_dropout"):
        layers.require_dropout(owner, name, getattr(config, name))
    blocks_long.require_choice(owner, "pooling", config.pooling, blocks_long.POOLINGS)
    blocks_long.check_bins(owner, config.input_length, config.bin_size, config.crop_bins)
    if config.channels % config.tower_divisible_by:
        raise ConfigError(
            f"{owner}: channels {config.channels} must be a multiple of tower_divisible_by "
            f"{config.tower_divisible_by}"
        )
    per_head = config.channels // config.heads
    if config.value_size is None:
        if per_head < 1:
            raise ConfigError(
                f"{owner}: heads {config.heads} is more than channels {config.channels}; "
                "give value_size or use fewer heads"
            )
        config = replace(config, value_size=per_head)
    if config.position_features is None:
        config = replace(config, position_features=max(6, per_head // 6 * 6))
    if config.final_channels is None:
        config = replace(config, final_channels=2 * config.channels)
    for name in ("value_size", "position_features", "final_channels"):
        layers.require_positive(owner, name, getattr(config, name))
    if config.position_features % 6:
        raise ConfigError(
            f"{owner}: position_features must be a multiple of 6 (3 basis families, each "
            f"also signed), got {config.position_features}"
        )
    return config
