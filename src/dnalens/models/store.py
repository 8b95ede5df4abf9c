"""Save and load trained models: ``model.safetensors`` (weights) + ``model.json`` (card).

Nothing here unpickles: weights go through safetensors, the description through JSON, and a
model is rebuilt from its registered name and config before the weights are copied in. Both
files are written to a temporary file in the target folder and renamed into place, so a
crash mid-save never leaves a half-written file under the real name.

model.json::

    {"format": "dnalens-model", "format_version": 1, "dnalens_version": "0.1.0",
     "name": "deepsea", "config": {...}, "tasks": ["ctcf", ...], "input_length": 1000,
     "n_tasks": 919, "alphabet": "ACGT", "extra": {...}}
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from dnalens.alphabet import ALPHABET
from dnalens.errors import ConfigError, ModelFileError
from dnalens.files import write_atomic
from dnalens.models import registry
from dnalens.models.store_checks import build_from_card, check_weights

__all__ = [
    "CARD_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "WEIGHTS_FILE",
    "ModelCard",
    "dnalens_version",
    "load_model",
    "read_model_card",
    "read_weights",
    "save_model",
]

CARD_FILE = "model.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT = "dnalens-model"
FORMAT_VERSION = 1
_FOLDER_HINT = f"a dnalens model folder holds {CARD_FILE} and {WEIGHTS_FILE}"


@dataclass(frozen=True)
class ModelCard:
    """Contents of model.json.

    Attributes
    ----------
    name : str
        Registered model name.
    config : dict
        Config parameters, as accepted by :func:`dnalens.models.build_model`.
    tasks : tuple of str
        One name per output column.
    input_length : int
        Sequence length the model takes.
    n_tasks : int
        Number of outputs (== len(tasks)).
    alphabet : str
        Row order of the one-hot input, "ACGT".
    dnalens_version : str
        Version of dnalens that wrote the file.
    format_version : int
        Version of this file layout.
    extra : dict
        Free-form JSON the writer attached (training run, metrics, ...).
    """

    name: str
    config: dict[str, Any]
    tasks: tuple[str, ...]
    input_length: int
    n_tasks: int
    alphabet: str = ALPHABET
    dnalens_version: str = "0+unknown"
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)


def dnalens_version() -> str:
    """Installed dnalens version, or "0+unknown" when running from a source tree."""
    try:
        return importlib.metadata.version("dnalens")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


# ---------------------------------------------------------------------------------------------
# Save
# ---------------------------------------------------------------------------------------------


def save_model(
    model: nn.Module,
    directory: str | os.PathLike[str],
    *,
    tasks: Sequence[str],
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model.safetensors`` and ``model.json`` into ``directory``.

    Parameters
    ----------
    model : nn.Module
        A registered dnalens model mapping (batch, 4, L) -> (batch, n_tasks).
    directory : path
        Folder to write; created if missing. Existing model files are replaced.
    tasks : sequence of str
        One name per output column; ``len(tasks)`` must equal the model's n_tasks.
    extra : mapping, optional
        JSON-serialisable notes stored under ``"extra"`` in model.json.

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    ConfigError
        Unregistered model, wrong number of task names, or ``extra`` not JSON-serialisable.
    """
    spec = registry.model_spec(model)
    input_length, n_tasks = registry.io_shape(model)
    task_names = _check_tasks(tasks, n_tasks)
    card = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dnalens_version": dnalens_version(),
        "name": spec["name"],
        "config": spec["config"],
        "tasks": task_names,
        "input_length": input_length,
        "n_tasks": n_tasks,
        "alphabet": ALPHABET,
        "extra": dict(extra or {}),
    }
    try:
        card_text = json.dumps(card, indent=2, allow_nan=False) + "\n"
    except (TypeError, ValueError) as err:
        raise ConfigError(f"save_model: extra must be JSON-serialisable ({err})") from None

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ModelFileError(f"{directory}: is not a folder; {_FOLDER_HINT}")
    directory.mkdir(parents=True, exist_ok=True)
    # safetensors refuses views and non-CPU storage; copy to plain contiguous CPU tensors.
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # Weights first, so a new folder never shows a model.json without its weights.
    write_atomic(
        directory / WEIGHTS_FILE,
        lambda tmp: save_file(tensors, str(tmp), metadata={"format": "dnalens"}),
    )
    write_atomic(directory / CARD_FILE, lambda tmp: tmp.write_text(card_text, encoding="utf-8"))
    return directory


def _check_tasks(tasks: Sequence[str], n_tasks: int) -> list[str]:
    if isinstance(tasks, str) or not isinstance(tasks, Sequence):
        raise ConfigError(
            f"save_model: tasks must be a list of {n_tasks} task names, got {tasks!r:.60}"
        )
    names = list(tasks)
    if len(names) != n_tasks:
        raise ConfigError(
            f"save_model: {len(names)} task names given but the model has n_tasks = {n_tasks}"
        )
    if not all(isinstance(t, str) for t in names):
        raise ConfigError(f"save_model: task names must be strings, got {names!r:.60}")
    return names


