"""SpliceAI (Jaganathan et al., Cell 2019): a residual dilated CNN that calls splice sites.

Layout, for ``channels`` = 32 as published::

    x (batch, 4, L + context)
    h = stem(x)                                1x1 conv, 4 -> 32
    skip = skip(h)                             1x1 conv, 32 -> 32
    for each residual unit i:                  h = h + conv(relu(bn(conv(relu(bn(h))))))
        h = unit_i(h)                          both convs: kernel W_i, dilation AR_i, 'same'
        after every 4th unit and the last:     skip = skip + tap(h)   (1x1 conv)
    skip = skip[..., context/2 : -context/2]   crop (see below)
    logits = head(skip)                        1x1 conv, 32 -> 3 (neither, acceptor, donor)

The published variants differ in their units (kernel W, dilation AR):

=========  =======================================================================
context    units
=========  =======================================================================
80         4 x (W=11, AR=1)
400        the above + 4 x (11, 4)
2,000      the above + 4 x (21, 10)
10,000     the above + 4 x (41, 25)
=========  =======================================================================

The context is ``2 * sum((W - 1) * AR)``. Keras pads every convolution to keep the length
('same') and crops ``context / 2`` from each end at the end; the crop removes exactly the
positions whose receptive field reached the padding. This port computes the same numbers
without padding: each convolution is 'valid', each residual unit trims its identity branch
by ``(W - 1) * AR`` on each side, and the skip sum is trimmed to match at every tap, so no
position outside the output is computed past the point where it is still needed (about a
third less work than 'same' + crop for 5,000-nt outputs). Output ``j`` depends on exactly
input ``j .. j + context``. The network is fully convolutional: ``forward`` takes any input
longer than ``context``.

**Outputs.** Like every dnalens model, ``forward`` returns logits, here (batch, 3, L): the
published Keras model applies softmax in its last layer, which this port leaves to
:func:`splice_probabilities` (softmax over the class axis). Batch norm uses Keras' epsilon
1e-3 (PyTorch's default is 1e-5). Published weights are imported by
:mod:`dnalens.models.spliceai_keras`; their 5-model ensemble is an
:class:`~dnalens.models.ensemble.Ensemble` with ``average="softmax"``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from dnalens.errors import ConfigError, SequenceError
from dnalens.models import layers
from dnalens.models.registry import register

__all__ = [
    "CLASSES",
    "PUBLISHED_CONTEXTS",
    "SpliceAI",
    "SpliceAIConfig",
    "published_units",
    "splice_probabilities",
]

CLASSES = ("neither", "acceptor", "donor")

# (kernel size, dilation) of each residual unit, per published context.
_GROUPS = ((11, 1), (11, 4), (21, 10), (41, 25))
_UNITS_PER_GROUP = 4
PUBLISHED_CONTEXTS = {80: 1, 400: 2, 2000: 3, 10000: 4}  # context -> number of groups


def published_units(context: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(kernel_sizes, dilations), one entry per residual unit, of a published variant.

    Raises
    ------
    ConfigError
        ``context`` is not 80, 400, 2000 or 10000.
    """
    if context not in PUBLISHED_CONTEXTS:
        raise ConfigError(
            f"SpliceAI: no published variant with context {context!r} (published: "
            f"{', '.join(map(str, PUBLISHED_CONTEXTS))}); give kernel_sizes and dilations"
        )
    units = [g for g in _GROUPS[: PUBLISHED_CONTEXTS[context]] for _ in range(_UNITS_PER_GROUP)]
    return tuple(k for k, _ in units), tuple(d for _, d in units)


