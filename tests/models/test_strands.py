"""Both-strand averaging: reverse complement, the averaging arithmetic, symmetry, storage."""

from __future__ import annotations

import math

import pytest
import torch

from dnalens.errors import ConfigError
from dnalens.models import (
    BothStrands,
    BothStrandsConfig,
    Neuron,
    NeuronConfig,
    build_model,
    load_model,
    save_model,
)
from dnalens.models.motif_init import init_filters_from_motifs, resolve_motifs
from dnalens.models.strands import reverse_complement
from dnalens.sequence.encoding import one_hot

SMALL_BASSET = {"conv_channels": [8, 8, 8], "hidden_sizes": [8]}


def random_dna(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (batch, length), generator=g)
    return torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).float()


def test_reverse_complement_known_answer():
    x = one_hot("AACGTN")[None]
    torch.testing.assert_close(reverse_complement(x), one_hot("NACGTT")[None])


def linear_neuron(length: int = 3) -> Neuron:
    """Logit = 1 for an A at position 0, 2 for a T at the last position, bias -1."""
    model = Neuron(NeuronConfig(input_length=length, n_tasks=1))
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.weight[0, 0 * length + 0] = 1.0  # row A, position 0
        model.head.weight[0, 3 * length + length - 1] = 2.0  # row T, last position
        model.head.bias.fill_(-1.0)
    return model


def test_output_average_known_answer():
    # "AAC": forward logit 1 - 1 = 0; its reverse complement "GTT" ends in T: 2 - 1 = 1.
    model = BothStrands.wrap(linear_neuron(), average="output")
    x = one_hot("AAC")[None]
    torch.testing.assert_close(model(x), torch.tensor([[0.5]]))


def test_probability_average_known_answer():
    model = BothStrands.wrap(linear_neuron())
    x = one_hot("AAC")[None]
    p = (0.5 + 1 / (1 + math.exp(-1.0))) / 2
    torch.testing.assert_close(model(x), torch.tensor([[math.log(p / (1 - p))]]))


@pytest.mark.parametrize("average", ["output", "probability"])
def test_same_score_for_a_sequence_and_its_reverse_complement(average):
    inner = build_model("basset", input_length=300, n_tasks=2, **SMALL_BASSET).eval()
    x = random_dna(4, 300)
    # The inner model alone is not symmetric, so this test can fail.
    assert (inner(x) - inner(reverse_complement(x))).abs().max() > 1e-4
    model = BothStrands.wrap(inner, average=average).eval()
    torch.testing.assert_close(model(x), model(reverse_complement(x)), atol=1e-6, rtol=0)


def test_wrap_copies_weights_and_leaves_input_alone():
    inner = build_model("basset", input_length=300, n_tasks=1, **SMALL_BASSET).eval()
    before = {k: v.clone() for k, v in inner.state_dict().items()}
    model = BothStrands.wrap(inner, average="output").eval()
    x = random_dna(3, 300, seed=1)
    expected = (inner(x) + inner(reverse_complement(x))) / 2
    torch.testing.assert_close(model(x), expected)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    for key, value in inner.state_dict().items():
        torch.testing.assert_close(value, before[key])


def test_built_by_name_fills_inner_defaults_and_round_trips(tmp_path):
    model = build_model("both_strands", input_length=300, n_tasks=2, model="basset",
                        params=SMALL_BASSET).eval()
    assert model.config.params["kernel_sizes"] == [19, 11, 7]
    save_model(model, tmp_path / "m", tasks=["a", "b"])
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, BothStrands)
    x = random_dna(2, 300, seed=2)
    torch.testing.assert_close(loaded(x), model(x))


def test_motif_init_reaches_the_inner_first_convolution():
    model = build_model("both_strands", input_length=300, n_tasks=1, model="basset",
                        params=SMALL_BASSET)
    names = init_filters_from_motifs(model, resolve_motifs(["CTCF"]))
    assert names == ["C055:CTCF:C2H2_ZF", "C055:CTCF:C2H2_ZF (rc)"]
    conv = next(m for m in model.model.modules() if isinstance(m, torch.nn.Conv1d))
    # The 12 bp matrix is centred in the 19 bp kernel: 3 zero columns, then the motif.
    expected = resolve_motifs(["CTCF"])[0].log_odds()
    torch.testing.assert_close(conv.weight[0, :, 3:15].double(), torch.as_tensor(expected))
    assert conv.weight[0, :, :3].abs().sum() == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"average": "median"}, r"both_strands: average must be one of probability, output, "
                            r"got 'median'"),
    ({"params": {"n_tasks": 3}}, r"both_strands: params must not give n_tasks"),
    ({"model": "both_strands"}, r"inner model cannot be both_strands"),
    ({"model": "basset", "params": {"hidden": 3}},
     r"both_strands: inner model: model 'basset' has no parameter 'hidden'"),
    ({"model": "nosuch"}, r"both_strands: inner model: unknown model 'nosuch'"),
])
def test_bad_configs_name_the_problem(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        BothStrands(BothStrandsConfig(input_length=300, n_tasks=1, **kwargs))


def test_wrap_refuses_a_model_without_window_shape():
    with pytest.raises(ConfigError, match="not a registered dnalens model"):
        BothStrands.wrap(torch.nn.Conv1d(4, 1, 3))
