"""Reading and writing Lightning checkpoints without trusting pickle.

A ``.ckpt`` is a pickle: unpickled in full, it can run any code its author put in it, so a run
folder copied from someone else would be a program. Every checkpoint dnalens reads goes through
:func:`load_checkpoint` (``weights_only=True``: tensors, numbers, strings and containers only),
Lightning's resume included, through :class:`SafeCheckpointIO`. Checkpoints are also written
atomically, so a run killed while saving keeps the previous ``last.ckpt`` instead of half a
file.
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins import TorchCheckpointIO

from dnalens.errors import ModelFileError
from dnalens.files import write_atomic

__all__ = ["SafeCheckpointIO", "load_checkpoint", "model_state"]

_HINT = "delete it or start without --resume"


def load_checkpoint(path: str | os.PathLike[str], *, hint: str = _HINT) -> dict[str, Any]:
    """Load a Lightning checkpoint with ``weights_only=True``.

    Parameters
    ----------
    path : path-like
        A ``.ckpt`` file written by ``dnalens train``.
    hint : str
        What the user can do about a bad file; ends the error message.

    Returns
    -------
    dict
        The checkpoint; ``state_dict`` maps parameter names to tensors (on the CPU).

    Raises
    ------
    ModelFileError
        The file needs arbitrary objects unpickled (refused, nothing is run), or it is
        truncated, corrupt or not a checkpoint at all.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            # torch warns about the pickle protocol of files it then refuses anyway.
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such checkpoint") from None
    except pickle.UnpicklingError as err:
        if "weights only load failed" in str(err).lower():
            raise ModelFileError(f"{path}: not a dnalens checkpoint (it would need unpickling "
                                 f"arbitrary objects); {hint}") from None
        raise ModelFileError(f"{path}: not a readable checkpoint (corrupt); {hint}") from None
    except Exception:  # torch raises EOFError, OSError, KeyError, RuntimeError... on bad bytes
        raise ModelFileError(f"{path}: not a readable checkpoint (truncated or corrupt); "
                             f"{hint}") from None
    if not isinstance(checkpoint, Mapping) or not isinstance(checkpoint.get("state_dict"),
                                                             Mapping):
        raise ModelFileError(f"{path}: not a dnalens checkpoint (no state_dict); {hint}")
    return dict(checkpoint)


def model_state(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The model's tensors in a checkpoint of :class:`~dnalens.train.task.SequenceTask`
    (its ``model.`` prefix removed)."""
    state = load_checkpoint(path)["state_dict"]
    return {k.removeprefix("model."): v for k, v in state.items()
            if isinstance(k, str) and k.startswith("model.")}


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint I/O: atomic saves, ``weights_only=True`` loads."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike[str],
                        storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("SafeCheckpointIO.save_checkpoint takes no storage_options")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda tmp: torch.save(checkpoint, tmp))

    def load_checkpoint(self, path: str | os.PathLike[str], map_location: Any = None,
                        weights_only: bool | None = None) -> dict[str, Any]:
        # weights_only is forced: a resumed checkpoint is as untrusted as any other file.
        return load_checkpoint(path)
