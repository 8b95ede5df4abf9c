"""Losses for coverage and contact maps, against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from dnalens.errors import ConfigError
from dnalens.train.losses import MaskedMSE, MultinomialPoisson, PoissonRate
from dnalens.train.task import make_loss


def test_masked_mse_leaves_nan_targets_out():
    prediction = torch.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    target = torch.tensor([[0.0, float("nan"), 5.0, float("nan")]])
    loss = MaskedMSE()(prediction, target)
    assert loss.item() == pytest.approx((1 + 4) / 2)
    loss.backward()
    assert prediction.grad.tolist() == [[1.0, 0.0, -2.0, 0.0]]
    empty = MaskedMSE()(prediction, torch.full((1, 4), float("nan")))
    assert empty.item() == 0 and empty.requires_grad


def test_poisson_on_rates_matches_torch_without_constants():
    rate = torch.tensor([[0.5, 2.0], [1.0, 3.0]])
    target = torch.tensor([[1.0, 0.0], [2.0, 4.0]])
    ours = PoissonRate()(rate, target)
    reference = torch.nn.PoissonNLLLoss(log_input=False, eps=1e-8)(rate, target)
    assert ours.item() == pytest.approx(reference.item(), rel=1e-6)
    assert isinstance(make_loss("poisson", rates=True), PoissonRate)
    assert isinstance(make_loss("poisson"), torch.nn.PoissonNLLLoss)


def test_multinomial_poisson_by_hand():
    rate = torch.tensor([[[1.0, 3.0]]])      # (batch 1, task 1, 2 bins): total 4
    target = torch.tensor([[[2.0, 2.0]]])    # total 4
    poisson = 4 - 4 * math.log(4)
    multinomial = -(2 * math.log(0.25) + 2 * math.log(0.75))
    expected = (0.2 * poisson + multinomial) / 2
    assert MultinomialPoisson()(rate, target).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ConfigError, match="needs a coverage model"):
        make_loss("multinomial_poisson")
