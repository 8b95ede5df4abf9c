"""Tiny Keras-2-style SpliceAI .h5 files written with h5py, and a numpy Keras evaluator.

The files mimic ``spliceai1.h5`` (Keras 2.0.5): a ``model_config`` JSON attribute with
``inbound_nodes`` links, skip taps listed after the residual units, and weights under
``model_weights/<layer>/<layer>/kernel:0``. :func:`keras_forward` evaluates such a graph
with Keras semantics (channels last, 'same' padding, kernel (k, in, out), BN epsilon from
the config), independently of dnalens, so an import can be checked against it.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path

import numpy as np


class FakeSpliceAI:
    """Layers (Keras config dicts) and weights of a small SpliceAI-layout Keras model."""

    def __init__(self, kernel_sizes, dilations, *, channels=6, group_size=2, n_tasks=3,
                 eps=1e-3, momentum=0.99, seed=0):
        self.rng = np.random.default_rng(seed)
        self.count = defaultdict(itertools.count)
        self.layers: list[dict] = []
        self.weights: dict[str, dict[str, np.ndarray]] = {}
        self.eps, self.momentum, self.channels = eps, momentum, channels
        source = self.add("InputLayer", "input", [], batch_input_shape=[None, None, 4])
        h = self.conv(source, channels, 1, in_channels=4)
        deferred: list[tuple[str, int]] = []  # skip taps, listed last as in the real files
        skip_in = h
        for i, (k, d) in enumerate(zip(kernel_sizes, dilations, strict=True)):
            a = self.act(self.bn(h))
            a = self.act(self.bn(self.conv(a, channels, k, dilation=d)))
            h = self.add("Add", "add", [self.conv(a, channels, k, dilation=d), h])
            if (i + 1) % group_size == 0 or i + 1 == len(kernel_sizes):
                deferred.append((h, i))
        skip = self.conv(skip_in, channels, 1)
        for h_tap, _ in deferred:
            skip = self.add("Add", "add", [skip, self.conv(h_tap, channels, 1)])
        crop = sum((k - 1) * d for k, d in zip(kernel_sizes, dilations, strict=True))
        cropped = self.add("Cropping1D", "cropping1d", [skip], cropping=[crop, crop])
        self.output = self.conv(cropped, n_tasks, 1, activation="softmax")
        self.input = source

    def add(self, class_name: str, prefix: str, inbound: list[str], **config) -> str:
        name = f"{prefix}_{next(self.count[prefix]) + 1}"
        nodes = [[[n, 0, 0, {}] for n in inbound]] if inbound else []
        self.layers.append({"class_name": class_name, "name": name, "inbound_nodes": nodes,
                            "config": {"name": name, "trainable": True, **config}})
        return name

    def conv(self, x: str, filters: int, k: int, *, dilation: int = 1, in_channels=None,
             activation: str = "linear") -> str:
        name = self.add("Conv1D", "conv1d", [x], filters=filters, kernel_size=[k],
                        strides=[1], padding="valid" if k == 1 else "same",
                        dilation_rate=[dilation], activation=activation, use_bias=True)
        c_in = in_channels or self.channels
        self.weights[name] = {
            "kernel": self.rng.normal(0, 0.3, (k, c_in, filters)).astype(np.float32),
            "bias": self.rng.normal(0, 0.1, filters).astype(np.float32),
        }
        return name

    def bn(self, x: str) -> str:
        name = self.add("BatchNormalization", "batch_normalization", [x], axis=-1,
                        epsilon=self.eps, momentum=self.momentum, center=True, scale=True)
        c = self.channels
        self.weights[name] = {
            "gamma": self.rng.uniform(0.5, 1.5, c).astype(np.float32),
            "beta": self.rng.normal(0, 0.1, c).astype(np.float32),
            "moving_mean": self.rng.normal(0, 0.2, c).astype(np.float32),
            "moving_variance": self.rng.uniform(0.001, 2.0, c).astype(np.float32),
        }
        return name

    def act(self, x: str) -> str:
        return self.add("Activation", "activation", [x], activation="relu")

    def layer(self, name: str) -> dict:
        return next(spec for spec in self.layers if spec["name"] == name)

    def write(self, path: Path) -> Path:
        import h5py

        config = {"class_name": "Model", "config": {
            "name": "model_1", "layers": self.layers,
            "input_layers": [[self.input, 0, 0]], "output_layers": [[self.output, 0, 0]]}}
        with h5py.File(path, "w") as f:
            f.attrs["keras_version"] = b"2.0.5"
            f.attrs["backend"] = b"tensorflow"
            f.attrs["model_config"] = json.dumps(config).encode()
            root = f.create_group("model_weights")
            root.attrs["layer_names"] = [s["name"].encode() for s in self.layers]
            for spec in self.layers:
                group = root.create_group(spec["name"])
                arrays = self.weights.get(spec["name"], {})
                names = [f"{spec['name']}/{k}:0".encode() for k in arrays]
                group.attrs["weight_names"] = names if names else np.zeros(0)
                for key, value in arrays.items():
                    group.create_dataset(f"{spec['name']}/{key}:0", data=value)
        return path


def keras_forward(fake: FakeSpliceAI, x: np.ndarray) -> np.ndarray:
    """Evaluate the graph on ``x`` (length, 4) the Keras way: (length - crop, n_tasks) softmax."""
    values: dict[str, np.ndarray] = {}
    pending = list(fake.layers)
    while pending:
        for spec in list(pending):
            inbound = [n[0] for node in spec["inbound_nodes"] for n in node]
            if any(n not in values for n in inbound):
                continue
            ins = [values[n].astype(np.float64) for n in inbound]
            values[spec["name"]] = _evaluate(spec, fake.weights.get(spec["name"]), ins, x)
            pending.remove(spec)
    return values[fake.output]


def _evaluate(spec: dict, w: dict | None, ins: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    c, kind = spec["config"], spec["class_name"]
    if kind == "InputLayer":
        return x.astype(np.float64)
    if kind == "Add":
        return sum(ins)
    if kind == "Activation":
        return np.maximum(ins[0], 0)
    if kind == "Cropping1D":
        left, right = c["cropping"]
        return ins[0][left : len(ins[0]) - right]
    if kind == "BatchNormalization":
        return w["gamma"] * (ins[0] - w["moving_mean"]) / np.sqrt(
            w["moving_variance"] + c["epsilon"]) + w["beta"]
    kernel, d = w["kernel"].astype(np.float64), c["dilation_rate"][0]
    k, length = kernel.shape[0], len(ins[0])
    total = d * (k - 1)
    padded = np.pad(ins[0], ((total // 2, total - total // 2), (0, 0)))
    out = sum(padded[j * d : j * d + length] @ kernel[j] for j in range(k)) + w["bias"]
    if c["activation"] == "softmax":
        out = np.exp(out - out.max(axis=1, keepdims=True))
        out /= out.sum(axis=1, keepdims=True)
    return out
