"""Enhancer-promoter pair classifier after SPEID (Singh et al., Quantitative Biology 2019).

The input is one tensor holding both anchors back to back::

    x (batch, 4, input_length)
    enhancer = x[..., :anchor_length]          anchor_length = input_length // 2
    promoter = x[..., anchor_length:]
    each half: conv (1024 x 40, valid) -> ReLU -> max-pool 20 -> dropout 0.2
               (one branch shared by both halves by default, or one branch per anchor)
    combiner "lstm" (SPEID): concatenate the two feature sequences along length
               -> BiLSTM (100 each way) -> max (or mean) over positions
       or    "dense": flatten both, concatenate
    dense 925 -> ReLU -> dropout 0.5
    dense n_tasks                              -> (batch, n_tasks) logits

SPEID reads 3 kb enhancers and 2 kb promoters; here both anchors have the same length, so a
shorter anchor is padded (with N, all-zero columns) by the data layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from dnalens.errors import ConfigError
from dnalens.models import layers
from dnalens.models.blocks_contact import require_choice
from dnalens.models.registry import register

__all__ = ["COMBINERS", "LSTM_POOLINGS", "Pair", "PairConfig", "PairTrunk"]

COMBINERS = ("lstm", "dense")
LSTM_POOLINGS = ("max", "mean")


@dataclass(frozen=True)
class PairConfig:
    """Configuration of :class:`Pair`; defaults follow SPEID.

    Attributes
    ----------
    input_length : int
        Length of the whole input, enhancer then promoter; even.
    n_tasks : int
        Outputs (1: interacting pair or not).
    conv_channels : int
        Filters of the branch convolution (SPEID: 1024).
    kernel_size : int
        Filter width (SPEID: 40).
    pool_size : int
        Max-pooling size and stride after the convolution (SPEID: 20).
    conv_dropout : float
        Dropout after pooling.
    shared_branch : bool
        True: one conv branch applied to both anchors; False: one branch per anchor.
    combiner : str
        ``"lstm"``: BiLSTM over the two feature sequences laid end to end, then pooling over
        positions; ``"dense"``: both feature maps flattened and concatenated.
    lstm_hidden : int
        LSTM units in each direction (``"lstm"`` only).
    lstm_pooling : str
        ``"max"`` or ``"mean"`` over the LSTM outputs (``"lstm"`` only).
    hidden : int
        Width of the dense layer before the output (SPEID: 925).
    dropout : float
        Dropout after the dense layer.
    batch_norm : bool
        Batch norm after the convolution and the dense layer. SPEID has none; with small
        data it keeps the ReLUs from dying (all-zero features, a constant prediction).
    """

    input_length: int
    n_tasks: int = 1
    conv_channels: int = 1024
    kernel_size: int = 40
    pool_size: int = 20
    conv_dropout: float = 0.2
    shared_branch: bool = True
    combiner: str = "lstm"
    lstm_hidden: int = 100
    lstm_pooling: str = "max"
    hidden: int = 925
    dropout: float = 0.5
    batch_norm: bool = False


def _branch(config: PairConfig) -> nn.Sequential:
    """(batch, 4, anchor_length) -> (batch, conv_channels, branch_length)."""
    return layers.conv_block(
        4,
        config.conv_channels,
        config.kernel_size,
        pool_size=config.pool_size,
        dropout=config.conv_dropout,
        batch_norm=config.batch_norm,
    )


class PairTrunk(nn.Module):
    """Branches and combiner: (batch, 4, input_length) -> (batch, hidden) features."""

    def __init__(self, config: PairConfig, branch_length: int) -> None:
        super().__init__()
        self.anchor_length = config.input_length // 2
        self.combiner = config.combiner
        self.lstm_pooling = config.lstm_pooling
        if config.shared_branch:
            self.branch = _branch(config)
        else:
            self.enhancer_branch = _branch(config)
            self.promoter_branch = _branch(config)
        if config.combiner == "lstm":
            self.lstm = layers.BiLSTM(config.conv_channels, config.lstm_hidden)
            features = 2 * config.lstm_hidden
        else:
            features = 2 * config.conv_channels * branch_length
        self.dense = layers.dense_block(features, config.hidden, dropout=config.dropout,
                                        batch_norm=config.batch_norm)

    def branch_features(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Conv features of each anchor, computed independently.

        Parameters
        ----------
        x : Tensor, shape (batch, 4, input_length)
            Enhancer in the first half, promoter in the second.

        Returns
        -------
        (Tensor, Tensor), each shape (batch, conv_channels, branch_length)
            Enhancer features, promoter features.
        """
        enhancer, promoter = x[..., : self.anchor_length], x[..., self.anchor_length :]
        if hasattr(self, "branch"):
            return self.branch(enhancer), self.branch(promoter)
        return self.enhancer_branch(enhancer), self.promoter_branch(promoter)

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) -> (batch, hidden)."""
        enhancer, promoter = self.branch_features(x)
        if self.combiner == "lstm":
            seq = self.lstm(torch.cat([enhancer, promoter], dim=-1))  # (batch, 2 L', 2 H)
            pooled = seq.amax(dim=1) if self.lstm_pooling == "max" else seq.mean(dim=1)
        else:
            pooled = torch.cat([enhancer.flatten(1), promoter.flatten(1)], dim=1)
        return self.dense(pooled)


@register("pair", PairConfig)
class Pair(layers.ConfigShape, nn.Module):
    """Enhancer-promoter pair: (batch, 4, input_length) one-hot -> (batch, n_tasks) logits.

    Bases ``[0, input_length // 2)`` are the enhancer anchor, the rest the promoter anchor.
    """

    output_kind: ClassVar[str] = "pair"

    def __init__(self, config: PairConfig) -> None:
        super().__init__()
        branch_length = _validate(config)
        self.config = config
        self.trunk = PairTrunk(config, branch_length)
        self.head = nn.Linear(config.hidden, config.n_tasks)



    @property
    def anchor_length(self) -> int:
        """Length of each anchor, ``input_length // 2``."""
        return self.config.input_length // 2

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot, enhancer then promoter -> (batch, n_tasks) logits."""
        layers.check_input(x, self.config.input_length, "Pair")
        return self.head(self.trunk(x))


def _validate(config: PairConfig) -> int:
    """Check ``config``; return the length of each branch's output."""
    owner = "Pair"
    layers.require_config(owner, config, PairConfig)
    for name in (
        "input_length",
        "n_tasks",
        "conv_channels",
        "kernel_size",
        "pool_size",
        "lstm_hidden",
        "hidden",
    ):
        layers.require_positive(owner, name, getattr(config, name))
    layers.require_dropout(owner, "conv_dropout", config.conv_dropout)
    layers.require_dropout(owner, "dropout", config.dropout)
    if not isinstance(config.shared_branch, bool):
        raise ConfigError(
            f"{owner}: shared_branch must be true or false, got {config.shared_branch!r}"
        )
    require_choice(owner, "combiner", config.combiner, COMBINERS)
    require_choice(owner, "lstm_pooling", config.lstm_pooling, LSTM_POOLINGS)
    if config.input_length % 2:
        raise ConfigError(
            f"{owner}: input_length must be even (enhancer then promoter, equal halves), "
            f"got {config.input_length}; use {config.input_length - 1} or "
            f"{config.input_length + 1}"
        )
    stages: list[layers.Stage] = [("conv", config.kernel_size), ("pool", config.pool_size)]
    branch_length = layers.length_after(config.input_length // 2, stages)
    if branch_length < 1:
        need = layers.min_input_length(stages)
        raise ConfigError(
            f"{owner}: anchor_length {config.input_length // 2} (input_length "
            f"{config.input_length} / 2) is too short for kernel_size {config.kernel_size} and "
            f"pool_size {config.pool_size}; the minimum input_length is {2 * need}"
        )
    return branch_length
