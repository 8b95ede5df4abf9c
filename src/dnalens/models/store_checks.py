"""Checks that a model folder's card and weights fit the model they describe.

Used by :mod:`dnalens.models.store` when loading; each failure is one
:class:`~dnalens.errors.ModelFileError` line naming the file (``model.json`` or
``model.safetensors``) and what was expected and found, so a damaged or mismatched folder
never loads into a model that gives wrong numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dnalens.errors import ConfigError, ModelFileError
from dnalens.models import registry

__all__ = ["build_from_card", "check_weights"]

# How many offending tensor names an error lists before saying "and N more".
_NAMES_SHOWN = 3
_CARD_FILE = "model.json"


def build_from_card(card_path: Path, name: str, config: dict[str, Any], input_length: int,
                    n_tasks: int) -> nn.Module:
    """The freshly initialised model that ``model.json`` describes.

    Raises
    ------
    ModelFileError
        An unknown model or bad config, or a card whose ``input_length`` / ``n_tasks``
        disagree with the model its config builds.
    """
    try:
        model = registry.model_from_spec({"name": name, "config": config})
    except ConfigError as err:
        raise ModelFileError(f"{card_path}: {err}") from None
    except (ValueError, TypeError, RuntimeError, ArithmeticError, IndexError) as err:
        # Configs are validated by each model; this is the net for a value none checks.
        raise ModelFileError(f"{card_path}: its config cannot build model '{name}' "
                             f"({_one_line(err)})") from None
    try:
        shape = registry.io_shape(model)
    except ConfigError:
        return model  # a model without a fixed shape: nothing to compare
    if shape != (input_length, n_tasks):
        raise ModelFileError(
            f"{card_path}: input_length {input_length} and n_tasks {n_tasks} disagree with "
            f"the model its config builds ({shape[0]}, {shape[1]}); the card was edited or "
            "is damaged")
    return model


def check_weights(path: Path, name: str, model: nn.Module,
                  tensors: Mapping[str, torch.Tensor]) -> None:
    """Raise ModelFileError naming the first few tensors that do not fit the model: missing
    or unexpected names, wrong shapes, a dtype of the wrong kind, NaN or infinite values."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    problems = []
    if missing:
        problems.append(f"missing {_list_names(missing)}")
    if unexpected:
        problems.append(f"unexpected {_list_names(unexpected)}")
    if problems:
        raise ModelFileError(
            f"{path}: tensors do not match model '{name}' in {_CARD_FILE}: " + "; ".join(problems)
        )
    wrong = [
        f"{k} is {tuple(tensors[k].shape)}, model wants {tuple(v.shape)}"
        for k, v in expected.items()
        if tuple(tensors[k].shape) != tuple(v.shape)
    ]
    _raise_if(wrong, f"{path}: tensor shapes do not match model '{name}' in {_CARD_FILE}")
    # load_state_dict would cast an integer or bool tensor into float weights without a word.
    kinds = [
        f"{k} is {tensors[k].dtype}, model wants {v.dtype}"
        for k, v in expected.items()
        if tensors[k].dtype.is_floating_point != v.dtype.is_floating_point
        or (tensors[k].dtype == torch.bool) != (v.dtype == torch.bool)
    ]
    _raise_if(kinds, f"{path}: tensor types do not match model '{name}' in {_CARD_FILE}")
    bad = [k for k, t in tensors.items()
           if t.dtype.is_floating_point and not bool(torch.isfinite(t).all())]
    _raise_if(bad, f"{path}: NaN or infinite values in tensor(s)")


def _raise_if(items: list[str], prefix: str) -> None:
    if items:
        more = f" (and {len(items) - _NAMES_SHOWN} more)" if len(items) > _NAMES_SHOWN else ""
        raise ModelFileError(f"{prefix}: " + "; ".join(items[:_NAMES_SHOWN]) + more)


def _list_names(names: list[str]) -> str:
    shown = ", ".join(names[:_NAMES_SHOWN])
    more = f" (and {len(names) - _NAMES_SHOWN} more)" if len(names) > _NAMES_SHOWN else ""
    return shown + more


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
