"""Import the published SpliceAI Keras models (``spliceai1.h5`` .. ``spliceai5.h5``).

The h5 file is read with :func:`dnalens.io.keras_h5.read_keras_h5` (h5py only; TensorFlow
and Keras are never imported). The architecture is not assumed: the Keras graph is walked
from its input along the inbound-node links, every layer is checked to be where the SpliceAI
layout puts it, and the :class:`~dnalens.models.spliceai.SpliceAIConfig` is built from what
the file says (kernel sizes, dilations, channels, skip taps, crop, batch-norm epsilon and
momentum). Any layer the walk does not reach, and every weight whose shape does not fit, is
an error naming the file.

Keras vs PyTorch conventions handled here:

* Conv1D kernels are (kernel_size, in, out) in Keras and (out, in, kernel_size) in PyTorch.
* Keras batch norm stores gamma, beta, moving_mean, moving_variance; its epsilon is 1e-3
  (PyTorch 1e-5) and its momentum is the weight of the *old* average (0.99 = PyTorch 0.01).
* Keras' last layer applies softmax; the PyTorch model returns logits.

The weights are licensed CC BY-NC 4.0 by Illumina; dnalens reads them from the user's own
``spliceai`` installation (``pip install 'dnalens[splice]'``) and never ships them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import torch
from torch import nn

from dnalens.errors import ConfigError, ModelFileError
from dnalens.io.keras_h5 import KerasLayer, KerasModel, read_keras_h5
from dnalens.models.ensemble import Ensemble
from dnalens.models.spliceai import SpliceAI, SpliceAIConfig, tap_positions

__all__ = [
    "LICENCE",
    "N_PUBLISHED",
    "import_spliceai",
    "load_keras_spliceai",
    "published_h5_paths",
]

N_PUBLISHED = 5
LICENCE = "CC BY-NC 4.0 (Illumina): academic and non-commercial use only"


def published_h5_paths() -> list[Path]:
    """``spliceai1.h5`` .. ``spliceai5.h5`` of the installed ``spliceai`` package.

    The package is located without being imported (importing it would import Keras).

    Raises
    ------
    ModelFileError
        The package is not installed or its ``models`` folder lacks a file.
    """
    spec = importlib.util.find_spec("spliceai")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            "the spliceai package is not installed; pip install 'dnalens[splice]' "
            "(or pass the spliceai1.h5 .. spliceai5.h5 files)"
        )
    folders = [Path(p) / "models" for p in spec.submodule_search_locations]
    for folder in folders:
        paths = [folder / f"spliceai{i}.h5" for i in range(1, N_PUBLISHED + 1)]
        if all(p.is_file() for p in paths):
            return paths
    raise ModelFileError(
        f"{folders[0]}: expected spliceai1.h5 .. spliceai{N_PUBLISHED}.h5 from the spliceai "
        "package; reinstall it with pip install --force-reinstall spliceai==1.3.1"
    )


def load_keras_spliceai(path: str | os.PathLike[str], output_length: int = 5000) -> SpliceAI:
    """Build a :class:`SpliceAI` from a Keras SpliceAI ``.h5`` file and copy its weights in.

    Parameters
    ----------
    path : path
        A published ``spliceaiN.h5`` (or any Keras model with the SpliceAI layout).
    output_length : int
        Positions per window recorded in the config (the model takes any length).

    Returns
    -------
    SpliceAI
        In eval mode; (batch, 4, L + context) -> (batch, 3, L) logits.

    Raises
    ------
    ModelFileError
        The file is not a Keras model, or its graph, settings or weights are not SpliceAI's.
    """
    keras = read_keras_h5(path)
    walk = _Walk(keras)
    try:
        model = SpliceAI(walk.config(output_length))
    except ConfigError as err:
        raise ModelFileError(f"{keras.path}: {err}") from None
    _copy_weights(keras, walk, model)
    return model.eval()


def import_spliceai(
    paths: Sequence[str | os.PathLike[str]], output_length: int = 5000
) -> tuple[nn.Module, dict[str, Any]]:
    """Import one SpliceAI ``.h5`` as a model, or several as their softmax-averaging ensemble.

    Parameters
    ----------
    paths : sequence of path
        Keras SpliceAI files, e.g. :func:`published_h5_paths`.
    output_length : int
        Positions per window recorded in the config.

    Returns
    -------
    model : SpliceAI or Ensemble
        One file gives a :class:`SpliceAI`; several give an
        :class:`~dnalens.models.ensemble.Ensemble` with ``average="softmax"`` (the mean of
        the members' probabilities, as the spliceai tool computes it). In eval mode.
    provenance : dict
        JSON-ready notes for the model card: file names, sha256, spliceai version, licence.

    Raises
    ------
    ModelFileError
        No paths, a file that is not a SpliceAI Keras model, or files of different contexts.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ModelFileError("no SpliceAI .h5 files given; pass them or use the installed package")
    models = [load_keras_spliceai(p, output_length) for p in paths]
    contexts = {p.name: m.context for p, m in zip(paths, models, strict=True)}
    if len(set(contexts.values())) > 1:
        raise ModelFileError(f"cannot ensemble SpliceAI models of different contexts: {contexts}")
    model = models[0] if len(models) == 1 else Ensemble.from_models(models, average="softmax")
    try:
        version = importlib.metadata.version("spliceai")
    except importlib.metadata.PackageNotFoundError:
        version = None
    provenance = {
        "source": "SpliceAI Keras models (Jaganathan et al., Cell 2019)",
        "files": [{"name": p.name, "sha256": _sha256(p)} for p in paths],
        "spliceai_package_version": version,
        "licence": LICENCE,
    }
    return model.eval(), provenance


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Walk:
    """The SpliceAI layout found in a Keras graph, or a ModelFileError saying where it breaks."""

    def __init__(self, keras: KerasModel) -> None:
        self.keras = keras
        self.seen: set[str] = set()
        if len(keras.inputs) != 1 or len(keras.outputs) != 1:
            self.fail(
                f"{len(keras.inputs)} inputs and {len(keras.outputs)} outputs, expected 1 and 1"
            )
        source = self.take(keras.inputs[0], "InputLayer")
        shape = source.config.get("batch_input_shape") or source.config.get("batch_shape")
        if not isinstance(shape, list) or len(shape) != 3 or shape[-1] != 4:
            self.fail(f"input shape {shape}, expected (batch, length, 4) one-hot DNA")
        self.stem = self.conv(self.only_consumer(source), kernel=1)
        self.channels = int(self.stem.config["filters"])
        self.skip = self.conv(self.consumer(self.stem, "Conv1D"), kernel=1)
        self.units: list[tuple[KerasLayer, KerasLayer, KerasLayer, KerasLayer]] = []
        self.taps: list[tuple[int, KerasLayer]] = []
        h = self.stem
        while True:
            if self.units and (tap := self.consumer(h, "Conv1D", required=False)) is not None:
                self.taps.append((len(self.units) - 1, self.conv(tap, kernel=1)))
            bn1 = self.consumer(h, "BatchNormalization", required=False)
            if bn1 is None:
                break
            h = self.unit(h, bn1)
        if not self.taps or self.taps[-1][0] != len(self.units) - 1:
            self.fail("the last residual unit feeds no skip tap (1x1 Conv1D)")
        total = self.skip
        for _, tap in self.taps:
            previous = total
            total = self.take(self.only_consumer(previous, "Add").name, "Add")
            if sorted(total.inbound) != sorted([previous.name, tap.name]):
                self.fail(
                    f"{total.name} adds {list(total.inbound)}, expected "
                    f"{previous.name} + {tap.name}"
                )
        crop = self.take(self.only_consumer(total).name, "Cropping1D")
        self.crop = crop.config.get("cropping")
        if not isinstance(self.crop, list) or len(set(self.crop)) != 1:
            self.fail(f"{crop.name} crops {self.crop}, expected the same on both sides")
        self.head = self.conv(self.only_consumer(crop), kernel=1, activations=("softmax", "linear"))
        if keras.outputs[0] != self.head.name:
            self.fail(f"output is {keras.outputs[0]}, expected {self.head.name}")
        unused = [name for name in keras.layers if name not in self.seen]
        if unused:
            self.fail(f"layers outside the SpliceAI layout: {', '.join(unused[:5])}")

    def fail(self, what: str) -> NoReturn:
        raise ModelFileError(f"{self.keras.path}: not a SpliceAI Keras model: {what}")

    def take(self, name: str, class_name: str) -> KerasLayer:
        layer = self.keras.layers[name]
        if layer.class_name != class_name:
            self.fail(f"layer {name} is a {layer.class_name}, expected a {class_name}")
        if name in self.seen:
            self.fail(f"layer {name} is reached twice")
        self.seen.add(name)
        return layer

    def only_consumer(self, layer: KerasLayer, class_name: str | None = None) -> KerasLayer:
        users = self.keras.consumers(layer.name)
        if class_name is not None:
            users = [u for u in users if u.class_name == class_name]
        if len(users) != 1:
            names = [u.name for u in users]
            self.fail(
                f"{layer.name} feeds {names or 'nothing'}, expected one {class_name or 'layer'}"
            )
        return users[0]

    def consumer(self, layer: KerasLayer, class_name: str, required: bool = True) -> Any:
        users = [u for u in self.keras.consumers(layer.name) if u.class_name == class_name]
        if len(users) > 1 or (required and not users):
            self.fail(f"{layer.name} feeds {len(users)} {class_name} layers, expected 1")
        return users[0] if users else None

    def conv(
        self,
        layer: KerasLayer,
        kernel: int | None = None,
        activations: tuple[str, ...] = ("linear",),
    ) -> KerasLayer:
        self.take(layer.name, "Conv1D")
        c = layer.config
        k = _single(c.get("kernel_size"))
        settings = {
            "kernel_size": (k, kernel is None or k == kernel),
            "strides": (c.get("strides"), _single(c.get("strides")) == 1),
            "activation": (c.get("activation"), c.get("activation") in activations),
            "use_bias": (c.get("use_bias"), c.get("use_bias") is True),
            "padding": (c.get("padding"), c.get("padding") == "same" or k == 1),
            "data_format": (
                c.get("data_format"),
                c.get("data_format", "channels_last") == "channels_last",
            ),
        }
        for key, (value, ok) in settings.items():
            if not ok:
                self.fail(f"{layer.name} has {key}={value!r}, which the SpliceAI layout never uses")
        return layer

    def relu(self, layer: KerasLayer) -> KerasLayer:
        act = self.take(self.only_consumer(layer).name, "Activation")
        if act.config.get("activation") != "relu":
            self.fail(f"{act.name} is {act.config.get('activation')!r}, expected 'relu'")
        return act

    def unit(self, h: KerasLayer, bn1: KerasLayer) -> KerasLayer:
        """Walk BN -> ReLU -> conv -> BN -> ReLU -> conv -> Add(conv, h); return the Add."""
        self.take(bn1.name, "BatchNormalization")
        conv1 = self.conv(self.only_consumer(self.relu(bn1)))
        bn2 = self.take(self.only_consumer(conv1).name, "BatchNormalization")
        conv2 = self.conv(self.only_consumer(self.relu(bn2)))
        add = self.take(self.only_consumer(conv2).name, "Add")
        if set(add.inbound) != {conv2.name, h.name} or len(add.inbound) != 2:
            self.fail(f"{add.name} adds {list(add.inbound)}, expected {conv2.name} + {h.name}")
        for name in ("kernel_size", "dilation_rate"):
            if conv1.config.get(name) != conv2.config.get(name):
                self.fail(f"{conv1.name} and {conv2.name} differ in {name}")
        self.units.append((bn1, conv1, bn2, conv2))
        return add

    def config(self, output_length: int) -> SpliceAIConfig:
        kernels = tuple(_single(u[1].config.get("kernel_size")) for u in self.units)
        dilations = tuple(_single(u[1].config.get("dilation_rate", 1)) for u in self.units)
        taps = tuple(i for i, _ in self.taps)
        group = taps[0] + 1
        if taps != tap_positions(len(self.units), group):
            self.fail(
                f"skip taps after units {[t + 1 for t in taps]}, expected one after "
                f"every {group}th unit and the last"
            )
        norms = [layer for unit in self.units for layer in (unit[0], unit[2])]
        eps, momentum = self.batch_norm_settings(norms)
        return SpliceAIConfig(
            context=2 * int(self.crop[0]),
            output_length=output_length,
            channels=self.channels,
            kernel_sizes=kernels,
            dilations=dilations,
            group_size=group,
            n_tasks=int(self.head.config["filters"]),
            batch_norm_eps=eps,
            batch_norm_momentum=momentum,
        )

    def batch_norm_settings(self, norms: list[KerasLayer]) -> tuple[float, float]:
        found = set()
        for bn in norms:
            c = bn.config
            axis = c.get("axis")
            if _single(axis) not in (-1, 2) or c.get("center") is False or c.get("scale") is False:
                self.fail(
                    f"{bn.name} has axis={axis}, center={c.get('center')}, "
                    f"scale={c.get('scale')}; expected axis -1 with center and scale"
                )
            found.add((float(c.get("epsilon", 1e-3)), float(c.get("momentum", 0.99))))
        if len(found) != 1:
            self.fail(f"batch-norm layers differ in (epsilon, momentum): {sorted(found)}")
        eps, keras_momentum = found.pop()
        return eps, round(1.0 - keras_momentum, 12)


def _single(value: Any) -> Any:
    """Keras writes 1-D settings as [k]; accept k too."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _copy_weights(keras: KerasModel, walk: _Walk, model: SpliceAI) -> None:
    """Copy every Keras array into ``model``, checking names and shapes first."""
    trunk = model.trunk
    pairs: list[tuple[KerasLayer, nn.Module, Callable[[KerasLayer, Any], None]]] = [
        (walk.stem, trunk.stem, _conv),
        (walk.skip, trunk.skip, _conv),
        (walk.head, model.head, _conv),
    ]
    for (bn1, conv1, bn2, conv2), unit in zip(walk.units, trunk.units, strict=True):
        pairs += [
            (bn1, unit.bn1, _norm),
            (conv1, unit.conv1, _conv),
            (bn2, unit.bn2, _norm),
            (conv2, unit.conv2, _conv),
        ]
    pairs += [(tap, module, _conv) for (_, tap), module in zip(walk.taps, trunk.taps, strict=True)]
    with torch.no_grad():
        for layer, module, copy in pairs:
            try:
                copy(layer, module)
            except _MismatchError as err:
                raise ModelFileError(f"{keras.path}: layer {layer.name}: {err}") from None
    stray = [n for n, layer in keras.layers.items() if layer.weights and n not in walk.seen]
    if stray:  # pragma: no cover - the walk already refuses unreached layers
        raise ModelFileError(f"{keras.path}: weights of unused layers {stray[:3]}")


class _MismatchError(Exception):
    pass


def _array(layer: KerasLayer, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    if name not in layer.weights:
        raise _MismatchError(f"no '{name}' weight (has {sorted(layer.weights) or 'none'})")
    value = layer.weights[name]
    if tuple(value.shape) != shape:
        raise _MismatchError(f"'{name}' has shape {tuple(value.shape)}, expected {shape}")
    return torch.from_numpy(value.astype("float32", copy=False))


def _conv(layer: KerasLayer, conv: nn.Conv1d) -> None:
    out_channels, in_channels, k = conv.weight.shape
    if set(layer.weights) != {"kernel", "bias"}:
        raise _MismatchError(f"weights {sorted(layer.weights)}, expected ['bias', 'kernel']")
    # Keras Conv1D kernel (k, in, out) -> PyTorch (out, in, k).
    conv.weight.copy_(_array(layer, "kernel", (k, in_channels, out_channels)).permute(2, 1, 0))
    conv.bias.copy_(_array(layer, "bias", (out_channels,)))


def _norm(layer: KerasLayer, bn: nn.BatchNorm1d) -> None:
    names = {
        "gamma": bn.weight,
        "beta": bn.bias,
        "moving_mean": bn.running_mean,
        "moving_variance": bn.running_var,
    }
    if set(layer.weights) != set(names):
        raise _MismatchError(f"weights {sorted(layer.weights)}, expected {sorted(names)}")
    for name, target in names.items():
        target.copy_(_array(layer, name, tuple(target.shape)))
