"""First-layer filters initialised from JASPAR motifs score like a hand-written PWM scan."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnalens.errors import ConfigError
from dnalens.models.motif_init import fit_to_kernel, init_filters_from_motifs, resolve_motifs
from dnalens.models.registry import build_model
from dnalens.sequence.encoding import one_hot


def _basset() -> torch.nn.Module:
    return build_model("basset", input_length=200, n_tasks=1, conv_channels=(8, 8, 8),
                       kernel_sizes=(19, 5, 3), pool_sizes=(2, 2, 2), hidden_sizes=(8,))


def test_ctcf_filter_scores_its_consensus_as_the_log_odds_sum():
    motif = resolve_motifs(["C055:CTCF"])[0]
    model = _basset()
    names = init_filters_from_motifs(model, [motif], threshold=0.0)
    assert names == [motif.name, f"{motif.name} (rc)"]
    conv = model.trunk[0][0]
    scores = motif.log_odds()
    best = float(scores.max(axis=0).sum())
    best_bases = "".join("ACGT"[i] for i in scores.argmax(axis=0))
    x = torch.zeros(1, 4, 19)
    x[0, :, 3:15] = one_hot(best_bases).reshape(4, 12)  # centred in the 19-wide kernel
    forward = torch.nn.functional.conv1d(x, conv.weight[:1], conv.bias[:1]).item()
    assert forward == pytest.approx(best, abs=1e-4)
    rc = torch.zeros(1, 4, 19)
    rc[0, :, 3:15] = torch.flip(x[0, :, 3:15], dims=(0, 1))  # the site on the other strand
    reverse = torch.nn.functional.conv1d(rc, conv.weight[1:2], conv.bias[1:2]).item()
    assert reverse == pytest.approx(best, abs=1e-4)


def test_wider_motif_is_cut_to_its_most_informative_window():
    scores = np.zeros((4, 6))
    scores[0, 3:5] = 2.0  # the informative part is columns 3-4
    fitted = fit_to_kernel(scores, 2)
    np.testing.assert_array_equal(fitted, scores[:, 3:5])


def test_unknown_motif_and_too_many_filters_are_clear_errors():
    with pytest.raises(ConfigError, match="no motif matching 'NOSUCHTF'"):
        resolve_motifs(["NOSUCHTF"])
    motifs = resolve_motifs(["CTCF", "GATA", "FOX", "SOX"])
    with pytest.raises(ConfigError, match="filters needed but the first convolution has 8"):
        init_filters_from_motifs(_basset(), motifs)
