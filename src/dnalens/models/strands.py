"""Score both strands of the input and average: a reverse-complement-symmetric model.

A TF binds double-stranded DNA, so a window and its reverse complement should get the same
score; a plain CNN gives them different ones, and with few positives the difference is
mostly noise. Averaging the two strands' outputs (Shrikumar et al. 2017, "post-hoc
conjoined"; DeepBind, Basset and Enformer do it at test time) removes that noise for the
price of a second forward pass. Used in training too, the average is what the loss sees
("conjoined" training), so the network never has to learn the symmetry itself.

Stored as a spec like any model (``{"name": "both_strands", "config": {...}}``, the inner
model's parameters filled in), so it trains, saves and loads like one::

    model:
      name: both_strands
      params: {model: basset, params: {conv_channels: [64, 64, 64]}}
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor, nn

from dnalens.errors import ConfigError
from dnalens.models import layers, registry
from dnalens.models.registry import register

__all__ = ["STRAND_AVERAGES", "BothStrands", "BothStrandsConfig", "reverse_complement"]

STRAND_AVERAGES = ("probability", "output")

# Keeps logit() finite when both strands are certain.
_EPS = 1e-7


def reverse_complement(x: Tensor) -> Tensor:
    """Reverse complement of one-hot DNA (batch, 4, length), rows A, C, G, T.

    Reversing the rows maps A<->T and C<->G; reversing the length axis reverses the strand.
    An all-zero (N) column stays all-zero.
    """
    return x.flip(1).flip(2)


@dataclass(frozen=True)
class BothStrandsConfig:
    """Configuration of :class:`BothStrands`.

    Attributes
    ----------
    input_length : int
        Sequence length, passed to the inner model.
    n_tasks : int
        Number of outputs, passed to the inner model.
    model : str
        Registered name of the inner model, e.g. ``"basset"``.
    params : dict
        The inner model's other parameters (not input_length / n_tasks).
    average : str
        ``"output"``: mean of the two strands' logits (the usual choice for conjoined
        training); ``"probability"``: logit(mean(sigmoid)), as :class:`Ensemble` averages.
    """

    input_length: int
    n_tasks: int
    model: str = "deepsea"
    params: dict[str, Any] = field(default_factory=dict)
    average: str = "output"


@register("both_strands", BothStrandsConfig)
class BothStrands(layers.ConfigShape, nn.Module):
    """Mean over strands: (batch, 4, input_length) -> (batch, n_tasks) logits, the same for
    a sequence and its reverse complement."""

    def __init__(self, config: BothStrandsConfig) -> None:
        super().__init__()
        if not isinstance(config, BothStrandsConfig):
            raise ConfigError(f"BothStrands: config must be a BothStrandsConfig, got "
                              f"{type(config).__name__}")
        if config.average not in STRAND_AVERAGES:
            raise ConfigError(f"both_strands: average must be one of "
                              f"{', '.join(STRAND_AVERAGES)}, got {config.average!r}")
        if config.model == "both_strands":
            raise ConfigError("both_strands: the inner model cannot be both_strands itself")
        shape = {"input_length": config.input_length, "n_tasks": config.n_tasks}
        given = sorted(set(shape) & set(config.params))
        if given:
            raise ConfigError(f"both_strands: params must not give {', '.join(given)} (the "
                              "outer model passes them on)")
        try:
            self.model = registry.build_model(config.model, **shape, **config.params)
        except ConfigError as err:
            raise ConfigError(f"both_strands: inner model: {err}") from None
        filled = registry.model_spec(self.model)["config"]
        self.config = replace(config, params={k: v for k, v in filled.items() if k not in shape})

    @classmethod
    def wrap(cls, model: nn.Module, average: str = "probability") -> BothStrands:
        """Both-strand averaging around a copy of a trained registered model, weights included.

        Parameters
        ----------
        model : nn.Module
            A registered dnalens model with (batch, 4, L) -> (batch, n_tasks) outputs.
        average : str
            ``"probability"`` (default, the usual test-time choice) or ``"output"``.

        Returns
        -------
        BothStrands
            On the CPU, in the input model's train / eval mode; the input is not modified.
        """
        spec = registry.model_spec(model)
        params = dict(spec["config"])
        shape = {key: params.pop(key) for key in ("input_length", "n_tasks")
                 if key in params}
        if len(shape) < 2:
            raise ConfigError(f"both_strands: {spec['name']} takes no input_length / n_tasks "
                              "parameters; only window models can be wrapped")
        wrapped = cls(BothStrandsConfig(**shape, model=spec["name"], params=params,
                                        average=average))
        wrapped.model.load_state_dict({k: v.detach().cpu()
                                       for k, v in model.state_dict().items()})
        return wrapped.train(model.training)

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot -> (batch, n_tasks) strand-averaged logits."""
        layers.check_input(x, self.config.input_length, "BothStrands")
        # One pass over both strands: batch norm sees the same batch statistics for both.
        both = self.model(torch.cat([x, reverse_complement(x)]))
        forward, reverse = both[: x.shape[0]], both[x.shape[0]:]
        if self.config.average == "output":
            return (forward + reverse) / 2
        p = ((torch.sigmoid(forward) + torch.sigmoid(reverse)) / 2).clamp(_EPS, 1 - _EPS)
        return torch.logit(p)