# ---------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------


def read_model_card(directory: str | os.PathLike[str]) -> ModelCard:
    """Read and check ``model.json`` in ``directory``.

    Raises
    ------
    ModelFileError
        Missing folder or file, invalid JSON, wrong format, or fields of the wrong type.
    """
    directory = Path(directory)
    path = _required_file(directory, CARD_FILE)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ModelFileError(
            f"{path}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ModelFileError(f"{path}: cannot be read ({_one_line(err)})") from None
    except RecursionError:
        raise ModelFileError(f"{path}: JSON nested too deeply; not a dnalens model card") \
            from None
    return _card_from_json(path, data)


def load_model(directory: str | os.PathLike[str], device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model saved in ``directory`` and load its weights, without unpickling.

    Parameters
    ----------
    directory : path
        Folder written by :func:`save_model`.
    device : str or torch.device
        Where to put the model.

    Returns
    -------
    nn.Module
        In eval mode; maps (batch, 4, input_length) -> (batch, n_tasks) logits.

    Raises
    ------
    ModelFileError
        Missing or unreadable files, a card naming an unknown model or bad config (or an
        input_length / n_tasks its config does not give), a corrupt or truncated weights
        file, or weights that do not fit the model (names, shapes, dtype kinds, NaN/inf).
    """
    directory = Path(directory)
    card = read_model_card(directory)
    model = build_from_card(directory / CARD_FILE, card.name, card.config, card.input_length,
                            card.n_tasks)
    tensors = read_weights(directory)
    check_weights(directory / WEIGHTS_FILE, card.name, model, tensors)
    model.load_state_dict(tensors, strict=True)
    return model.to(device).eval()


def read_weights(directory: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The tensors of ``directory/model.safetensors`` by name, on the CPU (never unpickled).

    Raises
    ------
    ModelFileError
        No such folder or file, or a corrupt or truncated safetensors file.
    """
    weights_path = _required_file(Path(directory), WEIGHTS_FILE)
    try:
        return load_file(weights_path, device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ModelFileError(
            f"{weights_path}: corrupt or truncated safetensors file ({_one_line(err)})"
        ) from None


def _required_file(directory: Path, name: str) -> Path:
    if not directory.is_dir():
        what = "is not a folder" if directory.exists() else "no such folder"
        raise ModelFileError(f"{directory}: {what}; {_FOLDER_HINT}")
    path = directory / name
    if path.exists() and not path.is_file():
        raise ModelFileError(f"{path}: is not a file; {_FOLDER_HINT}")
    if not path.is_file():
        raise ModelFileError(f"{directory}: no {name}; {_FOLDER_HINT}")
    return path


def _card_from_json(path: Path, data: Any) -> ModelCard:
    if not isinstance(data, dict):
        raise ModelFileError(f"{path}: expected a JSON object, got {type(data).__name__}")
    if data.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: format is {data.get('format')!r}, expected {FORMAT!r}; "
            "not a dnalens model card"
        )
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise ModelFileError(
            f"{path}: format_version {version!r} is not supported; this dnalens reads "
            f"version {FORMAT_VERSION} (upgrade dnalens for newer files)"
        )
    expected_types: dict[str, type] = {
        "name": str,
        "config": dict,
        "tasks": list,
        "input_length": int,
        "n_tasks": int,
    }
    for key, kind in expected_types.items():
        if key not in data:
            raise ModelFileError(f"{path}: missing field '{key}'")
        if not isinstance(data[key], kind) or isinstance(data[key], bool):
            raise ModelFileError(
                f"{path}: field '{key}' must be {kind.__name__}, got {type(data[key]).__name__}"
            )
    tasks = data["tasks"]
    if not all(isinstance(t, str) for t in tasks):
        raise ModelFileError(f"{path}: field 'tasks' must be a list of strings")
    if len(tasks) != data["n_tasks"]:
        raise ModelFileError(f"{path}: {len(tasks)} task names but n_tasks = {data['n_tasks']}")
    alphabet = data.get("alphabet", ALPHABET)
    if alphabet != ALPHABET:
        raise ModelFileError(f"{path}: alphabet is {alphabet!r}, expected {ALPHABET!r}")
    extra = data.get("extra") or {}
    if not isinstance(extra, dict):
        raise ModelFileError(f"{path}: field 'extra' must be an object")
    return ModelCard(
        name=data["name"],
        config=data["config"],
        tasks=tuple(tasks),
        input_length=data["input_length"],
        n_tasks=data["n_tasks"],
        alphabet=alphabet,
        dnalens_version=str(data.get("dnalens_version", "0+unknown")),
        format_version=version,
        extra=extra,
    )


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
