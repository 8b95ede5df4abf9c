"""k-mer featurisation: known answers, strand symmetry, N handling, agreement with a loop."""

from __future__ import annotations

import pytest
import torch

from dnalens.models import KmerConfig, KmerLogistic
from dnalens.models.kmer import kmer_names


def one_hot(seq: str) -> torch.Tensor:
    """(4, len) one-hot; anything but ACGT is an all-zero column."""
    x = torch.zeros(4, len(seq))
    for i, base in enumerate(seq):
        if base in "ACGT":
            x["ACGT".index(base), i] = 1.0
    return x


def reverse_complement(x: torch.Tensor) -> torch.Tensor:
    # Reversing the rows maps A<->T and C<->G; reversing the columns reverses the strand.
    return x.flip(-2, -1)


def model(k: int, both_strands: bool, length: int = 8) -> KmerLogistic:
    return KmerLogistic(KmerConfig(input_length=length, n_tasks=1, k=k, both_strands=both_strands))


def test_kmer_names_are_in_column_order():
    assert kmer_names(2)[:5] == ["AA", "AC", "AG", "AT", "CA"]
    assert len(kmer_names(3)) == 64


def test_single_strand_known_answer():
    # "ACGTNACG": 2-mers AC, CG, GT, (TN, NA skipped), AC, CG -> 5 counted
    features = model(2, both_strands=False).featurize(one_hot("ACGTNACG")[None])
    expected = torch.zeros(1, 16)
    names = kmer_names(2)
    expected[0, names.index("AC")] = 2 / 5
    expected[0, names.index("CG")] = 2 / 5
    expected[0, names.index("GT")] = 1 / 5
    torch.testing.assert_close(features, expected)


def test_both_strands_known_answer():
    # Forward AC, CG, GT, AC, CG; reverse strand "CGTNACGT" has CG, GT, AC, CG, GT.
    features = model(2, both_strands=True).featurize(one_hot("ACGTNACG")[None])
    names = kmer_names(2)
    expected = torch.zeros(1, 16)
    expected[0, names.index("AC")] = 3 / 10
    expected[0, names.index("CG")] = 4 / 10
    expected[0, names.index("GT")] = 3 / 10
    torch.testing.assert_close(features, expected)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_both_strands_features_are_strand_symmetric(k):
    g = torch.Generator().manual_seed(k)
    codes = torch.randint(0, 5, (6, 50), generator=g)  # 4 = N
    x = torch.nn.functional.one_hot(codes, 5)[..., :4].transpose(1, 2).float()
    m = model(k, both_strands=True, length=50)
    torch.testing.assert_close(m.featurize(x), m.featurize(reverse_complement(x)))
    # Single-strand features generally differ between the strands.
    single = model(k, both_strands=False, length=50)
    assert not torch.allclose(single.featurize(x), single.featurize(reverse_complement(x)))


def test_matches_a_python_loop():
    seq = "GATTACANNCCGGTTAGCATNA"
    k = 3
    names = kmer_names(k)
    counts = torch.zeros(4**k)
    for i in range(len(seq) - k + 1):
        word = seq[i : i + k]
        if set(word) <= set("ACGT"):
            counts[names.index(word)] += 1
    features = model(k, both_strands=False, length=len(seq)).featurize(one_hot(seq)[None])[0]
    torch.testing.assert_close(features, counts / counts.sum())


def test_all_n_gives_zero_features_not_nan():
    features = model(2, both_strands=True).featurize(torch.zeros(2, 4, 8))
    assert torch.equal(features, torch.zeros(2, 16))


def test_rows_sum_to_one_and_forward_shape():
    m = KmerLogistic(KmerConfig(input_length=30, n_tasks=4, k=4))
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (3, 30)), 4).transpose(1, 2).float()
    torch.testing.assert_close(m.featurize(x).sum(1), torch.ones(3))
    assert m(x).shape == (3, 4)
    assert m.linear.in_features == 256


def test_state_dict_holds_only_the_linear_layer():
    m = model(3, both_strands=True)
    assert sorted(m.state_dict()) == ["linear.bias", "linear.weight"]
