"""One line for a pydantic validation error of a run config: the file, the dotted key, what
was wrong (``run.yaml: train.lr: input should be greater than 0; got -1``).

Apart from :mod:`dnalens.config_checks` (which checks a parsed config against the model
registry) so that :mod:`dnalens.config` can use it without importing the models.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["describe_validation_error"]

# Pydantic names the member of a union that failed as an extra part of the location
# ('train.pos_weight.literal[...]', 'train.devices.int'); these are not keys of the YAML.
_UNION_TAG = re.compile(r"^(str|int|float|bool|none|[a-z]+-[a-z-]+|[a-z-]+\[.*\])$")


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
