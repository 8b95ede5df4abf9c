"""The incremental SpliceAI path (dnalens.apply.splice_fast) gives the full model's numbers.

Small SpliceAI models (context 80 and 400) with random weights and batch-norm statistics, in
float64: every alt window computed as a patch on its ref window must equal the whole
window through the model to ~1e-10, for SNVs, deletions, insertions, minus-strand windows,
windows N-padded near a transcript end, and batches mixing them; overlapping reference
windows are merged into longer bases (and must not be where their N masks differ).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnalens.apply.splice_fast import plan_windows, predict_oriented
from dnalens.apply.splicing import _predict_whole, _spliceai_members, predict_tracks
from dnalens.models import build_model
from dnalens.models.ensemble import Ensemble

_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def _random_model(context: int, seed: int, channels: int = 6) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model("spliceai", context=context, channels=channels)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    return model.double().eval()


def _windows(genome: str, context: int, distance: int, pos0: int, ref: str, alt: str,
             tx: tuple[int, int]) -> tuple[str, str]:
    """Ref and alt windows as record_jobs builds them: N outside the transcript ``tx``."""
    half = (context + 2 * distance + 1) // 2
    start, end = pos0 - half, pos0 + half + 1
    seq = genome[start:end]
    assert seq[half : half + len(ref)] == ref
    left, right = max(tx[0] - start, 0), max(end - tx[1], 0)
    ref_seq = "N" * left + seq[left : len(seq) - right] + "N" * right
    return ref_seq, ref_seq[:half] + alt + ref_seq[half + len(ref) :]


def _cases(genome: str, context: int, distance: int, rng: np.random.Generator
           ) -> list[tuple[str, str]]:
    half = (context + 2 * distance + 1) // 2
    n = len(genome)
    out = []
    kinds = ["snv", "del1", "del7", "del20", "ins1", "ins5", "ins20", "snv_tx_start",
             "del_tx_end", "ins_tx_start", "snv_tx_both"]
    for kind in kinds:
        pos0 = int(rng.integers(half + 30, n - half - 30))
        tx = (0, n)
        if kind.endswith("tx_start"):
            tx = (pos0 - int(rng.integers(0, half // 2)), n)
        elif kind.endswith("tx_end"):
            tx = (0, pos0 + 25 + int(rng.integers(0, half // 2)))
        elif kind.endswith("tx_both"):
            tx = (pos0 - 3, pos0 + 5)
        if kind.startswith("snv"):
            ref = genome[pos0]
            alt = "ACGT"[("ACGT".index(ref) + 1 + int(rng.integers(0, 3))) % 4]
        elif kind.startswith("del"):
            # record_jobs skips REF longer than 2 * distance
            size = min(int(kind[3:].split("_")[0] or 3), 2 * distance - 1)
            ref, alt = genome[pos0 : pos0 + size + 1], genome[pos0]
        else:
            size = int(kind[3:].split("_")[0] or 4)
            ref = genome[pos0]
            alt = ref + "".join(rng.choice(list("ACGT"), size))
        out.append(_windows(genome, context, distance, pos0, ref, alt, tx))
    return out


def _whole(members, seqs, context):
    longest = max(len(s) for s in seqs)
    from dnalens.sequence.encoding import one_hot

    x = one_hot([s + "N" * (longest - len(s)) for s in seqs]).double()
    with torch.no_grad():
        probs = sum(torch.softmax(m(x), dim=1) for m in members) / len(members)
    return [p[:, : len(s) - context].numpy() for p, s in zip(probs, seqs, strict=True)]


@pytest.mark.parametrize("context, distance", [(80, 5), (400, 50), (400, 3)])
@pytest.mark.parametrize("strand", ["+", "-"])
def test_patches_equal_whole_windows(dna, context, distance, strand):
    rng = np.random.default_rng(context + distance)
    genome = dna(3000, context)
    pairs = _cases(genome, context, distance, rng)
    seqs = [r for r, _ in pairs] + [a for _, a in pairs]
    if strand == "-":
        seqs = [s.translate(_COMPLEMENT)[::-1] for s in seqs]
    plan = plan_windows(seqs, context)
    # overlapping reference windows (nearby variants) are merged into longer bases
    assert len(plan.bases) < len(pairs) and len(plan.patches) == len(pairs)
    assert any(start > 0 for _, _, start in plan.source)
    members = [_random_model(context, seed) for seed in range(2)]
    with torch.inference_mode():
        fast = predict_oriented(members, seqs, context, torch.device("cpu"))
    expected = _whole(members, seqs, context)
    for got, want in zip(fast, expected, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-10, rtol=0)
    # the alt windows differ from their ref ones (the check is not vacuous)
    assert max(np.abs(fast[k][:, : len(seqs[k]) - context].sum() - 0) for k in range(3)) > 0


def test_one_pair_at_a_time_and_duplicates(dna):
    context, distance = 80, 5
    genome = dna(1000, 1)
    rng = np.random.default_rng(1)
    members = [_random_model(context, 3)]
    for ref, alt in _cases(genome, context, distance, rng):
        seqs = [ref, alt, ref, alt]  # duplicates (two ALT alleles / transcripts) run once
        plan = plan_windows(seqs, context)
        assert len(plan.bases) == 1 and len(plan.patches) == 1
        with torch.inference_mode():
            fast = predict_oriented(members, seqs, context, torch.device("cpu"))
        for got, want in zip(fast, _whole(members, seqs, context), strict=True):
            np.testing.assert_allclose(got, want, atol=1e-10, rtol=0)


def test_predict_tracks_uses_the_fast_path_for_softmax_ensembles(dna):
    context, distance = 80, 5
    genome = dna(1000, 2)
    pairs = _cases(genome, context, distance, np.random.default_rng(2))
    seqs = [r for r, _ in pairs] + [a for _, a in pairs]
    strands = ["+", "-"] * len(pairs)
    ensemble = Ensemble.from_models([_random_model(context, s).float() for s in range(3)],
                                    average="softmax").eval()
    assert _spliceai_members(ensemble, context) is not None
    assert _spliceai_members(Ensemble.from_models(list(ensemble.members)), context) is None
    cpu = torch.device("cpu")
    fast = predict_tracks(ensemble, seqs, strands, context, cpu)
    oriented = [s if st == "+" else s.translate(_COMPLEMENT)[::-1]
                for s, st in zip(seqs, strands, strict=True)]
    with torch.inference_mode():
        whole = _predict_whole(ensemble, oriented, context, cpu)
    for got, want, st in zip(fast, whole, strands, strict=True):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want if st == "+" else want[::-1], atol=2e-6)


def test_overlapping_windows_merge_only_where_identical(dna):
    """Nearby variants share one base unless their windows differ (another transcript's N
    mask); the numbers stay those of the whole windows either way."""
    context, distance = 80, 5
    genome = dna(600, 4)
    members = [_random_model(context, 5)]
    pairs = []
    for pos0, tx in [(200, (0, 600)), (230, (0, 600)), (170, (0, 600)), (215, (0, 240)),
                     (260, (150, 600))]:
        ref = genome[pos0]
        alt = "A" if ref != "A" else "G"
        pairs.append(_windows(genome, context, distance, pos0, ref, alt, tx))
    for strand in "+-":
        seqs = [s for pair in pairs for s in pair]
        if strand == "-":
            seqs = [s.translate(_COMPLEMENT)[::-1] for s in seqs]
        plan = plan_windows(seqs, context)
        # all merge into one base but the window N-masked at 240 (transcript end)
        assert len(plan.bases) == 2 and sorted(o for k, _, o in plan.source if k == "b")[-1] == 90
        with torch.inference_mode():
            fast = predict_oriented(members, seqs, context, torch.device("cpu"), chunk=2)
        for got, want in zip(fast, _whole(members, seqs, context), strict=True):
            np.testing.assert_allclose(got, want, atol=1e-10, rtol=0)
