"""Average several trained models into one.

Members are stored as specs (``{"name": ..., "config": {...}}``, see
:func:`dnalens.models.registry.model_spec`), so an ensemble saves and loads like any other
model. Averaging in probability space (the default) is the usual choice for sigmoid outputs;
the result is turned back into a logit so that an ensemble keeps the logits contract.
``"softmax"`` does the same for class outputs (batch, classes, ...) such as SpliceAI's: the
members' softmax probabilities over axis 1 are averaged, as the published SpliceAI tool does,
and their log is returned, so ``softmax(ensemble(x), dim=1)`` is that mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from dnalens.errors import ConfigError
from dnalens.models import layers, registry
from dnalens.models.registry import register

__all__ = ["AVERAGES", "Ensemble", "EnsembleConfig", "core_model"]

AVERAGES = ("probability", "output", "softmax")

# Keeps logit() finite when every member is certain.
_EPS = 1e-7


@dataclass(frozen=True)
class EnsembleConfig:
    """Configuration of :class:`Ensemble`.

    Attributes
    ----------
    members : tuple of dict
        One spec per member, ``{"name": <registered name>, "config": {...}}``.
    average : str
        ``"probability"``: logit(mean(sigmoid(member logits))); ``"output"``: mean of the
        member outputs; ``"softmax"``: log(mean(softmax(member logits, axis 1))).
    """

    members: tuple[dict[str, Any], ...]
    average: str = "probability"


@register("ensemble", EnsembleConfig)
class Ensemble(nn.Module):
    """Mean of member models: (batch, 4, input_length) -> (batch, n_tasks) logits.

    Members whose output has a length axis, (batch, n_tasks, L), give that shape too.
    Members that take inputs of any length (they have a ``check_input(x, owner)`` method,
    like :class:`~dnalens.models.spliceai.SpliceAI`) must also agree on their ``context``.

    The stored ``config`` has every member spec filled in with its defaults, so a saved
    ensemble does not depend on defaults that may change later.
    """

    def __init__(self, config: EnsembleConfig) -> None:
        super().__init__()
        if not isinstance(config, EnsembleConfig):
            raise ConfigError(
                f"Ensemble: config must be an EnsembleConfig, got {type(config).__name__}"
            )
        if config.average not in AVERAGES:
            raise ConfigError(
                f"Ensemble: average must be one of {', '.join(AVERAGES)}, got {config.average!r}"
            )
        if (
            isinstance(config.members, (str, Mapping))
            or not isinstance(config.members, Sequence)
            or not config.members
        ):
            raise ConfigError(
                "Ensemble: members must be a non-empty list of model specs, "
                f"got {config.members!r:.60}"
            )
        self.members = nn.ModuleList(
            _build_member(i, spec) for i, spec in enumerate(config.members)
        )
        shapes = [(*registry.io_shape(m), getattr(m, "context", None)) for m in self.members]
        if len(set(shapes)) > 1:
            listed = ", ".join(
                f"{i}: ({length}, {tasks}" + (f", context {ctx})" if ctx is not None else ")")
                for i, (length, tasks, ctx) in enumerate(shapes)
            )
            raise ConfigError(
                "Ensemble: members must agree on (input_length, n_tasks), got " + listed
            )
        self.config = replace(config, members=tuple(registry.model_spec(m) for m in self.members))

    @property
    def input_length(self) -> int:
        """Sequence length every member takes."""
        return registry.io_shape(self.members[0])[0]

    @property
    def n_tasks(self) -> int:
        """Number of outputs of every member."""
        return registry.io_shape(self.members[0])[1]

    @classmethod
    def from_models(cls, models: Sequence[nn.Module], average: str = "probability") -> Ensemble:
        """Ensemble of copies of registered models, weights included.

        Parameters
        ----------
        models : sequence of nn.Module
            Registered dnalens models with equal input_length and n_tasks.
        average : str
            ``"probability"``, ``"output"`` or ``"softmax"``, see :class:`EnsembleConfig`.

        Returns
        -------
        Ensemble
            On the CPU, in eval mode unless some input model was in training mode. The
            inputs are not modified or shared.
        """
        models = list(models)
        config = EnsembleConfig(
            members=tuple(registry.model_spec(m) for m in models), average=average
        )
        ensemble = cls(config)
        for member, model in zip(ensemble.members, models, strict=True):
            member.load_state_dict({k: v.detach().cpu() for k, v in model.state_dict().items()})
        ensemble.train(any(m.training for m in models))
        return ensemble

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot -> (batch, n_tasks[, L]) averaged logits."""
        check = getattr(self.members[0], "check_input", None)
        if callable(check):
            check(x, "Ensemble")
        else:
            layers.check_input(x, self.input_length, "Ensemble")
        outputs = torch.stack([member(x) for member in self.members])  # (members, batch, tasks)
        if self.config.average == "output":
            return outputs.mean(dim=0)
        if self.config.average == "softmax":
            p = torch.softmax(outputs, dim=2).mean(dim=0)
            return torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))
        p = torch.sigmoid(outputs).mean(dim=0).clamp(_EPS, 1 - _EPS)
        return torch.logit(p)


def _build_member(i: int, spec: Any) -> nn.Module:
    try:
        return registry.model_from_spec(spec)
    except ConfigError as err:
        raise ConfigError(f"Ensemble member {i}: {err}") from None


def core_model(model: nn.Module) -> nn.Module:
    """The model itself, or an ensemble's first member: members share their input and output
    layout (context, bins, output kind), so this is where to read it."""
    members = getattr(model, "members", None)
    return members[0] if members else model
