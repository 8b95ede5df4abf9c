"""SpliceAI: published layouts, crop and receptive field, the softmax ensemble, h5 import."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch
from fake_keras import FakeSpliceAI, keras_forward
from test_zoo import random_one_hot

from dnalens.cli.main import main
from dnalens.errors import ConfigError, ModelFileError, SequenceError
from dnalens.models import Ensemble, SpliceAI, build_model, load_model, save_model
from dnalens.models.spliceai import CLASSES, published_units, splice_probabilities
from dnalens.models.spliceai_keras import import_spliceai, load_keras_spliceai

# A small SpliceAI: context 2 * (2*1 + 2*2 + 4*1) = 20, skip taps after units 2 and 3.
SMALL = {"kernel_sizes": (3, 3, 5), "dilations": (1, 2, 1), "group_size": 2, "channels": 6}


def small(context: int = 20, seed: int = 0, **params) -> SpliceAI:
    """A small SpliceAI with random weights and non-default batch-norm statistics."""
    torch.manual_seed(seed)
    model = build_model("spliceai", context=context, output_length=30, **{**SMALL, **params})
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.mark.parametrize(("context", "n_units"), [(80, 4), (400, 8), (2000, 12), (10000, 16)])
def test_published_variants(context, n_units):
    kernels, dilations = published_units(context)
    assert len(kernels) == len(dilations) == n_units
    assert 2 * sum((k - 1) * d for k, d in zip(kernels, dilations, strict=True)) == context
    with torch.device("meta"):
        model = build_model("spliceai", context=context)
    assert model.config.kernel_sizes == kernels  # written out, so a saved config is explicit
    assert len(model.trunk.taps) == n_units // 4
    assert model.input_length == 5000 + context
    assert model.config.batch_norm_eps == 1e-3  # Keras' default, not PyTorch's 1e-5


def test_published_10k_parameter_count():
    # Weights and biases of 39 convolutions plus gamma/beta of 32 batch norms, which is the
    # trainable parameter count of the Keras spliceai1.h5 .. spliceai5.h5.
    with torch.device("meta"):
        model = build_model("spliceai", context=10000)
    assert sum(p.numel() for p in model.parameters()) == 696_739


@pytest.mark.parametrize("length", [1, 37, 200])
def test_output_is_input_minus_context(length):
    model = small()
    out = model(random_one_hot(2, length + 20))
    assert out.shape == (2, 3, length)
    p = splice_probabilities(model, random_one_hot(2, length + 20))
    torch.testing.assert_close(p.sum(dim=1), torch.ones(2, length))


def test_output_is_the_centre_of_a_longer_window():
    # Output j belongs to input j + context/2 whatever the window length.
    model = small().double()
    x = random_one_hot(1, 120, seed=3).double()
    with torch.no_grad():
        whole = model(x)
        part = model(x[:, :, 40:90])  # outputs of inputs 50..79 -> whole[40:70]
    torch.testing.assert_close(part, whole[:, :, 40:70], rtol=0, atol=1e-12)


@pytest.mark.parametrize(("context", "params"), [(20, {}), (80, {"kernel_sizes": (),
                                                                 "dilations": ()})])
def test_receptive_field_is_exactly_the_context(context, params):
    # Changing input base p changes output j exactly when j <= p <= j + context.
    model = small(context, channels=8, **params).double()
    with torch.no_grad():  # keep most ReLUs open, so no path through the stack is dead
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.bias.fill_(1.0)
    x = random_one_hot(1, 2 * context + 60, seed=1).double()
    p = context + 20
    y = x.clone()
    y[0, :, p] = torch.roll(y[0, :, p], 1)
    with torch.no_grad():
        changed = (model(x) - model(y)).abs().amax(dim=1)[0]
    expected = torch.zeros(context + 60, dtype=torch.bool)
    expected[p - context : p + 1] = True
    assert torch.equal(changed > 0, expected)


def test_input_errors_name_the_expected_shape():
    model = small()
    with pytest.raises(SequenceError, match=r"\(batch, 4, L \+ 20\).*got shape \(2, 4, 20\)"):
        model(random_one_hot(2, 20))
    with pytest.raises(SequenceError, match=r"got shape \(2, 5, 40\)"):
        model(torch.zeros(2, 5, 40))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"context": 100}, "no published variant with context 100"),
        ({"context": 20, "kernel_sizes": (3, 3, 5), "dilations": (1, 2)},
         "kernel_sizes has 3 and dilations has 2"),
        ({"context": 22, **SMALL}, r"context is 22 but .* = 20 positions"),
        ({"batch_norm_eps": 0.0}, r"batch_norm_eps must be in \(0, 1\)"),
        ({"context": 10, "kernel_sizes": (4, 3), "dilations": (1, 1)},
         "unit 0 has kernel_size 4 and dilation 1"),
    ],
)
def test_bad_configs(params, message):
    with pytest.raises(ConfigError, match=message):
        build_model("spliceai", **params)


def test_save_load_round_trip_single_and_ensemble(tmp_path):
    x = random_one_hot(2, 70, seed=2)
    single = small()
    save_model(single, tmp_path / "one", tasks=CLASSES)
    loaded = load_model(tmp_path / "one")
    assert isinstance(loaded, SpliceAI) and loaded.config == single.config
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), single(x), rtol=0, atol=0)

    ensemble = Ensemble.from_models([small(seed=s) for s in range(3)], average="softmax")
    save_model(ensemble, tmp_path / "five", tasks=CLASSES)
    loaded = load_model(tmp_path / "five")
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), ensemble(x), rtol=0, atol=0)


def test_softmax_ensemble_is_the_mean_of_member_probabilities():
    members = [small(seed=s) for s in range(3)]
    ensemble = Ensemble.from_models(members, average="softmax")
    x = random_one_hot(2, 50, seed=4)
    with torch.no_grad():
        manual = torch.stack([torch.softmax(m(x), dim=1) for m in members]).mean(dim=0)
        torch.testing.assert_close(splice_probabilities(ensemble, x), manual)
    with pytest.raises(SequenceError, match=r"Ensemble: .*got shape \(2, 4, 20\)"):
        ensemble(random_one_hot(2, 20))
    other = build_model("spliceai", context=80, output_length=10)  # 90 = 20 + 70: same length
    with pytest.raises(ConfigError, match="context 80"):
        Ensemble.from_models([build_model("spliceai", context=20, output_length=70, **SMALL),
                              other], average="softmax")


# ---------------------------------------------------------------------------------------------
# Keras .h5 import (tiny files written by fake_keras, no Keras needed)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> FakeSpliceAI:
    return FakeSpliceAI(SMALL["kernel_sizes"], SMALL["dilations"], group_size=2, channels=6)


def test_import_matches_a_numpy_evaluation_of_the_keras_graph(tmp_path, fake):
    model = load_keras_spliceai(fake.write(tmp_path / "m.h5"))
    assert model.config.kernel_sizes == (3, 3, 5) and model.config.dilations == (1, 2, 1)
    assert model.config.group_size == 2 and model.config.context == 20
    assert model.config.batch_norm_momentum == pytest.approx(0.01)
    x = random_one_hot(1, 64, seed=5)
    expected = keras_forward(fake, x[0].T.numpy())  # (44, 3), channels last
    with torch.no_grad():
        got = splice_probabilities(model, x)[0].T.numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def _bad_layer(fake: FakeSpliceAI, class_name: str, index: int = 0) -> dict:
    return [s for s in fake.layers if s["class_name"] == class_name][index]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: _bad_layer(f, "Activation", 1)["config"].update(activation="tanh"),
         r"activation_2 is 'tanh', expected 'relu'"),
        (lambda f: _bad_layer(f, "Conv1D", 1)["config"].update(padding="valid"),
         r"conv1d_2 has padding='valid'"),
        (lambda f: _bad_layer(f, "Cropping1D")["config"].update(cropping=[10, 9]),
         "crops .10, 9., expected the same on both sides"),
        (lambda f: _bad_layer(f, "Cropping1D")["config"].update(cropping=[11, 11]),
         r"context is 22 but"),
        (lambda f: f.weights["conv1d_3"].update(kernel=np.zeros((3, 6, 5), np.float32)),
         r"layer conv1d_3: 'kernel' has shape \(3, 6, 5\), expected \(3, 6, 6\)"),
        (lambda f: f.weights["batch_normalization_1"].pop("gamma"),
         r"batch_normalization_1: weights .* expected"),
        (lambda f: _bad_layer(f, "BatchNormalization", 2)["config"].update(epsilon=1e-5),
         r"batch-norm layers differ in \(epsilon, momentum\)"),
    ],
)
def test_h5_that_is_not_spliceai_names_file_and_expectation(tmp_path, fake, mutate, message):
    mutate(fake)
    path = fake.write(tmp_path / "odd.h5")
    with pytest.raises(ModelFileError, match=rf"odd\.h5: .*{message}"):
        load_keras_spliceai(path)


def test_non_keras_files_are_clear_errors(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(ModelFileError, match=r"notes\.h5: not an HDF5 file"):
        load_keras_spliceai(text)
    with h5py.File(tmp_path / "weights.h5", "w") as f:
        f.create_dataset("w", data=np.zeros(3))
    with pytest.raises(ModelFileError, match=r"weights\.h5: no 'model_config' attribute"):
        load_keras_spliceai(tmp_path / "weights.h5")
    with h5py.File(tmp_path / "seq.h5", "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": []})
    with pytest.raises(ModelFileError, match=r"seq\.h5: .*'Sequential'; expected a Keras funct"):
        load_keras_spliceai(tmp_path / "seq.h5")
    with pytest.raises(ModelFileError, match=r"missing\.h5: no such file"):
        load_keras_spliceai(tmp_path / "missing.h5")


def test_cli_import_writes_a_loadable_ensemble(tmp_path, capsys):
    paths = [FakeSpliceAI(SMALL["kernel_sizes"], SMALL["dilations"], seed=s).write(
        tmp_path / f"spliceai{s}.h5") for s in (1, 2)]
    out = tmp_path / "model"
    assert main(["splice", "import", *map(str, paths), "--out", str(out), "--each"]) == 0
    ensemble = load_model(out)
    assert isinstance(ensemble, Ensemble) and ensemble.config.average == "softmax"
    expected, provenance = import_spliceai(paths)
    assert [f["name"] for f in provenance["files"]] == ["spliceai1.h5", "spliceai2.h5"]
    x = random_one_hot(1, 40, seed=6)
    with torch.no_grad():
        torch.testing.assert_close(ensemble(x), expected(x), rtol=0, atol=0)
        torch.testing.assert_close(load_model(out / "spliceai2")(x), expected.members[1](x))
    assert "CC BY-NC 4.0" in capsys.readouterr().err

    assert main(["splice", "import", str(paths[0]), "--from-package", "--out", str(out)]) == 2
    assert "either H5 files or --from-package" in capsys.readouterr().err

