"""Read a Keras functional model saved as ``.h5`` with h5py alone (no TensorFlow, no Keras).

A Keras ``model.save("m.h5")`` file holds two things this module reads:

* the ``model_config`` attribute: JSON with every layer's class, settings (kernel size,
  dilation rate, padding, batch-norm epsilon and momentum, ...) and the names of the layers
  that feed it (``inbound_nodes``), i.e. the whole graph;
* the ``model_weights`` group: one sub-group per layer, whose ``weight_names`` attribute
  lists its arrays in Keras order (``conv1d_1/kernel:0``, ``conv1d_1/bias:0``, ...).

The result is a plain description, :class:`KerasModel`, with numpy arrays in Keras layouts
(a Conv1D kernel is (kernel_size, in_channels, out_channels)). Turning it into a PyTorch
model is the job of the model family that knows the architecture, e.g.
:mod:`dnalens.models.spliceai_keras`. Both the Keras 2 (``[[["name", 0, 0, {}]]]``) and the
Keras 3 (``{"args": [{"config": {"keras_history": ...}}]}``) forms of ``inbound_nodes`` are
understood.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dnalens.errors import ModelFileError

__all__ = ["KerasLayer", "KerasModel", "read_keras_h5"]


@dataclass(frozen=True)
class KerasLayer:
    """One layer of a Keras functional model.

    Attributes
    ----------
    name : str
        Layer name, unique in the model (``"conv1d_3"``).
    class_name : str
        Keras class (``"Conv1D"``, ``"BatchNormalization"``, ``"Add"``, ...).
    config : dict
        The layer's settings exactly as Keras wrote them.
    inbound : tuple of str
        Names of the layers whose outputs this layer takes, in call order.
    weights : dict of str to np.ndarray
        Arrays by short name (``"kernel"``, ``"bias"``, ``"gamma"``, ``"moving_mean"``, ...),
        in Keras layout and dtype.
    """

    name: str
    class_name: str
    config: dict[str, Any]
    inbound: tuple[str, ...]
    weights: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class KerasModel:
    """The graph and weights of a Keras functional model read from ``path``.

    Attributes
    ----------
    path : Path
        The file read (used in error messages).
    layers : dict of str to KerasLayer
        Every layer, in the order of the config.
    inputs, outputs : tuple of str
        Names of the model's input and output layers.
    keras_version : str
        Version of Keras that wrote the file ("" when not recorded).
    """

    path: Path
    layers: dict[str, KerasLayer]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    keras_version: str = ""

    def consumers(self, name: str) -> list[KerasLayer]:
        """Layers that take the output of layer ``name``, in config order."""
        return [layer for layer in self.layers.values() if name in layer.inbound]


def read_keras_h5(path: str | os.PathLike[str]) -> KerasModel:
    """Read the graph and the weights of a Keras functional model ``.h5`` file.

    Parameters
    ----------
    path : path
        A file written by Keras ``model.save(...)`` in HDF5 format.

    Returns
    -------
    KerasModel
        Layers with their settings, inbound layer names and weights (numpy, Keras layout).

    Raises
    ------
    ModelFileError
        The file is missing, not HDF5, has no ``model_config`` (a weights-only file), is not a
        functional model, calls a layer more than once, or its weights and config disagree.
    """
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py comes with the [splice] extra
        raise ModelFileError(
            f"{path}: reading Keras .h5 files needs h5py; pip install 'dnalens[splice]'"
        ) from None
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file; expected a Keras model .h5 file")
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise ModelFileError(
            f"{path}: not an HDF5 file ({' '.join(str(err).split())}); "
            "expected a Keras model .h5 file"
        ) from None
    with handle:
        config = _model_config(path, handle)
        weights_root = handle.get("model_weights", handle)
        layers = {}
        for spec in _layer_specs(path, config):
            name = spec["name"]
            layers[name] = KerasLayer(
                name=name,
                class_name=str(spec.get("class_name")),
                config=dict(spec.get("config") or {}),
                inbound=_inbound_names(path, name, spec.get("inbound_nodes") or []),
                weights=_layer_weights(path, weights_root, name),
            )
        keras_version = _text(handle.attrs.get("keras_version", b""))
    inputs = tuple(_endpoint_names(config["config"].get("input_layers")))
    outputs = tuple(_endpoint_names(config["config"].get("output_layers")))
    for name in (*inputs, *outputs):
        if name not in layers:
            raise ModelFileError(f"{path}: model input/output {name!r} is not one of its layers")
    return KerasModel(path, layers, inputs, outputs, keras_version)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _model_config(path: Path, handle: Any) -> dict[str, Any]:
    raw = handle.attrs.get("model_config")
    if raw is None:
        raise ModelFileError(
            f"{path}: no 'model_config' attribute; expected a whole Keras model saved with "
            "model.save(...), not a weights-only file"
        )
    try:
        config = json.loads(_text(raw))
    except json.JSONDecodeError as err:
        raise ModelFileError(f"{path}: 'model_config' is not valid JSON ({err.msg})") from None
    if not isinstance(config, dict) or config.get("class_name") not in ("Model", "Functional"):
        kind = config.get("class_name") if isinstance(config, dict) else type(config).__name__
        raise ModelFileError(
            f"{path}: model_config describes a {kind!r}; expected a Keras functional model "
            "('Model' or 'Functional')"
        )
    return config


def _layer_specs(path: Path, config: dict[str, Any]) -> list[dict[str, Any]]:
    specs = (config.get("config") or {}).get("layers")
    if not isinstance(specs, list) or not specs:
        raise ModelFileError(f"{path}: model_config lists no layers")
    names = [spec.get("name") if isinstance(spec, dict) else None for spec in specs]
    if any(not isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise ModelFileError(f"{path}: model_config layers need unique string names")
    return specs


def _history_names(node: Any) -> Iterator[str]:
    """Layer names in one inbound node, Keras 2 (lists) or Keras 3 (keras_history) form."""
    if isinstance(node, dict):
        history = (node.get("config") or {}).get("keras_history")
        if isinstance(history, list) and history and isinstance(history[0], str):
            yield history[0]
            return
        for value in node.values():
            yield from _history_names(value)
    elif isinstance(node, list):
        if len(node) >= 3 and isinstance(node[0], str) and isinstance(node[1], int):
            yield node[0]  # Keras 2: [layer_name, node_index, tensor_index, kwargs]
            return
        for item in node:
            yield from _history_names(item)


def _inbound_names(path: Path, name: str, nodes: list[Any]) -> tuple[str, ...]:
    if len(nodes) > 1:
        raise ModelFileError(
            f"{path}: layer {name!r} is called {len(nodes)} times; shared layers are not "
            "supported (expected each layer to be used once)"
        )
    return tuple(_history_names(nodes[0])) if nodes else ()


def _endpoint_names(endpoints: Any) -> list[str]:
    if not isinstance(endpoints, list):
        return []
    if endpoints and isinstance(endpoints[0], str):  # a single [name, 0, 0]
        return [endpoints[0]]
    return [e[0] for e in endpoints if isinstance(e, list) and e and isinstance(e[0], str)]


def _layer_weights(path: Path, root: Any, name: str) -> dict[str, np.ndarray]:
    if name not in root:
        return {}
    group = root[name]
    weights: dict[str, np.ndarray] = {}
    for full in (_text(w) for w in group.attrs.get("weight_names", [])):
        if full not in group:
            raise ModelFileError(
                f"{path}: layer {name!r} lists weight {full!r} but the file has no such array"
            )
        short = full.rsplit("/", 1)[-1].split(":", 1)[0]
        weights[short] = np.asarray(group[full][()])
    return weights
