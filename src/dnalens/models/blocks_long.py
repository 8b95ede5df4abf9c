"""Blocks shared by the long-range coverage models (Basenji, Enformer).

A *coverage model* maps one-hot DNA to a non-negative track per output bin::

    (batch, 4, input_length) -> (batch, n_tasks, output_bins)

The trunk keeps the length with 'same' convolutions and halves it with every pooling layer,
so after ``log2(bin_size)`` poolings there is one position per ``bin_size`` bp. The model
then drops ``crop_bins`` bins from each end (Basenji's cropping), so the output covers the
centre of the input: ``input_length - output_bins * bin_size = 2 * crop_bins * bin_size``
bp are left out, half on each side. Output bin ``j`` covers input bases
``(crop_bins + j) * bin_size`` to ``(crop_bins + j + 1) * bin_size`` (0-based, half-open).

Everything here works on channels-first tensors, (batch, channels, length), except the
attention block, which takes (batch, length, channels) like every transformer.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from dnalens.errors import ConfigError
from dnalens.models import layers

__all__ = [
    "ACTIVATIONS",
    "POOLINGS",
    "AttentionPool",
    "CoverageOutput",
    "Crop",
    "RelativeMultiHeadAttention",
    "Residual",
    "activation",
    "check_bins",
    "conv_same",
    "exponential_widths",
    "n_poolings",
    "pool",
    "pre_activation_conv",
    "relative_position_features",
    "require_choice",
    "require_odd",
]

ACTIVATIONS = ("gelu", "relu")
POOLINGS = ("attention", "max")


# ---------------------------------------------------------------------------------------------
# Config checks and bin arithmetic
# ---------------------------------------------------------------------------------------------


def n_poolings(bin_size: int) -> int:
    """Number of halvings from 1 bp to ``bin_size`` bp (``bin_size`` a power of two)."""
    return bin_size.bit_length() - 1


def check_bins(owner: str, input_length: int, bin_size: int, crop_bins: int) -> int:
    """Check the bin layout of a coverage model and return ``output_bins``.

    Parameters
    ----------
    owner : str
        Model name used in messages, e.g. ``"Basenji"``.
    input_length : int
        Configured input length in bp (a positive int).
    bin_size : int
        bp per output bin; a power of two >= 2, since the stem pools by 2 and every tower
        block pools by 2 again.
    crop_bins : int
        Bins dropped from each end (>= 0).

    Returns
    -------
    int
        ``input_length // bin_size - 2 * crop_bins`` (>= 1).

    Raises
    ------
    ConfigError
        ``bin_size`` is not a power of two >= 2, ``input_length`` is not a multiple of it, or
        the crop leaves no bins.
    """
    if isinstance(bin_size, bool) or not isinstance(bin_size, int) or bin_size < 2:
        raise ConfigError(
            f"{owner}: bin_size must be a power of two >= 2 (the stem pools by 2 and each tower "
            f"block by 2 again), got {bin_size!r}"
        )
    if bin_size & (bin_size - 1):
        lower = 1 << (bin_size.bit_length() - 1)
        raise ConfigError(
            f"{owner}: bin_size must be a power of two (reached by pooling by 2), got "
            f"{bin_size}; use {lower} or {2 * lower}"
        )
    if isinstance(crop_bins, bool) or not isinstance(crop_bins, int) or crop_bins < 0:
        raise ConfigError(f"{owner}: crop_bins must be an integer >= 0, got {crop_bins!r}")
    if input_length % bin_size:
        below = input_length - input_length % bin_size
        hint = f"{below} or {below + bin_size}" if below else f"{bin_size}"
        raise ConfigError(
            f"{owner}: input_length {input_length} must be a multiple of bin_size {bin_size} "
            f"(e.g. {hint})"
        )
    n_bins = input_length // bin_size
    output_bins = n_bins - 2 * crop_bins
    if output_bins < 1:
        raise ConfigError(
            f"{owner}: crop_bins {crop_bins} per side leaves no output bins: input_length "
            f"{input_length} / bin_size {bin_size} = {n_bins} bins, so crop_bins must be at "
            f"most {(n_bins - 1) // 2}"
        )
    return output_bins


def require_odd(owner: str, name: str, value: int) -> None:
    """Raise ConfigError unless ``value`` is an odd positive int ('same' padding stays centred)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value % 2 == 0:
        raise ConfigError(
            f"{owner}: {name} must be an odd positive integer so that 'same' padding keeps "
            f"bins centred, got {value!r}"
        )