@dataclass(frozen=True)
class SpliceAIConfig:
    """Configuration of :class:`SpliceAI`; defaults are the published 10,000 nt model.

    Attributes
    ----------
    context : int
        Flanking sequence the model sees, in total (half on each side): 80, 400, 2000 or
        10000 for the published variants. Must equal ``2 * sum((k - 1) * d)`` over the units.
    output_length : int
        Positions per window declared in the model card (published: 5000), so that
        ``input_length = output_length + context``; ``forward`` accepts other lengths too.
    channels : int
        Width of every hidden layer (published: 32).
    kernel_sizes, dilations : tuple of int
        One entry per residual unit; both empty (the default) means the published units
        for ``context``, written out when the model is built.
    group_size : int
        A skip tap (1x1 conv added into the skip sum) follows every ``group_size`` units
        and the last unit.
    n_tasks : int
        Output classes (published: 3, see :data:`CLASSES`).
    batch_norm_eps : float
        Batch-norm epsilon (Keras default 1e-3, used by the published models).
    batch_norm_momentum : float
        PyTorch-style running-average momentum (Keras momentum 0.99 is 0.01 here).
    """

    context: int = 10000
    output_length: int = 5000
    channels: int = 32
    kernel_sizes: tuple[int, ...] = ()
    dilations: tuple[int, ...] = ()
    group_size: int = _UNITS_PER_GROUP
    n_tasks: int = len(CLASSES)
    batch_norm_eps: float = 1e-3
    batch_norm_momentum: float = 0.01


class ResidualUnit(nn.Module):
    """BN -> ReLU -> dilated conv -> BN -> ReLU -> dilated conv, plus the input.

    (batch, channels, L) -> (batch, channels, L - 2 * trim) with ``trim = (kernel - 1) *
    dilation``: the convolutions are 'valid' and the identity branch is cropped to match.
    """

    def __init__(
        self, channels: int, kernel_size: int, dilation: int, eps: float, momentum: float
    ) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm1d(channels, eps=eps, momentum=momentum)
        self.conv1 = nn.Conv1d(channels, channels, kernel_size, dilation=dilation)
        self.bn2 = nn.BatchNorm1d(channels, eps=eps, momentum=momentum)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, dilation=dilation)
        self.trim = (kernel_size - 1) * dilation

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(torch.relu(self.bn1(x)))
        return x[..., self.trim : x.shape[-1] - self.trim] + self.conv2(torch.relu(self.bn2(h)))


class SpliceAITrunk(nn.Module):
    """Stem, residual units and the skip sum, cropped: (batch, 4, L + context) -> (batch, C, L)."""

    def __init__(self, config: SpliceAIConfig) -> None:
        super().__init__()
        c = config.channels
        self.stem = nn.Conv1d(4, c, 1)
        self.skip = nn.Conv1d(c, c, 1)
        self.units = nn.ModuleList(
            ResidualUnit(c, k, d, config.batch_norm_eps, config.batch_norm_momentum)
            for k, d in zip(config.kernel_sizes, config.dilations, strict=True)
        )
        self.tap_after = tap_positions(len(self.units), config.group_size)
        self.taps = nn.ModuleList(nn.Conv1d(c, c, 1) for _ in self.tap_after)

    def forward(self, x: Tensor) -> Tensor:
        h = self.stem(x)
        skip = self.skip(h)
        taps = iter(self.taps)
        trimmed = 0  # positions h has lost on each side since skip was last aligned with it
        for i, unit in enumerate(self.units):
            h = unit(h)
            trimmed += unit.trim
            if i in self.tap_after:
                skip = skip[..., trimmed : skip.shape[-1] - trimmed] + next(taps)(h)
                trimmed = 0
        # The last unit is always tapped, so skip has lost context / 2 on each side.
        return skip


def tap_positions(n_units: int, group_size: int) -> tuple[int, ...]:
    """0-based indices of the units followed by a skip tap: every group_size-th, and the last."""
    return tuple(i for i in range(n_units) if (i + 1) % group_size == 0 or i + 1 == n_units)


