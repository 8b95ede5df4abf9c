"""TOMTOM matching (memelite) against the bundled JASPAR clusters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dnalens.errors import DnalensError
from dnalens.interpret.filters import filter_motifs
from dnalens.interpret.matching import (
    MATCH_COLUMNS,
    benjamini_hochberg,
    modisco,
    tomtom_matches,
)
from dnalens.io.motifs import Motif, jaspar_motifs
from dnalens.sequence import one_hot

AP1 = "TGACTCA"
CTCF_CONSENSUS = "CCGCGNGGNGGCAG"


def _soft(seq: str, strength: float = 0.85) -> Motif:
    """PWM with ``strength`` on each consensus base, the rest spread evenly; N is uniform."""
    x = one_hot(seq).numpy().astype(np.float64)
    pwm = x * strength + (1 - x) * (1 - strength) / 3
    pwm[:, x.sum(axis=0) == 0] = 0.25
    return Motif(f"q_{seq}", pwm)


@pytest.fixture(scope="module")
def jaspar():
    return jaspar_motifs()


def test_filter_pwm_matches_ap1(jaspar, dna):
    # The PWM of a hand-set TGACTCA filter (as in test_filters) matches the AP-1 cluster C036.
    conv = nn.Conv1d(4, 2, len(AP1))
    with torch.no_grad():
        conv.weight[0] = 2 * one_hot(AP1) - 1  # +1 on motif bases, -1 elsewhere
        conv.bias[0] = 0.0
    seqs = [dna(40, i) for i in range(30)]
    seqs = [s[:10] + AP1 + s[17:] if i % 2 else s for i, s in enumerate(seqs)]
    motifs, _ = filter_motifs(nn.Sequential(conv, nn.ReLU()), one_hot(seqs))
    assert motifs[0].consensus == AP1
    table = tomtom_matches(motifs[:1], jaspar, top=3)
    assert list(table.columns) == MATCH_COLUMNS
    best = table.iloc[0]
    assert best["target"] == "C036:FOS_JUN:bZIP"
    assert best["target_alt"] == "FOS_JUN"
    assert best["rank"] == 1 and best["query"] == "filter0"
    assert best["p_value"] < 1e-4
    assert table["rank"].tolist() == [1, 2, 3]
    assert table["p_value"].is_monotonic_increasing


def test_ctcf_consensus_matches_c055(jaspar):
    table = tomtom_matches([_soft(CTCF_CONSENSUS)], jaspar, top=1)
    assert table["target"].tolist() == ["C055:CTCF:C2H2_ZF"]


def test_reverse_complement_query_matches_on_minus_strand(jaspar):
    ap1 = jaspar["C036:FOS_JUN:bZIP"]
    query = Motif("rc_part", ap1.reverse_complement().pwm[:, 1:7])
    best = tomtom_matches([query], jaspar, top=1).iloc[0]
    assert best["target"] == ap1.name
    assert best["orientation"] == "-"
    assert best["offset"] == 1
    assert best["e_value"] == pytest.approx(best["p_value"] * len(jaspar))
    assert best["p_value"] <= best["q_value"] <= 1


def test_benjamini_hochberg_known_values():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]))
    # sorted p 0.01, 0.03, 0.04, 0.5 -> p * 4 / rank 0.04, 0.06, 0.0533, 0.5 -> running min
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.5])


def test_errors(jaspar):
    with pytest.raises(DnalensError, match="top must be a positive integer"):
        tomtom_matches([_soft("TGACTCA")], jaspar, top=0)
    with pytest.raises(DnalensError, match="must hold Motif objects"):
        tomtom_matches(["TGACTCA"], jaspar)
    assert tomtom_matches([], jaspar).empty


def test_modisco_without_package_names_pip_install():
    try:
        import modiscolite  # noqa: F401
    except ImportError:
        with pytest.raises(DnalensError, match="pip install modisco-lite"):
            modisco(np.zeros((2, 4, 10)), np.zeros((2, 4, 10)))
    else:
        pytest.skip("modisco-lite is installed")
