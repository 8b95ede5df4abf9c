"""The LightningModule: losses, penalties, optimisers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dnalens.errors import ConfigError
from dnalens.train.task import SequenceTask, make_loss


class _Constant(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 1, bias=False)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([[1.0, -2.0, 0.0, 3.0]]))

    def forward(self, x):
        return self.linear(x.sum(-1))


def test_l1_adds_the_summed_absolute_weights():
    x = torch.zeros(2, 4, 5)
    y = torch.zeros(2, 1)
    plain = SequenceTask(_Constant(), l1=0.0).training_step((x, y), 0)
    penalised = SequenceTask(_Constant(), l1=0.5).training_step((x, y), 0)
    # |1| + |-2| + |0| + |3| = 6, times 0.5.
    assert (penalised - plain).item() == pytest.approx(3.0)


def test_pos_weight_scales_the_positive_term():
    logits, target = torch.zeros(1, 1), torch.ones(1, 1)
    base = make_loss("bce")(logits, target)
    weighted = make_loss("bce", torch.tensor([4.0]))(logits, target)
    assert weighted.item() == pytest.approx(4 * base.item())


def test_poisson_loss_takes_log_rates():
    loss = make_loss("poisson")(torch.zeros(3), torch.tensor([1.0, 2.0, 0.0]))
    # exp(0) - y * 0 = 1 for each element.
    assert loss.item() == pytest.approx(1.0)


@pytest.mark.parametrize(("name", "cls"), [("adam", torch.optim.Adam),
                                           ("adamw", torch.optim.AdamW),
                                           ("sgd", torch.optim.SGD)])
def test_optimizer_choice_and_l2_weight_decay(name, cls):
    optimizer = SequenceTask(_Constant(), optimizer=name, l2=0.01).configure_optimizers()
    assert isinstance(optimizer, cls)
    assert optimizer.param_groups[0]["weight_decay"] == 0.01


def test_pos_weight_with_mse_is_refused():
    with pytest.raises(ConfigError, match="pos_weight applies to the 'bce' loss only"):
        make_loss("mse", torch.tensor([2.0]))
