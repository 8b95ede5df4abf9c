"""Multilayer perceptron on the flattened one-hot sequence.

A step up from :mod:`dnalens.models.neuron`: hidden layers let it combine bases, but without
convolutions it has to learn a motif separately at every position.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from torch import Tensor, nn

from dnalens.models import layers
from dnalens.models.registry import register

__all__ = ["MLP", "MLPConfig"]


@dataclass(frozen=True)
class MLPConfig:
    """Configuration of :class:`MLP`.

    Attributes
    ----------
    input_length : int
        Sequence length L the model takes.
    n_tasks : int
        Number of outputs (one logit each).
    hidden_sizes : tuple of int
        Width of each hidden layer (Linear -> ReLU -> Dropout); empty gives a plain
        logistic model.
    dropout : float
        Dropout after each hidden layer.
    """

    input_length: int
    n_tasks: int
    hidden_sizes: tuple[int, ...] = (256, 64)
    dropout: float = 0.2


@register("mlp", MLPConfig)
class MLP(nn.Module):
    """Flatten -> hidden layers -> Linear: (batch, 4, L) -> (batch, n_tasks) logits."""

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        layers.require_config("MLP", config, MLPConfig)
        layers.require_positive("MLP", "input_length", config.input_length)
        layers.require_positive("MLP", "n_tasks", config.n_tasks)
        layers.require_positive("MLP", "hidden_sizes", config.hidden_sizes)
        layers.require_dropout("MLP", "dropout", config.dropout)
        self.config = config

        widths = [4 * config.input_length, *config.hidden_sizes]
        blocks = [
            layers.dense_block(n_in, n_out, dropout=config.dropout)
            for n_in, n_out in itertools.pairwise(widths)
        ]
        self.trunk = nn.Sequential(nn.Flatten(), *blocks)
        self.head = nn.Linear(widths[-1], config.n_tasks)

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot -> (batch, n_tasks) logits."""
        layers.check_input(x, self.config.input_length, "MLP")
        return self.head(self.trunk(x))
