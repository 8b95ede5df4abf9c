"""Start a model from another saved model's weights (transfer learning).

deepC pre-trains its convolutions on chromatin features before it learns contacts; a user
fine-tunes a published model on new tracks. Both start from tensors of a saved model
(``model.safetensors``, read without unpickling) copied into a new model by name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from torch import nn

from dnalens.errors import ConfigError
from dnalens.models.store import read_weights

__all__ = ["transfer_weights"]

log = logging.getLogger(__name__)


def transfer_weights(model: nn.Module, source: str | os.PathLike[str],
                     layers: Mapping[str, str] | None = None, *, freeze: bool = False
                     ) -> list[str]:
    """Copy tensors of the model saved in ``source`` into ``model``, in place.

    Parameters
    ----------
    model : nn.Module
        The new model.
    source : path
        A saved model folder (``model.safetensors`` + ``model.json``), e.g. a run folder.
    layers : mapping of str to str, optional
        Prefix in ``model`` -> prefix in the source: every tensor of ``model`` named
        ``prefix`` or ``prefix.*`` takes the source tensor with the prefix swapped (say
        ``{"trunk.1": "trunk.trunk_1d.0.conv"}``). Empty or None: every tensor whose name and
        shape the two models share.
    freeze : bool
        Keep the copied parameters fixed in training (``requires_grad = False``); batch-norm
        running statistics still adapt while the model trains.

    Returns
    -------
    list of str
        Names of the tensors copied, in ``model.state_dict()`` order.

    Raises
    ------
    ConfigError
        A prefix names no tensor of ``model``, a source tensor is missing or of another shape,
        or (without ``layers``) the models share no tensor.
    ModelFileError
        ``source`` is not a readable saved model.
    """
    weights = read_weights(source)
    state = model.state_dict()
    if layers:
        plan = _mapped(state, weights, dict(layers), source)
    else:
        plan = {k: k for k in state if k in weights and weights[k].shape == state[k].shape}
        if not plan:
            raise ConfigError(f"{source}: shares no tensor of the same name and shape with the "
                              f"{type(model).__name__} model; map layers by prefix "
                              "(model.init.layers)")
    for name, source_name in plan.items():
        state[name] = weights[source_name]
    model.load_state_dict(state)
    if freeze:
        for name, param in model.named_parameters():
            if name in plan:
                param.requires_grad_(False)
    log.info("copied %d tensor(s) from %s%s", len(plan), source, " (frozen)" if freeze else "")
    return list(plan)


def _mapped(state: dict, weights: dict, layers: dict[str, str], source) -> dict[str, str]:
    """Target tensor name -> source tensor name, checked."""
    plan = {}
    for prefix, source_prefix in layers.items():
        names = [k for k in state if k == prefix or k.startswith(prefix + ".")]
        if not names:
            near = sorted({k.rsplit(".", 1)[0] for k in state})[:12]
            raise ConfigError(f"model.init.layers: the model has no tensor '{prefix}' or "
                              f"'{prefix}.*'; its layers include {', '.join(near)}")
        for name in names:
            source_name = source_prefix + name[len(prefix):]
            if source_name not in weights:
                raise ConfigError(f"{source}: has no tensor '{source_name}' for '{name}' "
                                  f"(model.init.layers maps '{prefix}' to '{source_prefix}')")
            if weights[source_name].shape != state[name].shape:
                raise ConfigError(f"{source}: '{source_name}' has shape "
                                  f"{tuple(weights[source_name].shape)}, but '{name}' needs "
                                  f"{tuple(state[name].shape)}")
            plan[name] = source_name
    return plan
