"""Saving and loading models: round trips, no pickle, and one error per way a folder breaks."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from test_zoo import SMALL, random_one_hot, small_model

from dnalens.errors import ConfigError, ModelFileError
from dnalens.models import (
    Ensemble,
    build_model,
    load_model,
    model_names,
    read_model_card,
    save_model,
)

TASKS = ["ctcf", "dnase", "h3k27ac"]


def trained_looking(name: str) -> torch.nn.Module:
    """A small model whose buffers (batch-norm statistics) are no longer the defaults."""
    torch.manual_seed(0)
    model = small_model(name)
    model.train()
    with torch.no_grad():
        model(random_one_hot(8, 40, seed=1))
    return model.eval()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_round_trip_gives_identical_outputs(tmp_path, name):
    assert name in model_names()
    model = trained_looking(name)
    save_model(model, tmp_path / "run", tasks=TASKS, extra={"epochs": 3})
    loaded = load_model(tmp_path / "run")
    assert type(loaded) is type(model)
    assert not loaded.training
    assert loaded.config == model.config
    x = random_one_hot(4, 40, seed=2)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=1e-6, rtol=0)


def test_round_trip_of_an_ensemble_built_from_trained_models(tmp_path):
    members = [trained_looking("deepsea"), trained_looking("basset"), trained_looking("kmer")]
    ensemble = Ensemble.from_models(members)
    save_model(ensemble, tmp_path, tasks=TASKS)
    loaded = load_model(tmp_path)
    x = random_one_hot(4, 40, seed=3)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), ensemble(x), atol=1e-6, rtol=0)


def test_load_never_unpickles(tmp_path, monkeypatch):
    save_model(trained_looking("basset"), tmp_path, tasks=TASKS)

    def refuse(*args, **kwargs):
        raise AssertionError("load_model must not unpickle")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    assert load_model(tmp_path)(random_one_hot(2, 40)).shape == (2, 3)


def test_model_card_contents(tmp_path):
    save_model(small_model("danq"), tmp_path, tasks=TASKS, extra={"run": "demo"})
    raw = json.loads((tmp_path / "model.json").read_text())
    assert raw["format"] == "dnalens-model"
    assert raw["format_version"] == 1
    assert isinstance(raw["dnalens_version"], str) and raw["dnalens_version"]
    card = read_model_card(tmp_path)
    assert card.name == "danq"
    assert card.tasks == tuple(TASKS)
    assert (card.input_length, card.n_tasks, card.alphabet) == (40, 3, "ACGT")
    assert card.extra == {"run": "demo"}
    assert card.config["kernel_size"] == 5


def test_save_leaves_no_temporary_files_and_overwrites(tmp_path):
    save_model(small_model("mlp"), tmp_path, tasks=TASKS)
    save_model(small_model("neuron"), tmp_path, tasks=TASKS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.safetensors"]
    assert read_model_card(tmp_path).name == "neuron"


def test_weights_file_is_plain_safetensors_with_metadata(tmp_path):
    from safetensors import safe_open

    save_model(small_model("neuron"), tmp_path, tasks=TASKS)
    with safe_open(str(tmp_path / "model.safetensors"), framework="pt") as f:
        assert f.metadata() == {"format": "dnalens"}
        assert sorted(f.keys()) == ["head.bias", "head.weight"]


def test_wrong_number_of_tasks(tmp_path):
    with pytest.raises(ConfigError, match="2 task names given but the model has n_tasks = 3"):
        save_model(small_model("mlp"), tmp_path, tasks=["a", "b"])
    with pytest.raises(ConfigError, match="tasks must be a list of 3 task names"):
        save_model(small_model("mlp"), tmp_path, tasks="abc")
    assert not (tmp_path / "model.json").exists()


def test_extra_must_be_json(tmp_path):
    with pytest.raises(ConfigError, match="extra must be JSON-serialisable"):
        save_model(small_model("mlp"), tmp_path, tasks=TASKS, extra={"when": object()})


def test_missing_folder_and_missing_files(tmp_path):
    with pytest.raises(ModelFileError, match=r"nope: no such folder; a dnalens model folder"):
        load_model(tmp_path / "nope")
    with pytest.raises(
        ModelFileError,
        match=r": no model.json; a dnalens model folder holds model.json and model.safetensors",
    ):
        load_model(tmp_path)
    save_model(small_model("mlp"), tmp_path, tasks=TASKS)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(ModelFileError, match=r": no model.safetensors;"):
        load_model(tmp_path)


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[: len(b) // 2], lambda b: b[:5], lambda b: b"not a safetensors file"],
    ids=["truncated", "header-cut", "garbage"],
)
def test_corrupt_weights_name_the_file(tmp_path, damage):
    save_model(small_model("mlp"), tmp_path, tasks=TASKS)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(damage(weights.read_bytes()))
    with pytest.raises(ModelFileError, match=r"model\.safetensors: corrupt or truncated") as info:
        load_model(tmp_path)
    assert "\n" not in str(info.value)


def test_invalid_json_and_wrong_format(tmp_path):
    save_model(small_model("mlp"), tmp_path, tasks=TASKS)
    card = tmp_path / "model.json"
    card.write_text('{"format": "dnalens-model",\n "name": }')
    with pytest.raises(ModelFileError, match=r"model\.json: not valid JSON \(line 2, column"):
        load_model(tmp_path)
    card.write_text(json.dumps({"format": "keras"}))
    with pytest.raises(ModelFileError, match=r"model\.json: format is 'keras', expected"):
        read_model_card(tmp_path)


def _edit_card(tmp_path, **changes):
    card = tmp_path / "model.json"
    data = json.loads(card.read_text())
    data.update(changes)
    card.write_text(json.dumps(data))


def test_card_with_unknown_model_or_newer_format(tmp_path):
    save_model(small_model("mlp"), tmp_path, tasks=TASKS)
    _edit_card(tmp_path, name="transformer9000")
    with pytest.raises(ModelFileError, match=r"model\.json: unknown model 'transformer9000'"):
        load_model(tmp_path)
    _edit_card(tmp_path, name="mlp", format_version=2)
    with pytest.raises(ModelFileError, match="format_version 2 is not supported"):
        load_model(tmp_path)


def test_card_tasks_disagree_with_n_tasks(tmp_path):
    save_model(small_model("mlp"), tmp_path, tasks=TASKS)
    _edit_card(tmp_path, tasks=["a"])
    with pytest.raises(ModelFileError, match="1 task names but n_tasks = 3"):
        read_model_card(tmp_path)


def test_weights_of_another_model_name_the_keys(tmp_path):
    save_model(small_model("mlp"), tmp_path / "mlp", tasks=TASKS)
    save_model(small_model("neuron"), tmp_path / "neuron", tasks=TASKS)
    (tmp_path / "mlp" / "model.safetensors").replace(tmp_path / "neuron" / "model.safetensors")
    with pytest.raises(
        ModelFileError,
        match=r"model\.safetensors: tensors do not match model 'neuron' in model\.json: "
        r"unexpected trunk\.1\.0\.bias, trunk\.1\.0\.weight$",
    ):
        load_model(tmp_path / "neuron")


def test_shape_mismatch_names_the_tensor(tmp_path):
    save_model(build_model("neuron", input_length=40, n_tasks=3), tmp_path, tasks=TASKS)
    _edit_card(tmp_path, input_length=20, config={"input_length": 20, "n_tasks": 3})
    with pytest.raises(ModelFileError, match=r"head\.weight is \(3, 160\), model wants \(3, 80\)"):
        load_model(tmp_path)


def test_save_into_a_file_path_is_refused(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    with pytest.raises(ModelFileError, match="taken: is not a folder"):
        save_model(small_model("mlp"), target, tasks=TASKS)
