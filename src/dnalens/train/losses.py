"""Losses for outputs along the sequence: coverage (Poisson, multinomial + Poisson) and contact
maps (mean squared error over the entries that have data)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["MaskedMSE", "MultinomialPoisson", "PoissonRate"]

_EPS = 1e-8


class MaskedMSE(nn.Module):
    """Mean squared error over finite targets only.

    Contact maps have NaN where a bin has no coverage (filtered in balancing); those entries
    are left out of the loss rather than filled with zeros, which would teach the model
    that unmapped regions do not contact anything.
    """

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        mask = torch.isfinite(target)
        if not mask.any():
            # No entry with data: a zero that keeps the graph (and DDP's gradient sync) intact.
            return (prediction * 0).sum()
        diff = prediction[mask] - target[mask]
        return (diff * diff).mean()


class PoissonRate(nn.Module):
    """Poisson negative log-likelihood of counts given non-negative predicted rates
    (``rate - target * log(rate)``, constant terms dropped), for models that end in softplus."""

    def forward(self, rate: Tensor, target: Tensor) -> Tensor:
        return (rate - target * torch.log(rate + _EPS)).mean()


class MultinomialPoisson(nn.Module):
    """Basenji2/BPNet-style coverage loss: a Poisson term on each track's total count in a
    window plus a multinomial term on how that total is shared among the bins.

    Parameters
    ----------
    total_weight : float
        Weight of the Poisson term on totals (Basenji2 uses 0.2 relative to the shape term).

    Notes
    -----
    Inputs are (batch, tasks, bins) non-negative rates and counts. Both terms are divided by
    the number of bins, so the loss is on the same scale as :class:`PoissonRate`.
    """

    def __init__(self, total_weight: float = 0.2) -> None:
        super().__init__()
        self.total_weight = total_weight

    def forward(self, rate: Tensor, target: Tensor) -> Tensor:
        n_bins = rate.shape[-1]
        rate_total = rate.sum(dim=-1)
        target_total = target.sum(dim=-1)
        poisson = rate_total - target_total * torch.log(rate_total + _EPS)
        log_share = torch.log(rate + _EPS) - torch.log(rate_total + _EPS).unsqueeze(-1)
        multinomial = -(target * log_share).sum(dim=-1)
        return ((self.total_weight * poisson + multinomial) / n_bins).mean()
