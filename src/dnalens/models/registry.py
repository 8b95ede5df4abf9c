"""Model names -> (model class, config class), and the config <-> dict round trip.

Each family module registers itself with ``@register("deepsea", DeepSEAConfig)``;
importing :mod:`dnalens.models` imports every family, so the registry is full before any
lookup. A *spec* is the JSON-ready description of a model::

    {"name": "deepsea", "config": {"input_length": 1000, "n_tasks": 919, ...}}

Tuples in configs become lists in a spec and are turned back into tuples when the spec is
built, using the config's type hints.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from torch import nn

from dnalens.errors import ConfigError

__all__ = [
    "ParamError",
    "build_model",
    "check_params",
    "io_shape",
    "model_from_spec",
    "model_names",
    "model_spec",
    "register",
]

M = TypeVar("M", bound=type[nn.Module])


@dataclasses.dataclass(frozen=True)
class _Entry:
    model_cls: type[nn.Module]
    config_cls: type


_REGISTRY: dict[str, _Entry] = {}


class ParamError(ConfigError):
    """A model name or parameter a config gives is not one the model has or can take.

    ``key`` is the parameter (None for the model name) and ``problem`` the message without
    the model's name, so a caller can say where in its YAML file the value is.
    """

    def __init__(self, message: str, *, key: str | None, problem: str) -> None:
        super().__init__(message)
        self.key, self.problem = key, problem


def register(name: str, config_cls: type) -> Callable[[M], M]:
    """Class decorator that makes a model buildable by name.

    Parameters
    ----------
    name : str
        Lower-case name used in run configs and model.json, e.g. ``"deepsea"``.
    config_cls : type
        Frozen dataclass the model's ``__init__`` takes.

    Returns
    -------
    callable
        The decorator; it returns the class unchanged.
    """
    if not dataclasses.is_dataclass(config_cls):
        raise ConfigError(f"register({name!r}): {config_cls!r} is not a dataclass")

    def decorate(model_cls: M) -> M:
        old = _REGISTRY.get(name)
        # Re-registering the same class (a module reload) is harmless; a second class under
        # one name would make saved models ambiguous.
        if old is not None and _qualified(old.model_cls) != _qualified(model_cls):
            raise ConfigError(
                f"register({name!r}): name already used by {_qualified(old.model_cls)}"
            )
        _REGISTRY[name] = _Entry(model_cls, config_cls)
        return model_cls

    return decorate


def model_names() -> list[str]:
    """Names of all registered models, sorted."""
    return sorted(_REGISTRY)


def build_model(name: str, **params: Any) -> nn.Module:
    """Build a registered model from its name and config parameters.

    Parameters
    ----------
    name : str
        A name from :func:`model_names`.
    **params
        Config fields; lists are accepted where the config wants tuples.

    Returns
    -------
    nn.Module
        Maps (batch, 4, input_length) -> (batch, n_tasks) logits.

    Raises
    ------
    ConfigError
        Unknown name, unknown or missing parameter, or a value of the wrong type.
    """
    entry = _lookup(name)
    values = check_params(name, params)
    fields = {f.name: f for f in dataclasses.fields(entry.config_cls)}
    missing = [
        f.name
        for f in fields.values()
        if f.name not in params
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"model '{name}' needs parameter(s) {', '.join(missing)}")
    return entry.model_cls(entry.config_cls(**values))


def check_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check a model name and some of its parameters without building the model.

    Parameters
    ----------
    name : str
        A name from :func:`model_names`.
    params : mapping
        Config fields (those the data imply, such as ``n_tasks``, may be left out).

    Returns
    -------
    dict
        The parameters converted as the config wants them (lists to tuples, int to float).

    Raises
    ------
    ParamError
        Unknown name, unknown parameter, or a value of the wrong type.
    """
    entry = _lookup(name)
    fields = [f.name for f in dataclasses.fields(entry.config_cls)]
    for key in params:
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            allowed = ", ".join(sorted(fields))
            raise ParamError(f"model '{name}' has no parameter '{key}'{hint}; allowed: {allowed}",
                             key=key, problem=f"not a parameter of {name}{hint}; it has "
                                              f"{allowed}")
    hints = typing.get_type_hints(entry.config_cls)
    return {key: _coerce(name, key, hints.get(key, Any), value) for key, value in params.items()}


def model_spec(model: nn.Module) -> dict[str, Any]:
    """JSON-ready description of a registered model: ``{"name": ..., "config": {...}}``."""
    for name, entry in _REGISTRY.items():
        if type(model) is entry.model_cls:
            config = getattr(model, "config", None)
            if not isinstance(config, entry.config_cls):
                raise ConfigError(
                    f"model '{name}': .config is {type(config).__name__}, "
                    f"expected {entry.config_cls.__name__}"
                )
            return {"name": name, "config": _jsonable(dataclasses.asdict(config))}
    raise ConfigError(
        f"{type(model).__name__} is not a registered dnalens model; "
        f"known models: {', '.join(model_names())}"
    )


def model_from_spec(spec: Mapping[str, Any]) -> nn.Module:
    """Inverse of :func:`model_spec`: build a freshly initialised model from a spec."""
    if (
        not isinstance(spec, Mapping)
        or not isinstance(spec.get("name"), str)
        or not isinstance(spec.get("config"), Mapping)
    ):
        raise ConfigError(
            'a model spec is {"name": <str>, "config": {<parameters>}}, '
            f"got {_short_repr(spec)}"
        )
    return build_model(spec["name"], **spec["config"])


def io_shape(model: nn.Module) -> tuple[int, int]:
    """(input_length, n_tasks) of a model, read from its config or its own properties."""
    source = model.config if hasattr(getattr(model, "config", None), "input_length") else model
    try:
        return int(source.input_length), int(source.n_tasks)
    except AttributeError:
        raise ConfigError(f"{type(model).__name__} declares no input_length / n_tasks") from None


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _lookup(name: str) -> _Entry:
    if not isinstance(name, str) or name not in _REGISTRY:
        known = ", ".join(model_names())
        close = difflib.get_close_matches(name, model_names(), n=1) if isinstance(name, str) \
            else []
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ParamError(f"unknown model {name!r}; known models: {known}", key=None,
                         problem=f"unknown model {name!r}{hint}; known: {known}")
    return _REGISTRY[name]


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _coerce(model: str, key: str, hint: Any, value: Any) -> Any:
    """Check ``value`` against a simple type hint, converting lists to tuples and int to float.

    Only the hints configs use are understood (int, float, bool, str, dict, tuple[X, ...]);
    anything else passes through for the model's own validation.
    """

    def fail(expected: str) -> ConfigError:
        problem = f"must be {expected}, got {type(value).__name__} {_short_repr(value)}"
        return ParamError(f"model '{model}': parameter '{key}' {problem}", key=key,
                          problem=problem)

    origin = typing.get_origin(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise fail("true or false")
        return value
    if hint is int:
        # bool is an int subclass, but `n_tasks: true` is surely a mistake.
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail("an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail("a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise fail("a string")
        return value
    if hint is dict or origin is dict:
        if not isinstance(value, Mapping):
            raise fail("a mapping")
        return dict(value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise fail("a list")
        args = typing.get_args(hint)
        item_hint = args[0] if args else Any
        return tuple(_coerce(model, key, item_hint, v) for v in value)
    if origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint):
        if value is None:
            return None
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(model, key, inner[0], value) if len(inner) == 1 else value
    return value


def _jsonable(value: Any) -> Any:
    """Tuples -> lists, recursively, so a spec survives json.dumps / json.loads unchanged."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
