"""Blocks shared by the contact-map families (Akita, deepC) and the pair model.

Used by :mod:`~dnalens.models.akita`, :mod:`~dnalens.models.deepc` and
:mod:`~dnalens.models.pair`, with the config checks they add to :mod:`~dnalens.models.layers`.

Unlike :mod:`dnalens.models.layers`, whose convolutions are 'valid', every convolution here
pads to keep the length ('same'), as in Basenji / Akita and deepC: the bin grid of a contact
map must line up with the input, so a stack of ``p`` max-pools of size 2 turns
(batch, C, L) into (batch, C, L // 2**p) exactly.

Shapes
------
1D features are (batch, channels, bins); 2D features are (batch, channels, bins, bins), with
``[..., i, j]`` describing the pair of bins (i, j).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dnalens.errors import ConfigError

__all__ = [
    "ConcatDistance",
    "ConvBlock1d",
    "ConvBlock2d",
    "DilatedResidual1d",
    "DilatedResidual2d",
    "OneToTwo",
    "dilation_schedule",
    "require_choice",
    "require_odd",
    "require_power_of_two",
    "symmetrize",
]


# ---------------------------------------------------------------------------------------------
# Config checks (same message shape as layers.require_*: owner, parameter, allowed, got)
# ---------------------------------------------------------------------------------------------


def require_choice(owner: str, name: str, value: object, allowed: Sequence[str]) -> None:
    """Raise ConfigError unless ``value`` is one of the strings in ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(
            f"{owner}: {name} must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}"
        )


def require_odd(owner: str, name: str, value: int | Sequence[int]) -> None:
    """Raise ConfigError unless ``value`` (or every item of it) is odd.

    Odd kernels pad the same amount on both sides, so 'same' convolutions stay centred.
    """
    values = value if isinstance(value, Sequence) else [value]
    if any(v % 2 == 0 for v in values):
        what = "odd integers" if isinstance(value, Sequence) else "an odd integer"
        raise ConfigError(
            f"{owner}: {name} must be {what} so that 'same' padding is centred, got {value!r}"
        )


def require_power_of_two(owner: str, name: str, value: int, *, minimum: int = 1) -> None:
    """Raise ConfigError unless ``value`` is a power of two >= ``minimum``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or value & (value - 1)
    ):
        raise ConfigError(
            f"{owner}: {name} must be a power of two >= {minimum} (each max-pool halves the "
            f"length), got {value!r}"
        )


def dilation_schedule(repeat: int, rate_mult: float) -> tuple[int, ...]:
    """Dilation of each residual unit: round(rate_mult ** i) for i = 0 .. repeat - 1.

    This is Basenji's schedule (the rate is multiplied before rounding), so 8 units with
    ``rate_mult`` 1.75 give 1, 2, 3, 5, 9, 16, 29, 50.
    """
    rates = []
    rate = 1.0
    for _ in range(repeat):
        rates.append(max(1, round(rate)))
        rate *= rate_mult
    return tuple(rates)


# ---------------------------------------------------------------------------------------------
# 1D blocks
# ---------------------------------------------------------------------------------------------


class _ConvBlock(nn.Module):
    """Basenji's pre-activation block, in ``dims`` (1 or 2) spatial dimensions:
    ReLU -> Conv ('same', no bias; batch norm follows) -> BatchNorm -> [Dropout] -> [MaxPool].
    Subclasses set ``dims``.
    """

    dims: int

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        dilation: int = 1,
        pool_size: int = 1,
        dropout: float = 0.0,
        momentum: float = 0.1,
        zero_gamma: bool = False,
    ) -> None:
        super().__init__()
        conv, norm, pool = ((nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d) if self.dims == 1
                            else (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d))
        self.conv = conv(
            in_channels,
            out_channels,
            kernel_size,
            dilation=dilation,
            padding=dilation * (kernel_size - 1) // 2,
            bias=False,
        )
        self.norm = norm(out_channels, momentum=momentum)
        if zero_gamma:  # a residual branch that starts as the identity map
            nn.init.zeros_(self.norm.weight)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.pool = pool(pool_size) if pool_size > 1 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(batch, in_channels, *spatial) -> (batch, out_channels, *spatial // pool_size)."""
        return self.pool(self.dropout(self.norm(self.conv(torch.relu(x)))))


class ConvBlock1d(_ConvBlock):
    """Basenji conv block: ReLU -> Conv1d ('same') -> BatchNorm -> [Dropout] -> [MaxPool].

    (batch, in_channels, L) -> (batch, out_channels, L // pool_size). The activation comes
    first (pre-activation), so a residual sum of these blocks is never squashed; on one-hot
    input the leading ReLU is the identity. The convolution has no bias (batch norm follows).
    """

    dims = 1


