"""Names -> models, parameter checking and the spec round trip."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from dnalens.errors import ConfigError
from dnalens.models import (
    DeepSEA,
    build_model,
    model_from_spec,
    model_names,
    model_spec,
    register,
)


def test_families_register_on_import():
    assert {"neuron", "mlp", "kmer", "deepsea", "basset", "danq", "ensemble"} <= set(model_names())
    assert model_names() == sorted(model_names())


def test_unknown_name_lists_known_models():
    with pytest.raises(ConfigError,
                       match=r"unknown model 'deepsee'; known models: akita, basenji, basset, "):
        build_model("deepsee", input_length=100, n_tasks=1)


def test_unknown_parameter_names_it_the_model_and_the_allowed_ones():
    with pytest.raises(
        ConfigError,
        match=r"model 'deepsea' has no parameter 'kernel' \(did you mean 'kernel_size'\?\); "
        r"allowed: batch_norm, conv_channels, dropouts, hidden, input_length, kernel_size, "
        r"n_tasks, pool_size",
    ):
        build_model("deepsea", input_length=100, n_tasks=1, kernel=8)


def test_missing_parameter():
    with pytest.raises(ConfigError, match="model 'basset' needs parameter\\(s\\) n_tasks"):
        build_model("basset", input_length=600)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_tasks": "3"}, "parameter 'n_tasks' must be an integer, got str '3'"),
        ({"n_tasks": True}, "parameter 'n_tasks' must be an integer, got bool True"),
        ({"hidden_sizes": 8}, "parameter 'hidden_sizes' must be a list, got int 8"),
        ({"hidden_sizes": [8, "x"]}, "parameter 'hidden_sizes' must be an integer, got str 'x'"),
        ({"dropout": "high"}, "parameter 'dropout' must be a number"),
    ],
)
def test_wrong_types_are_config_errors(params, message):
    with pytest.raises(ConfigError, match=message):
        build_model("mlp", **{"input_length": 10, "n_tasks": 2, **params})


def test_lists_become_tuples_and_ints_become_floats():
    model = build_model("mlp", input_length=10, n_tasks=2, hidden_sizes=[5, 4], dropout=0)
    assert model.config.hidden_sizes == (5, 4)
    assert isinstance(model.config.dropout, float)


def test_spec_survives_json_and_rebuilds_the_same_config():
    model = build_model(
        "deepsea",
        input_length=40,
        n_tasks=2,
        conv_channels=(4, 4, 4),
        kernel_size=3,
        pool_size=2,
        hidden=5,
    )
    spec = model_spec(model)
    assert spec["name"] == "deepsea"
    assert spec["config"]["conv_channels"] == [4, 4, 4]  # lists, as JSON has them
    again = model_from_spec(json.loads(json.dumps(spec)))
    assert isinstance(again, DeepSEA)
    assert again.config == model.config
    assert model_spec(again) == spec


@pytest.mark.parametrize("spec", [{"config": {}}, {"name": "mlp"}, ["mlp", {}], None])
def test_malformed_spec(spec):
    with pytest.raises(ConfigError, match="a model spec is"):
        model_from_spec(spec)


def test_model_spec_of_unregistered_module():
    with pytest.raises(ConfigError, match="Linear is not a registered dnalens model"):
        model_spec(torch.nn.Linear(2, 2))


def test_register_refuses_a_second_class_under_a_taken_name():
    @dataclasses.dataclass(frozen=True)
    class OtherConfig:
        input_length: int
        n_tasks: int

    with pytest.raises(ConfigError, match="register\\('deepsea'\\): name already used"):

        @register("deepsea", OtherConfig)
        class Other(torch.nn.Module):
            pass
