"""First-layer filters -> PWMs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dnalens.errors import DnalensError
from dnalens.interpret.filters import filter_motifs, first_conv, write_filter_meme
from dnalens.io.motifs import read_meme
from dnalens.models.basset import Basset, BassetConfig
from dnalens.sequence import one_hot

MOTIF = "TGACTCA"


def _model(padding: int = 0) -> nn.Module:
    torch.manual_seed(0)
    conv = nn.Conv1d(4, 3, len(MOTIF), padding=padding)
    with torch.no_grad():
        conv.weight[0] = 2 * one_hot(MOTIF) - 1  # +1 on motif bases, -1 elsewhere
        conv.bias[0] = 0.0
    return nn.Sequential(nn.Sequential(conv, nn.ReLU()), nn.AdaptiveMaxPool1d(1), nn.Flatten(),
                         nn.Linear(3, 1))


def _planted(dna, n: int = 40, length: int = 60) -> torch.Tensor:
    rng = np.random.default_rng(5)
    seqs = []
    for i in range(n):
        seq = dna(length, 100 + i)
        if i % 2 == 0:
            at = int(rng.integers(0, length - len(MOTIF)))
            seq = seq[:at] + MOTIF + seq[at + len(MOTIF):]
        seqs.append(seq)
    return one_hot(seqs)


@pytest.mark.parametrize("padding", [0, 3])
def test_hand_set_filter_recovers_motif(dna, padding):
    motifs, n_sites = filter_motifs(_model(padding), _planted(dna))
    assert [m.name for m in motifs] == ["filter0", "filter1", "filter2"]
    assert motifs[0].consensus == MOTIF
    assert motifs[0].pwm.shape == (4, len(MOTIF))
    assert n_sites.shape == (3,)
    assert n_sites[0] >= 20  # every planted copy is a site
    # Planted bases dominate: the consensus base has most of the mass in each column.
    assert (motifs[0].pwm.max(axis=0) > 0.7).all()


def test_first_conv_of_basset_includes_batch_norm_and_relu():
    model = Basset(BassetConfig(input_length=120, n_tasks=2, conv_channels=(6, 4, 4),
                                kernel_sizes=(5, 3, 3), pool_sizes=(2, 2, 2),
                                hidden_sizes=(8,)))
    conv, after = first_conv(model)
    assert conv is model.trunk[0][0]
    assert [type(m) for m in after] == [nn.BatchNorm1d, nn.ReLU]
    x = one_hot(["ACGT" * 30, "TTGA" * 30])
    model.train()
    motifs, _ = filter_motifs(model, x, batch_size=1)
    assert len(motifs) == 6 and all(m.width == 5 for m in motifs)
    assert model.training  # training mode restored


def test_filter_without_positive_activation_is_uniform_with_no_sites(dna):
    model = _model()
    with torch.no_grad():
        model[0][0].weight[1] = -1.0
        model[0][0].bias[1] = -1.0
    motifs, n_sites = filter_motifs(model, _planted(dna, n=4))
    assert n_sites[1] == 0
    np.testing.assert_allclose(motifs[1].pwm, 0.25)


def test_write_filter_meme_round_trip(tmp_path, dna):
    motifs, _ = filter_motifs(_model(), _planted(dna, n=6))
    path = write_filter_meme(tmp_path / "filters.meme", motifs)
    back = read_meme(path)
    assert list(back) == ["filter0", "filter1", "filter2"]
    np.testing.assert_allclose(back["filter0"].pwm, motifs[0].pwm, atol=1e-5)


def test_errors(dna):
    with pytest.raises(DnalensError, match=r"has no nn\.Conv1d layer"):
        first_conv(nn.Linear(4, 1))
    with pytest.raises(DnalensError, match="takes 5 channels; expected 4"):
        first_conv(nn.Conv1d(5, 2, 3))
    with pytest.raises(DnalensError, match=r"threshold must be in \(0, 1\]"):
        filter_motifs(_model(), _planted(dna, n=2), threshold=0)
    with pytest.raises(DnalensError, match="shorter than the filter width 7"):
        filter_motifs(_model(), one_hot(["ACGT"]))
