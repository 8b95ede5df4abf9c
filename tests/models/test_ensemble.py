"""Ensembles: the averaging arithmetic, weight copying and member checks."""

from __future__ import annotations

import math

import pytest
import torch

from dnalens.errors import ConfigError
from dnalens.models import Ensemble, EnsembleConfig, Neuron, NeuronConfig, build_model


def constant(logit: float, n_tasks: int = 2, length: int = 10) -> Neuron:
    """A neuron whose output is ``logit`` for every input (zero weights, bias = logit)."""
    model = Neuron(NeuronConfig(input_length=length, n_tasks=n_tasks))
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(logit)
    return model


def x(batch: int = 3, length: int = 10) -> torch.Tensor:
    return torch.zeros(batch, 4, length)


def test_probability_average_known_answer():
    a, b = 2.0, -1.0
    ensemble = Ensemble.from_models([constant(a), constant(b)])
    p = (1 / (1 + math.exp(-a)) + 1 / (1 + math.exp(-b))) / 2
    expected = torch.full((3, 2), math.log(p / (1 - p)))
    torch.testing.assert_close(ensemble(x()), expected)


def test_output_average_known_answer():
    ensemble = Ensemble.from_models([constant(2.0), constant(-1.0), constant(5.0)], "output")
    torch.testing.assert_close(ensemble(x()), torch.full((3, 2), 2.0))


def test_certain_members_stay_finite():
    # sigmoid(100) rounds to 1.0 in float32; the clamp keeps logit() finite (about 16).
    out = Ensemble.from_models([constant(100.0), constant(90.0)])(x())
    assert torch.isfinite(out).all()
    assert (out > 15).all()


def test_from_models_copies_weights_and_matches_a_manual_average():
    torch.manual_seed(0)
    members = [
        build_model("mlp", input_length=10, n_tasks=2, hidden_sizes=[4]).eval() for _ in range(3)
    ]
    ensemble = Ensemble.from_models(members, average="output")
    assert not ensemble.training
    inputs = torch.nn.functional.one_hot(torch.randint(0, 4, (5, 10)), 4).transpose(1, 2).float()
    manual = torch.stack([m(inputs) for m in members]).mean(0)
    torch.testing.assert_close(ensemble(inputs), manual)
    # Copies, not shared parameters.
    with torch.no_grad():
        members[0].head.bias.add_(1.0)
    torch.testing.assert_close(ensemble(inputs), manual)


def test_properties_and_filled_in_member_specs():
    ensemble = Ensemble(
        EnsembleConfig(
            members=(
                {"name": "neuron", "config": {"input_length": 10, "n_tasks": 2}},
                {"name": "mlp", "config": {"input_length": 10, "n_tasks": 2}},
            )
        )
    )
    assert (ensemble.input_length, ensemble.n_tasks) == (10, 2)
    assert ensemble.config.members[1]["config"]["hidden_sizes"] == [256, 64]


def test_members_must_agree():
    with pytest.raises(
        ConfigError,
        match=r"members must agree on \(input_length, n_tasks\), "
        r"got 0: \(10, 2\), 1: \(10, 3\)",
    ):
        Ensemble.from_models([constant(0.0, n_tasks=2), constant(0.0, n_tasks=3)])


def test_bad_average_empty_members_and_bad_member_spec():
    with pytest.raises(
        ConfigError, match="average must be one of probability, output, softmax, got 'vote'"
    ):
        Ensemble.from_models([constant(0.0)], average="vote")
    with pytest.raises(ConfigError, match="members must be a non-empty list"):
        Ensemble(EnsembleConfig(members=()))
    with pytest.raises(ConfigError, match="Ensemble member 0: unknown model 'nope'"):
        Ensemble(EnsembleConfig(members=({"name": "nope", "config": {}},)))
