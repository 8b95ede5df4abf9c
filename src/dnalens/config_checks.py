"""Checks of a run config that name the YAML file and the dotted key.

Two kinds live here, apart from the schema in :mod:`dnalens.config`:

* :func:`describe_validation_error` turns pydantic's report into one line
  (``run.yaml: train.lr: input should be greater than 0; got -1``).
* :func:`check_for_training` runs before ``dnalens train`` builds any data or creates
  the run folder: the model name and parameters (against the registry, then by building
  the model on the shapes the config implies) and the input files the config names. A
  misspelled parameter then costs a second, not a data build and a blocked run folder.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from dnalens.errors import ConfigError, DnalensError, InputFileError

if TYPE_CHECKING:
    from dnalens.config import RunConfig

__all__ = ["check_for_training", "check_input_paths", "check_model", "describe_validation_error"]

# Pydantic names the member of a union that failed as an extra part of the location
# ('train.pos_weight.literal[...]', 'train.devices.int'); these are not keys of the YAML.
_UNION_TAG = re.compile(r"^(str|int|float|bool|none|[a-z]+-[a-z-]+|[a-z-]+\[.*\])$")
_OUTPUT_FIELDS = {"output_dir"}


def describe_validation_error(error: ValidationError, schema: type[BaseModel],
                              source: str) -> str:
    """One line for a pydantic error: the file, the dotted key, what was wrong.

    An unknown key is reported first (a typo explains a "missing" key next to it); the
    failures of each member of a union are told together; a check made across keys
    (a model validator) gives its own message, not the whole input back.
    """
    errors = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
    grouped: dict[tuple, list[dict]] = {}
    for item in errors:
        grouped.setdefault(_clean_loc(schema, tuple(item["loc"])), []).append(item)
    loc, items = next(iter(grouped.items()))
    where = ".".join(str(p) for p in loc)
    first = items[0]
    if first["type"] == "extra_forbidden":
        hint = _suggest(str(loc[-1]), _allowed_keys(schema, loc))
        message = f"unknown key '{where}'{hint}"
    elif first["type"] == "missing":
        message = f"missing required key '{where}'"
    elif first["type"] == "value_error":
        reason = str(first.get("ctx", {}).get("error", first["msg"]))
        message = f"{where}: {reason}" if where else reason
    else:
        reasons = " or ".join(dict.fromkeys(_lower_first(i["msg"]) for i in items))
        message = f"{where or '(top level)'}: {reasons}; got {_short(first.get('input'))}"
    more = len(grouped) - 1
    return f"{source}: {message}" + (f" (and {more} more problem(s))" if more else "")


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


def _clean_loc(schema: type[BaseModel], loc: tuple) -> tuple:
    """The location less the union-member tags pydantic appends."""
    return tuple(p for i, p in enumerate(loc)
                 if not (i and isinstance(p, str) and _UNION_TAG.match(p)
                         and p not in _allowed_keys(schema, loc[: i + 1])))


def _suggest(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names at the parent of ``loc`` in the schema, for 'did you mean' hints."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if field is None:
            return []
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        for arg in list(candidates):
            candidates.extend(getattr(arg, "__args__", ()))
        current = next((c for c in candidates if isinstance(c, type)
                        and issubclass(c, BaseModel)), None)
        if current is None:
            return []
    return list(current.model_fields)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else ""