def require_choice(owner: str, name: str, value: object, allowed: tuple[str, ...]) -> None:
    """Raise ConfigError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ConfigError(f"{owner}: {name} must be one of {listed}, got {value!r}")


def exponential_widths(start: int, end: int, n: int, divisible_by: int = 1) -> tuple[int, ...]:
    """``n`` channel counts growing geometrically from ``start`` to ``end`` (both included).

    Each width is rounded to a multiple of ``divisible_by`` (at least ``divisible_by``), as
    in Enformer's conv tower (768 -> 1536 in 6 steps by 128: 768, 896, 1024, 1152, 1280,
    1536). ``n == 1`` gives ``(end,)``.
    """
    if n == 1:
        return (end,)
    growth = math.exp(math.log(end / start) / (n - 1))
    widths = (start * growth**i for i in range(n))
    return tuple(max(divisible_by, round(w / divisible_by) * divisible_by) for w in widths)


# ---------------------------------------------------------------------------------------------
# Convolution blocks (channels-first)
# ---------------------------------------------------------------------------------------------


def activation(name: str) -> nn.Module:
    """``"gelu"`` -> nn.GELU(), ``"relu"`` -> nn.ReLU() (names checked by the config)."""
    return nn.GELU() if name == "gelu" else nn.ReLU()


def conv_same(
    in_channels: int, out_channels: int, kernel_size: int, *, dilation: int = 1, bias: bool = True
) -> nn.Conv1d:
    """Conv1d with zero 'same' padding for an odd kernel: (B, C_in, L) -> (B, C_out, L)."""
    return nn.Conv1d(
        in_channels,
        out_channels,
        kernel_size,
        dilation=dilation,
        padding=dilation * (kernel_size - 1) // 2,
        bias=bias,
    )


def pre_activation_conv(
    in_channels: int, out_channels: int, kernel_size: int, act: str, *, dilation: int = 1
) -> nn.Sequential:
    """BatchNorm -> activation -> 'same' conv: (B, C_in, L) -> (B, C_out, L)."""
    return nn.Sequential(
        nn.BatchNorm1d(in_channels),
        activation(act),
        conv_same(in_channels, out_channels, kernel_size, dilation=dilation),
    )


class Residual(nn.Module):
    """``x + fn(x)``; ``fn`` must keep the shape."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return x + self.fn(x)


