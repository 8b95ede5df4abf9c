"""The fast variant path gives the numbers of full ref and alt passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from dnalens.apply.variant_scoring import PairScorer
from dnalens.apply.variants import score_variants, variant_windows
from dnalens.errors import ConfigError
from dnalens.io.genome import Genome
from dnalens.io.variants import VariantRecord
from dnalens.models import build_model

LENGTH = 201


@pytest.fixture(scope="module")
def genome(tmp_path_factory) -> Genome:
    rng = np.random.default_rng(3)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in (("chr1", 3000), ("chr2", 400))}
    seqs["chr2"] = seqs["chr2"][:150] + "N" * 40 + seqs["chr2"][190:]
    path = tmp_path_factory.mktemp("g") / "g.fa"
    path.write_text("".join(f">{c}\n{s}\n" for c, s in seqs.items()))
    return Genome(path)


def _variants(genome: Genome) -> list[VariantRecord]:
    """SNVs (one at a site with two ALTs), MNVs, indels, N context and chromosome ends."""
    out = []
    rng = np.random.default_rng(5)
    for pos0 in rng.integers(0, 3000, 40):
        ref = genome.fetch("chr1", int(pos0), int(pos0) + 1)
        alts = [b for b in "ACGT" if b != ref]
        out.append(VariantRecord("chr1", int(pos0), ref, alts[0], ".", 0))
    site = genome.fetch("chr1", 500, 501)
    out += [VariantRecord("chr1", 500, site, b, ".", 0) for b in "ACGT" if b != site]
    for pos0, width in ((700, 2), (701, 3), (2995, 4)):
        ref = genome.fetch("chr1", pos0, pos0 + width)
        out.append(VariantRecord("chr1", pos0, ref, ref[::-1].translate(str.maketrans(
            "ACGT", "TGCA")), ".", 0))
    for pos0 in (0, 2, 2999, 30, 170, 145, 395):  # chromosome ends and N context
        chrom = "chr2" if pos0 in (170, 145, 395) else "chr1"
        ref = genome.fetch(chrom, pos0, pos0 + 1)
        out.append(VariantRecord(chrom, pos0, ref, "T" if ref != "T" else "G", ".", 0))
    ref = genome.fetch("chr1", 1200, 1206)
    out += [VariantRecord("chr1", 1200, ref, ref[0], ".", 0),          # deletion
            VariantRecord("chr1", 1200, ref[0], ref[0] + "GATTACA", ".", 0)]  # insertion
    return out


def _model(name: str) -> nn.Module:
    torch.manual_seed(0)
    if name == "basset":
        model = build_model("basset", input_length=LENGTH, n_tasks=3, conv_channels=(8, 6, 5),
                            kernel_sizes=(7, 5, 3), pool_sizes=(3, 2, 2), hidden_sizes=(16, 8))
    elif name == "deepsea":
        model = build_model("deepsea", input_length=LENGTH, n_tasks=2, batch_norm=True)
    else:
        model = build_model(name, input_length=LENGTH, n_tasks=2)
    for module in model.modules():  # non-trivial batch-norm statistics
        if isinstance(module, nn.BatchNorm1d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model.double().eval()


def _scores(model, genome, records, *, fast, both_strands=False):
    windows = [variant_windows(genome, r, LENGTH) for r in records]
    scorer = PairScorer(model, device=torch.device("cpu"), probabilities=True,
                        both_strands=both_strands, fast=fast)
    ref, alt = scorer(records, [w[0] for w in windows], [w[1] for w in windows])
    return ref, alt, scorer.uses_fast_path


@pytest.mark.parametrize("name", ["basset", "deepsea", "neuron", "mlp"])
@pytest.mark.parametrize("both_strands", [False, True])
def test_fast_path_matches_full_passes(genome, name, both_strands):
    model, records = _model(name), _variants(genome)
    ref_full, alt_full, used_full = _scores(model, genome, records, fast=False,
                                            both_strands=both_strands)
    ref_fast, alt_fast, used_fast = _scores(model, genome, records, fast=True,
                                            both_strands=both_strands)
    assert used_fast is True and not used_full
    np.testing.assert_allclose(ref_fast, ref_full, atol=2e-7, rtol=0)  # float32 out
    np.testing.assert_allclose(alt_fast, alt_full, atol=2e-7, rtol=0)
    # The variants do change the outputs (the comparison is not between constants).
    assert np.abs(alt_full - ref_full).max() > 1e-4


def test_fast_path_in_float32_within_1e5(genome):
    model, records = _model("basset").float(), _variants(genome)
    ref_full, alt_full, _ = _scores(model, genome, records, fast=False)
    ref_fast, alt_fast, _ = _scores(model, genome, records, fast=True)
    np.testing.assert_allclose(alt_fast - ref_fast, alt_full - ref_full, atol=1e-5, rtol=0)


def test_fast_true_refuses_an_unsupported_model(genome):
    with pytest.raises(ConfigError, match=r"fast=True.*not supported"):
        _scores(_model("danq"), genome, _variants(genome)[:3], fast=True)
    _, _, used = _scores(_model("danq"), genome, _variants(genome)[:3], fast="auto")
    assert used is False


class Rescaled(nn.Module):
    """A supported stack whose forward is not head(trunk(x)): the check must catch it."""

    def __init__(self) -> None:
        super().__init__()
        inner = _model("basset")
        self.trunk, self.head = inner.trunk, inner.head

    def forward(self, x):
        return 2 * self.head(self.trunk(x))


def test_a_forward_that_is_not_head_of_trunk_falls_back(genome):
    records = _variants(genome)[:5]
    ref_full, alt_full, _ = _scores(Rescaled().double(), genome, records, fast=False)
    ref, alt, used = _scores(Rescaled().double(), genome, records, fast="auto")
    assert used is False
    np.testing.assert_allclose(alt - ref, alt_full - ref_full, atol=1e-12)
    with pytest.raises(ConfigError, match="not head\\(trunk\\(x\\)\\)"):
        _scores(Rescaled().double(), genome, records, fast=True)


def test_score_variants_writes_the_same_table_either_way(genome, tmp_path):
    model, records = _model("basset"), _variants(genome)
    tables = {}
    for fast in (False, True):
        summary = score_variants(model, genome, records, input_length=LENGTH,
                                 tasks=["a", "b", "c"], out_tsv=tmp_path / f"{fast}.tsv",
                                 batch_size=7, fast=fast)
        assert summary.fast_path is fast
        tables[fast] = pd.read_csv(tmp_path / f"{fast}.tsv", sep="\t")
    assert "fast path" in summary.describe()
    # The table holds 6 significant digits.
    pd.testing.assert_frame_equal(tables[True], tables[False], atol=2e-6, rtol=0)
