"""Checks of a run config that name the YAML file and the dotted key.

Two kinds, apart from the schema in :mod:`dnalens.config`:

* :func:`describe_validation_error` turns pydantic's report into one line
  (``run.yaml: train.lr: input should be greater than 0; got -1``); it lives in
  :mod:`dnalens.config_errors`, which the schema uses, and is re-exported here.
* :func:`check_for_training` runs before ``dnalens train`` builds any data or creates
  the run folder: the model name and parameters (against the registry, then by building
  the model on the shapes the config implies) and the input files the config names. A
  misspelled parameter then costs a second, not a data build and a blocked run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from dnalens.config_errors import describe_validation_error
from dnalens.errors import ConfigError, DnalensError, InputFileError

if TYPE_CHECKING:
    from dnalens.config import RunConfig

__all__ = ["check_for_training", "check_input_paths", "check_model", "describe_validation_error"]

_OUTPUT_FIELDS = {"output_dir"}


def check_for_training(config: RunConfig, source: str = "config") -> None:
    """Everything about a run config that can be checked before its data are built.

    Raises
    ------
    ConfigError
        The model name or a model parameter is wrong (names ``source`` and the key).
    InputFileError
        An input file the config names does not exist.
    """
    check_model(config, source)
    check_input_paths(config, source)


def check_model(config: RunConfig, source: str = "config") -> None:
    """The model name against the registry, its parameters against the model's config
    fields and types, then a trial build on the shapes the data section implies."""
    import dnalens.models  # noqa: F401  (fills the registry)
    from dnalens.models.registry import ParamError, check_params

    name, params = config.model.name, dict(config.model.params)
    try:
        check_params(name, params)
    except ParamError as err:
        key = "model.name" if err.key is None else f"model.params.{err.key}"
        raise ConfigError(f"{source}: {key}: {err.problem}") from None
    implied = _implied_shapes(config)
    if implied is not None:
        _trial_build(name, {**implied, **params}, source)


def check_input_paths(config: RunConfig, source: str = "config") -> None:
    """Every input file or folder the config names exists (``output_dir`` need not)."""
    for key, path in _paths(config, ()):
        file = Path(str(path).partition("::")[0])  # a .mcool URI names a group after '::'
        if not file.exists():
            raise InputFileError(f"{source}: {key}: no such file or folder '{file}'")


def _paths(value: Any, loc: tuple) -> list[tuple[str, Path]]:
    if isinstance(value, BaseModel):
        found = []
        for name in type(value).model_fields:
            if not loc and name in _OUTPUT_FIELDS:
                continue
            found.extend(_paths(getattr(value, name), (*loc, name)))
        return found
    if isinstance(value, Path):
        return [(".".join(str(p) for p in loc), value)]
    if isinstance(value, (list, tuple)):
        return [hit for i, v in enumerate(value) for hit in _paths(v, (*loc, i))]
    return []


def _implied_shapes(config: RunConfig) -> dict[str, int] | None:
    """The shape parameters the data will give, where the config alone says them."""
    data = config.data
    if data.kind == "peaks":
        return {"input_length": data.windows.input_length, "n_tasks": len(data.targets)}
    if data.kind == "splice":
        return {"context": data.splice.context, "output_length": data.splice.output_length,
                "n_tasks": 3}
    return None  # tables, tracks, contact maps and pairs: known once the files are read


def _trial_build(name: str, params: dict, source: str) -> None:
    """Build the model without allocating its weights (meta device), to catch parameters
    that are each fine but do not fit together (e.g. lengths of per-layer lists)."""
    import torch

    from dnalens.models.registry import build_model

    try:
        with torch.device("meta"):
            build_model(name, **params)
    except DnalensError as err:
        raise ConfigError(f"{source}: model.params: {err}") from None
    except Exception:  # a model that cannot be built on the meta device: try for real
        try:
            build_model(name, **params)
        except DnalensError as err:
            raise ConfigError(f"{source}: model.params: {err}") from None
        except (ValueError, TypeError, RuntimeError, IndexError) as err:
            raise ConfigError(f"{source}: model.params: cannot build '{name}' "
                              f"({type(err).__name__}: {_first_line(err)})") from None


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else ""