@register("spliceai", SpliceAIConfig)
class SpliceAI(nn.Module):
    """SpliceAI: (batch, 4, L + context) one-hot -> (batch, n_tasks, L) logits.

    Output ``[:, :, j]`` scores input position ``j + context // 2``; channels are
    (neither, acceptor, donor). Apply :func:`splice_probabilities` for the published
    softmax outputs.
    """

    def __init__(self, config: SpliceAIConfig) -> None:
        super().__init__()
        self.config = _resolve(config)
        self.trunk = SpliceAITrunk(self.config)
        self.head = nn.Conv1d(self.config.channels, self.config.n_tasks, 1)

    @property
    def context(self) -> int:
        """Input positions beyond the output: context // 2 on each side."""
        return self.config.context

    @property
    def input_length(self) -> int:
        """Declared input length, output_length + context (any length > context works)."""
        return self.config.output_length + self.config.context

    @property
    def n_tasks(self) -> int:
        """Number of output classes."""
        return self.config.n_tasks

    def check_input(self, x: Tensor, owner: str = "SpliceAI") -> None:
        """Raise SequenceError unless ``x`` is (batch, 4, L) with L > context."""
        need = f"(batch, 4, L + {self.context}) with L >= 1 (rows A, C, G, T)"
        if not isinstance(x, Tensor):
            raise SequenceError(
                f"{owner}: expected a tensor of shape {need}, got {type(x).__name__}"
            )
        if x.ndim != 3 or x.shape[1] != 4 or x.shape[2] <= self.context:
            raise SequenceError(
                f"{owner}: expected one-hot DNA of shape {need}, got shape {tuple(x.shape)}"
            )

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, L + context) one-hot -> (batch, n_tasks, L) logits."""
        self.check_input(x)
        return self.head(self.trunk(x))


def splice_probabilities(model: nn.Module, x: Tensor) -> Tensor:
    """Softmax over the class axis of a SpliceAI model's (or ensemble's) logits.

    Parameters
    ----------
    model : nn.Module
        A :class:`SpliceAI`, or an :class:`~dnalens.models.ensemble.Ensemble` of them with
        ``average="softmax"`` (whose logits are log mean probabilities, so this returns the
        mean of the members' probabilities).
    x : Tensor, shape (batch, 4, L + context)
        One-hot DNA, rows A, C, G, T; N is an all-zero column.

    Returns
    -------
    Tensor, shape (batch, 3, L)
        P(neither), P(acceptor), P(donor) per position; sums to 1 over axis 1.
    """
    return torch.softmax(model(x), dim=1)


def _resolve(config: SpliceAIConfig) -> SpliceAIConfig:
    """Check ``config`` and write out the published units when none are given."""
    layers.require_config("SpliceAI", config, SpliceAIConfig)
    for name in ("context", "output_length", "channels", "group_size", "n_tasks"):
        layers.require_positive("SpliceAI", name, getattr(config, name))
    if not config.kernel_sizes and not config.dilations:
        kernels, dilations = published_units(config.context)
        config = replace(config, kernel_sizes=kernels, dilations=dilations)
    if not config.kernel_sizes or len(config.kernel_sizes) != len(config.dilations):
        raise ConfigError(
            "SpliceAI: kernel_sizes and dilations need one entry per residual unit, but "
            f"kernel_sizes has {len(config.kernel_sizes)} and dilations has "
            f"{len(config.dilations)}"
        )
    layers.require_positive("SpliceAI", "kernel_sizes", config.kernel_sizes)
    layers.require_positive("SpliceAI", "dilations", config.dilations)
    odd = [
        i
        for i, (k, d) in enumerate(zip(config.kernel_sizes, config.dilations, strict=True))
        if (k - 1) * d % 2
    ]
    if odd:
        raise ConfigError(
            f"SpliceAI: (kernel_size - 1) * dilation must be even so that each unit is centred "
            f"(Keras 'same' padding is lopsided otherwise); unit {odd[0]} has kernel_size "
            f"{config.kernel_sizes[odd[0]]} and dilation {config.dilations[odd[0]]}"
        )
    implied = 2 * sum(
        (k - 1) * d for k, d in zip(config.kernel_sizes, config.dilations, strict=True)
    )
    if implied != config.context:
        raise ConfigError(
            f"SpliceAI: context is {config.context} but kernel_sizes and dilations see "
            f"2 * sum((k - 1) * d) = {implied} positions"
        )
    for name in ("batch_norm_eps", "batch_norm_momentum"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ConfigError(f"SpliceAI: {name} must be in (0, 1), got {value!r}")
    return config
