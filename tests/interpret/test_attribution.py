"""Attribution methods against models whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dnalens.errors import DnalensError, ParameterError, SequenceError
from dnalens.interpret.attribution import attribute, save_attributions, shuffled_references
from dnalens.models.basset import Basset, BassetConfig
from dnalens.sequence import one_hot

L = 12


class Linear(nn.Module):
    """f(x) = sum(w * x) (+ 0.5 * sum(x) as a second output column)."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score = (self.w * x).sum(dim=(1, 2))
        return torch.stack([score, 0.5 * x.sum(dim=(1, 2))], dim=1)


@pytest.fixture
def linear() -> Linear:
    return Linear(torch.randn(4, L, generator=torch.Generator().manual_seed(0)))


@pytest.fixture
def x(dna) -> torch.Tensor:
    return one_hot([dna(L, 1), dna(L, 2), dna(L, 3)])


def test_saliency_of_linear_model_is_w(linear, x):
    attr = attribute(linear, x, method="saliency")
    torch.testing.assert_close(attr, linear.w.detach().expand_as(x))


def test_grad_x_input_of_linear_model_is_w_times_x(linear, x):
    attr = attribute(linear, x, method="grad_x_input")
    torch.testing.assert_close(attr, linear.w.detach() * x)


def test_integrated_gradients_zero_baseline_is_complete(linear, x):
    attr = attribute(linear, x, method="integrated_gradients", n_steps=20)
    torch.testing.assert_close(attr, linear.w.detach() * x)
    torch.testing.assert_close(attr.sum(dim=(1, 2)), linear(x)[:, 0].detach())


def test_deepshap_of_linear_model_is_w_times_x_minus_mean_reference(linear, x):
    attr = attribute(linear, x, method="deepshap", n_shuffles=6, seed=3)
    for i in range(x.shape[0]):
        refs = shuffled_references(x[i], 6, seed=3 + i)
        expected = linear.w.detach() * (x[i] - refs.mean(dim=0))
        torch.testing.assert_close(attr[i], expected)


def test_deepshap_hypothetical_projects_to_the_default(x):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 3, 5), nn.ReLU(inplace=True), nn.Flatten(),
                          nn.Linear(3 * (L - 4), 2))
    actual = attribute(model, x, method="deepshap", n_shuffles=4, target=1)
    hyp = attribute(model, x, method="deepshap", n_shuffles=4, target=1, hypothetical=True)
    torch.testing.assert_close((hyp * x).sum(dim=1), actual.sum(dim=1), atol=1e-5, rtol=1e-4)
    # The caller's model keeps its in-place ReLU.
    assert model[1].inplace


def test_deepshap_sums_to_output_minus_mean_reference_output(x):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv1d(4, 3, 5), nn.ReLU(), nn.Flatten(), nn.Linear(3 * (L - 4), 1))
    attr = attribute(model, x[:1], method="deepshap", n_shuffles=5)
    refs = shuffled_references(x[0], 5, seed=0)
    with torch.no_grad():
        expected = model(x[:1])[0, 0] - model(refs)[:, 0].mean()
    torch.testing.assert_close(attr.sum(), expected, atol=1e-5, rtol=1e-4)


def test_deepshap_is_complete_for_basset_with_batch_norm_relu_and_max_pool(dna):
    # conv -> BatchNorm -> ReLU -> MaxPool blocks: adjacent hooked modules in captum.
    torch.manual_seed(2)
    model = Basset(BassetConfig(input_length=60, n_tasks=2, conv_channels=(6, 5, 4),
                                kernel_sizes=(5, 3, 3), pool_sizes=(2, 2, 2), hidden_sizes=(8,)))
    model.eval()
    x = one_hot([dna(60, 7)])
    attr = attribute(model, x, method="deepshap", n_shuffles=5, target=1)
    refs = shuffled_references(x[0], 5, seed=0)
    with torch.no_grad():
        expected = model(x)[0, 1] - model(refs)[:, 1].mean()
    torch.testing.assert_close(attr.sum(), expected, atol=1e-5, rtol=1e-4)