class AttentionPool(nn.Module):
    """Softmax-weighted pooling over non-overlapping windows (Enformer's attention pooling).

    (batch, channels, L) -> (batch, channels, L // size). Within each window of ``size``
    positions, channel ``c`` is averaged with weights ``softmax(W x)[c]``; ``W`` (one
    channels x channels matrix, no bias) starts at ``2 * identity``, which weights each
    channel towards its own maximum, between average and max pooling.
    """

    def __init__(self, channels: int, size: int = 2) -> None:
        super().__init__()
        self.size = size
        self.weight = nn.Parameter(2.0 * torch.eye(channels))

    def forward(self, x: Tensor) -> Tensor:
        b, c, n = x.shape
        windows = x[..., : n - n % self.size].reshape(b, c, n // self.size, self.size)
        logits = torch.einsum("oc,bcnp->bonp", self.weight, windows)
        return (windows * logits.softmax(dim=-1)).sum(dim=-1)


def pool(kind: str, channels: int, size: int = 2) -> nn.Module:
    """``"attention"`` -> :class:`AttentionPool`, ``"max"`` -> nn.MaxPool1d(size)."""
    return AttentionPool(channels, size) if kind == "attention" else nn.MaxPool1d(size)


class Crop(nn.Module):
    """Drop ``bins`` positions from each end: (B, C, L) -> (B, C, L - 2 * bins)."""

    def __init__(self, bins: int) -> None:
        super().__init__()
        self.bins = bins

    def forward(self, x: Tensor) -> Tensor:
        return x[..., self.bins : x.shape[-1] - self.bins] if self.bins else x

    def extra_repr(self) -> str:
        return f"bins={self.bins}"


class CoverageOutput(layers.ConfigShape):
    """Mixin with the shared coverage-model properties, read from ``self.config``.

    The config needs ``input_length``, ``n_tasks``, ``bin_size`` and ``crop_bins``.
    """

    output_kind: ClassVar[str] = "coverage"
    config: Any



    @property
    def bin_size(self) -> int:
        """bp per output bin."""
        return self.config.bin_size

    @property
    def crop_bins(self) -> int:
        """Bins dropped from each end before the head."""
        return self.config.crop_bins

    @property
    def output_bins(self) -> int:
        """Bins per output track: ``input_length // bin_size - 2 * crop_bins``."""
        return self.config.input_length // self.config.bin_size - 2 * self.config.crop_bins


# ---------------------------------------------------------------------------------------------
# Relative positional attention (channels-last)
# ---------------------------------------------------------------------------------------------


def relative_position_features(
    length: int, n_features: int, *, device: torch.device | str | None = None
) -> Tensor:
    """Enformer's basis functions of the signed distance between two of ``length`` positions.

    Three families, ``n_features // 6`` functions each, evaluated at ``|d|``:

    - exponential decay ``exp(-ln 2 * |d| / h)`` with half-lives ``h`` spaced on a log scale
      from 2**3 to ``length``;
    - central masks ``|d| < 2**k - 1`` for k = 1, 2, ...;
    - gamma densities with means spread evenly up to ``length``, each family member scaled to
      a maximum of 1 over the family;

    then the same ``n_features // 2`` values multiplied by ``sign(d)``, so the attention can
    tell upstream from downstream.

    Parameters
    ----------
    length : int
        Number of positions (bins) attended over.
    n_features : int
        Features per distance, a multiple of 6.
    device : torch.device or str, optional
        Where to build the result.

    Returns
    -------
    Tensor, shape (2 * length - 1, n_features), float32
        Row ``r`` describes the distance ``d = r - (length - 1)``, i.e. d = -(length - 1)
        .. length - 1. Computed in float64, so the values do not depend on the caller's dtype.
    """
    per_family = n_features // 6
    d = torch.arange(-(length - 1), length, device=device, dtype=torch.float64)
    dist = d.abs()[:, None]
    # Exponential decay.
    half_life = 2.0 ** torch.linspace(
        3.0, math.log2(max(length, 2)), per_family, dtype=torch.float64, device=device
    )
    exponential = torch.exp(-math.log(2.0) * dist / half_life)
    # Central masks of widths 1, 3, 7, 15, ...
    widths = 2.0 ** torch.arange(1, per_family + 1, dtype=torch.float64, device=device) - 1
    central = (widths > dist).to(torch.float64)
    # Gamma densities: means length/F .. length, standard deviation length / (2F).
    mean = torch.linspace(
        length / per_family, length, per_family, dtype=torch.float64, device=device
    )
    stddev = length / (2 * per_family)
    concentration = (mean / stddev) ** 2
    rate = mean / stddev**2
    log_density = (
        torch.xlogy(concentration - 1, dist)
        - rate * dist
        - (torch.lgamma(concentration) - concentration * torch.log(rate))
    )
    gamma = torch.exp(log_density) + 1e-8
    gamma = gamma / gamma.amax(dim=-1, keepdim=True)
    symmetric = torch.cat([exponential, central, gamma], dim=-1)
    return torch.cat([symmetric, torch.sign(d)[:, None] * symmetric], dim=-1).float()


class RelativeMultiHeadAttention(nn.Module):
    """Multi-head self-attention with Transformer-XL relative positions (as in Enformer).

    (batch, L, channels) -> (batch, L, channels). The logit of query ``i`` for key ``j`` in
    head ``h`` is::

        (q_i + u_h) . k_j  +  (q_i + v_h) . r_{j - i}          (q scaled by key_size**-0.5)

    a content term plus a position term, where ``r_d = W_r f(d)`` projects the basis
    functions :func:`relative_position_features` of the distance ``d = j - i`` (computed for
    the actual L on every call) and ``u``, ``v`` are learned per-head biases. Nothing depends
    on absolute position, so the logits are translation equivariant. The output projection
    starts at zero, so each residual attention block starts as the identity.

    Parameters
    ----------
    channels : int
        Width of the input and output.
    heads : int
        Number of heads.
    key_size : int
        Query / key size per head.
    value_size : int
        Value size per head.
    position_features : int
        Basis functions per distance (a multiple of 6).
    attention_dropout, position_dropout : float
        Dropout on the attention weights and on the basis functions.
    """

    def __init__(
        self,
        channels: int,
        heads: int,
        key_size: int,
        value_size: int,
        position_features: int,
        *,
        attention_dropout: float = 0.0,
        position_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.heads = heads
        self.key_size = key_size
        self.position_features = position_features
        self.to_q = nn.Linear(channels, heads * key_size, bias=False)
        self.to_k = nn.Linear(channels, heads * key_size, bias=False)
        self.to_v = nn.Linear(channels, heads * value_size, bias=False)
        self.to_rel_k = nn.Linear(position_features, heads * key_size, bias=False)
        self.content_bias = nn.Parameter(torch.zeros(heads, 1, key_size))  # u
        self.position_bias = nn.Parameter(torch.zeros(heads, 1, key_size))  # v
        self.to_out = nn.Linear(heads * value_size, channels)
        nn.init.zeros_(self.to_out.weight)
        nn.init.zeros_(self.to_out.bias)
        self.attention_dropout = nn.Dropout(attention_dropout)
        self.position_dropout = nn.Dropout(position_dropout)

    def _split(self, t: Tensor) -> Tensor:
        """(B, L, heads * size) -> (B, heads, L, size)."""
        b, n, _ = t.shape
        return t.reshape(b, n, self.heads, -1).transpose(1, 2)

    def relative_keys(self, length: int) -> Tensor:
        """Projected distance features ``r_d``: (heads, 2 * length - 1, key_size).

        Row ``length - 1 + d`` belongs to the distance ``d = j - i``.
        """
        features = relative_position_features(
            length, self.position_features, device=self.to_rel_k.weight.device
        ).to(self.to_rel_k.weight.dtype)
        return self._split(self.to_rel_k(self.position_dropout(features))[None])[0]

    def attention_logits(self, x: Tensor) -> Tensor:
        """Pre-softmax logits: (B, L, channels) -> (B, heads, L queries, L keys)."""
        b, n, _ = x.shape
        q = self._split(self.to_q(x)) * self.key_size**-0.5
        k = self._split(self.to_k(x))
        content = (q + self.content_bias) @ k.transpose(-1, -2)
        # (B, H, L, 2L - 1) over all distances, then pick d = j - i for every (i, j).
        by_distance = (q + self.position_bias) @ self.relative_keys(n).transpose(-1, -2)
        pos = torch.arange(n, device=x.device)
        index = (pos[None, :] - pos[:, None] + n - 1).expand(b, self.heads, n, n)
        return content + by_distance.gather(-1, index)

    def forward(self, x: Tensor) -> Tensor:
        """(batch, L, channels) -> (batch, L, channels)."""
        b, n, _ = x.shape
        weights = self.attention_dropout(self.attention_logits(x).softmax(dim=-1))
        out = weights @ self._split(self.to_v(x))  # (B, H, L, value_size)
        return self.to_out(out.transpose(1, 2).reshape(b, n, -1))
