"""A single logistic unit on the flattened one-hot sequence: the teaching case.

Every base at every position gets its own weight, so the model is a position-specific
scoring matrix plus a bias; with one task it is exactly logistic regression.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from dnalens.models import layers
from dnalens.models.registry import register

__all__ = ["Neuron", "NeuronConfig"]


@dataclass(frozen=True)
class NeuronConfig:
    """Configuration of :class:`Neuron`.

    Attributes
    ----------
    input_length : int
        Sequence length L the model takes.
    n_tasks : int
        Number of outputs (one logit each).
    """

    input_length: int
    n_tasks: int


@register("neuron", NeuronConfig)
class Neuron(nn.Module):
    """Linear(4 * L, n_tasks) on the flattened one-hot: (batch, 4, L) -> (batch, n_tasks) logits."""

    def __init__(self, config: NeuronConfig) -> None:
        super().__init__()
        layers.require_config("Neuron", config, NeuronConfig)
        layers.require_positive("Neuron", "input_length", config.input_length)
        layers.require_positive("Neuron", "n_tasks", config.n_tasks)
        self.config = config
        self.trunk = nn.Flatten()
        self.head = nn.Linear(4 * config.input_length, config.n_tasks)

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot -> (batch, n_tasks) logits."""
        layers.check_input(x, self.config.input_length, "Neuron")
        return self.head(self.trunk(x))