def test_shuffle_baseline_integrated_gradients_shape(linear, x):
    attr = attribute(linear, x, method="integrated_gradients", baseline="shuffle",
                     n_shuffles=2, n_steps=5)
    assert attr.shape == x.shape
    refs = shuffled_references(x[0], 2, seed=0)
    torch.testing.assert_close(attr[0], linear.w.detach() * (x[0] - refs.mean(dim=0)))


def test_target_selects_column_and_batches_agree(linear, x):
    attr = attribute(linear, x, method="saliency", target=1, batch_size=2)
    torch.testing.assert_close(attr, torch.full_like(x, 0.5))


def test_binned_output_sums_bins(x):
    class Binned(nn.Module):
        def forward(self, x):
            return x.reshape(x.shape[0], 1, -1)  # (batch, 1 target, 4 * L bins)

    attr = attribute(Binned(), x, method="saliency")
    torch.testing.assert_close(attr, torch.ones_like(x))


def test_shuffled_references_keep_composition(x):
    refs = shuffled_references(x[0], 3, seed=1)
    assert refs.shape == (3, 4, L)
    torch.testing.assert_close(refs.sum(dim=2), x[0].sum(dim=1).expand(3, 4))


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (torch.zeros(4, L), r"shape \(batch, 4, length\)"),
        (torch.zeros(2, 5, L), r"got shape \(2, 5, 12\)"),
        (torch.zeros(0, 4, L), "empty"),
        (torch.full((2, 4, L), -0.5), r"soft one-hot \(values >= 0, each column summing to at "
                                      r"most 1\), got -0.5 at sequence 0, row A, position 0"),
        (torch.full((2, 4, L), 0.3), r"got a column sum of 1.2 at sequence 0, position 0"),
    ],
)
def test_bad_inputs_raise(linear, bad, match):
    with pytest.raises(SequenceError, match=match):
        attribute(linear, bad)


def test_bad_options_raise(linear, x):
    with pytest.raises(DnalensError, match="method must be one of"):
        attribute(linear, x, method="lime")
    with pytest.raises(DnalensError, match="target 5 is out of range; the model has 2 outputs"):
        attribute(linear, x, target=5)
    with pytest.raises(DnalensError, match="hypothetical=True needs method='deepshap'"):
        attribute(linear, x, hypothetical=True)
    with pytest.raises(DnalensError, match="deepshap needs n_shuffles >= 2; got 1"):
        attribute(linear, x, method="deepshap", n_shuffles=1)
    match = r"`n_steps` of attribute must be a positive int, got 0$"
    with pytest.raises(ParameterError, match=match):
        attribute(linear, x, method="integrated_gradients", n_steps=0)


def test_soft_and_integer_inputs_are_accepted(linear, x):
    # Soft one-hot (a point on an integrated-gradients path, a designed sequence) is valid
    # input; the saliency of a linear model is w whatever the input.
    w = linear.w.detach().expand(3, 4, L)
    torch.testing.assert_close(attribute(linear, x * 0.25), w)
    torch.testing.assert_close(attribute(linear, x.long(), method="grad_x_input"), w * x)


def test_save_attributions_round_trip(tmp_path, linear, x):
    attr = attribute(linear, x, method="grad_x_input")
    out = save_attributions(tmp_path / "attr.npz", x, attr, ["a", "b", "c"])
    with np.load(out) as data:
        assert list(data["names"]) == ["a", "b", "c"]
        assert data["sequences"][0] == "".join("ACGT"[i] for i in x[0].argmax(0))
        np.testing.assert_allclose(data["attributions"], attr.numpy())
        np.testing.assert_array_equal(data["one_hot"], x.numpy())
    assert [p.name for p in tmp_path.iterdir()] == ["attr.npz"]
    with pytest.raises(SequenceError, match="must equal x shape"):
        save_attributions(tmp_path / "bad.npz", x, attr[:1])
