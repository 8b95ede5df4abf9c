"""Logistic regression on k-mer frequencies: the field's yardstick for sequence models.

:meth:`KmerLogistic.featurize` turns one-hot DNA into a (batch, 4**k) table of k-mer
frequencies; a single linear layer maps it to one logit per task. The trainer may fit that
layer with scikit-learn and copy the coefficients into ``model.linear``.

k-mers are indexed base-4 with A, C, G, T = 0, 1, 2, 3 and the first base most significant,
so for k = 2 the columns are AA, AC, AG, AT, CA, ..., TT.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dnalens.errors import ConfigError, SequenceError
from dnalens.models import layers
from dnalens.models.registry import register

__all__ = ["KmerConfig", "KmerLogistic", "kmer_names"]

# 4**k features times n_tasks weights; past k = 8 (65,536 features) the table outgrows the
# data any genome track provides, and k = 12 would need 16.7 M columns per sequence.
MAX_K = 8


@dataclass(frozen=True)
class KmerConfig:
    """Configuration of :class:`KmerLogistic`.

    Attributes
    ----------
    input_length : int
        Sequence length L the model takes (at least k).
    n_tasks : int
        Number of outputs (one logit each).
    k : int
        k-mer length, 1 to 8.
    both_strands : bool
        Add the reverse-complement strand's counts, so features do not depend on strand.
    """

    input_length: int
    n_tasks: int
    k: int = 5
    both_strands: bool = True


def kmer_names(k: int) -> list[str]:
    """Column names of :meth:`KmerLogistic.featurize`: all 4**k k-mers in index order."""
    names = [""]
    for _ in range(k):
        names = [prefix + base for prefix in names for base in "ACGT"]
    return names


@register("kmer", KmerConfig)
class KmerLogistic(nn.Module):
    """k-mer frequencies -> Linear: (batch, 4, input_length) -> (batch, n_tasks) logits."""

    def __init__(self, config: KmerConfig) -> None:
        super().__init__()
        _validate(config)
        self.config = config
        k = config.k
        # Base-4 place values, first base most significant.
        powers = 4 ** torch.arange(k - 1, -1, -1)
        # Index of each k-mer's reverse complement: reverse the digits, complement each (3 - d).
        digits = (torch.arange(4**k)[:, None] // powers) % 4  # (4**k, k)
        rc_index = ((3 - digits).flip(1) * powers).sum(1)
        # Non-persistent: derived from k, so they follow .to(device) but stay out of the
        # state dict (the saved weights are only the linear layer).
        self.register_buffer("powers", powers, persistent=False)
        self.register_buffer("rc_index", rc_index, persistent=False)
        self.linear = nn.Linear(4**k, config.n_tasks)

    def featurize(self, x: Tensor) -> Tensor:
        """k-mer frequencies of each sequence.

        Parameters
        ----------
        x : Tensor, shape (batch, 4, length)
            One-hot DNA, rows A, C, G, T; an N column is all zeros. Any length works.

        Returns
        -------
        Tensor, shape (batch, 4**k), float32
            Count of each k-mer divided by the number of k-mers counted, so each row sums to
            1 (or is all zeros when no k-mer is free of N). k-mers overlapping an N are
            skipped. With ``both_strands`` the reverse-complement strand's counts are added
            before dividing, so the features of a sequence and of its reverse complement
            are equal.
        """
        if not isinstance(x, Tensor) or x.ndim != 3 or x.shape[1] != 4:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise SequenceError(
                f"KmerLogistic.featurize: expected one-hot DNA of shape (batch, 4, length), "
                f"got {got}"
            )
        k = self.config.k
        batch, _, length = x.shape
        counts = torch.zeros(batch, 4**k, dtype=torch.float32, device=x.device)
        if length < k:
            return counts

        base = x.argmax(dim=1)  # (batch, L); meaningless at N, masked below
        valid = x.amax(dim=1) > 0  # (batch, L); an all-zero column is N
        # Sliding windows of k bases -> base-4 number; a window is valid only if all k are.
        index = (base.unfold(1, k, 1) * self.powers).sum(-1)  # (batch, L - k + 1)
        window_valid = valid.unfold(1, k, 1).all(-1).to(torch.float32)
        counts.scatter_add_(1, index, window_valid)
        if self.config.both_strands:
            # The reverse strand holds kmer j wherever the forward strand holds rc(j).
            counts = counts + counts[:, self.rc_index]
        total = counts.sum(dim=1, keepdim=True).clamp_min(1.0)
        return counts / total

    def forward(self, x: Tensor) -> Tensor:
        """(batch, 4, input_length) one-hot -> (batch, n_tasks) logits."""
        layers.check_input(x, self.config.input_length, "KmerLogistic")
        return self.linear(self.featurize(x))


def _validate(config: KmerConfig) -> None:
    layers.require_config("KmerLogistic", config, KmerConfig)
    for name in ("input_length", "n_tasks", "k"):
        layers.require_positive("KmerLogistic", name, getattr(config, name))
    if config.k > MAX_K:
        raise ConfigError(f"KmerLogistic: k must be between 1 and {MAX_K}, got {config.k}")
    if not isinstance(config.both_strands, bool):
        raise ConfigError(
            f"KmerLogistic: both_strands must be true or false, got {config.both_strands!r}"
        )
    if config.input_length < config.k:
        raise ConfigError(
            f"KmerLogistic: input_length {config.input_length} is shorter than k = "
            f"{config.k}; the minimum input_length is {config.k}"
        )