class _DilatedResidual(nn.Module):
    """``h = after(h + block1x1(block_k,d(h)))`` for each dilation d; the 1x1 block's
    batch-norm gamma starts at zero, so each unit starts as the identity. Subclasses set
    ``block``."""

    block: type[_ConvBlock]

    def __init__(
        self,
        channels: int,
        bottleneck: int,
        kernel_size: int,
        dilations: Sequence[int],
        *,
        dropout: float = 0.0,
        momentum: float = 0.1,
    ) -> None:
        super().__init__()
        block = self.block
        self.units = nn.ModuleList(
            nn.Sequential(
                block(channels, bottleneck, kernel_size, dilation=d, momentum=momentum),
                block(bottleneck, channels, 1, dropout=dropout, momentum=momentum,
                      zero_gamma=True),
            )
            for d in dilations
        )

    def after(self, x: Tensor) -> Tensor:
        return x

    def forward(self, x: Tensor) -> Tensor:
        """(batch, channels, *spatial) -> the same shape."""
        for unit in self.units:
            x = self.after(x + unit(x))
        return x


class DilatedResidual1d(_DilatedResidual):
    """Basenji dilated residual tower: ``h = h + block1x1(block_k,d(h))`` for each dilation.

    Each unit is a dilated :class:`ConvBlock1d` into ``bottleneck`` channels, then a 1x1
    block back to ``channels`` with dropout and batch-norm gamma initialised to zero, so the
    tower starts as the identity. (batch, channels, L) -> (batch, channels, L).
    """

    block = ConvBlock1d


# ---------------------------------------------------------------------------------------------
# 1D -> 2D
# ---------------------------------------------------------------------------------------------


class OneToTwo(nn.Module):
    """Pair features of every two bins: (batch, C, n) -> (batch, C', n, n).

    ``"mean"``: ``out[..., i, j] = (x[..., i] + x[..., j]) / 2`` (C' = C, symmetric in i, j).
    ``"concat"``: ``out[..., i, j] = [x[..., i], x[..., j]]`` (C' = 2 C, not symmetric until a
    later :func:`symmetrize`).
    """

    def __init__(self, operation: str = "mean") -> None:
        super().__init__()
        require_choice("OneToTwo", "operation", operation, ("mean", "concat"))
        self.operation = operation

    def out_channels(self, in_channels: int) -> int:
        """Channels of the 2D output for ``in_channels`` 1D channels."""
        return in_channels if self.operation == "mean" else 2 * in_channels

    def forward(self, x: Tensor) -> Tensor:
        """(batch, C, n) -> (batch, C', n, n)."""
        n = x.shape[-1]
        rows = x.unsqueeze(-1).expand(-1, -1, n, n)  # [..., i, j] = x[..., i]
        cols = x.unsqueeze(-2).expand(-1, -1, n, n)  # [..., i, j] = x[..., j]
        if self.operation == "mean":
            return (rows + cols) / 2
        return torch.cat([rows, cols], dim=1)


class ConcatDistance(nn.Module):
    """Append one channel holding ``|i - j|`` in bins, as Basenji's ``ConcatDist2D``.

    (batch, C, n, n) -> (batch, C + 1, n, n). The distance is not rescaled (the published
    models see raw bin counts); the batch norm after the next convolution takes care of scale.
    """

    def forward(self, x: Tensor) -> Tensor:
        """(batch, C, n, n) -> (batch, C + 1, n, n)."""
        n = x.shape[-1]
        pos = torch.arange(n, device=x.device, dtype=x.dtype)
        dist = (pos[:, None] - pos[None, :]).abs()
        return torch.cat([x, dist.expand(x.shape[0], 1, n, n)], dim=1)


def symmetrize(x: Tensor) -> Tensor:
    """(M + M^T) / 2 over the last two axes: (..., n, n) -> (..., n, n)."""
    return (x + x.transpose(-1, -2)) / 2


# ---------------------------------------------------------------------------------------------
# 2D blocks
# ---------------------------------------------------------------------------------------------


class ConvBlock2d(_ConvBlock):
    """ReLU -> Conv2d ('same', no bias) -> BatchNorm -> [Dropout].

    (batch, in_channels, n, n) -> (batch, out_channels, n, n).
    """

    dims = 2


class DilatedResidual2d(_DilatedResidual):
    """Symmetric dilated residual tower on 2D maps (Akita's ``dilated_residual_2d``).

    Each unit: ``h = symmetrize(h + block1x1(block_k,d(h)))``, the 1x1 block starting at zero,
    so a symmetric input stays symmetric after every unit. (b, C, n, n) -> (b, C, n, n).
    """

    block = ConvBlock2d

    def after(self, x: Tensor) -> Tensor:
        return symmetrize(x)
