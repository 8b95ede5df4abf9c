"""Dinucleotide shuffle: counts and ends kept exactly, seeded, every valid shuffle reachable."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from dnalens.errors import SequenceError
from dnalens.sequence import dinucleotide_shuffle


def dinucleotides(seq: str) -> Counter:
    return Counter(seq[i : i + 2] for i in range(len(seq) - 1))


def assert_valid_shuffle(seq: str, out: str) -> None:
    assert len(out) == len(seq)
    assert out[0] == seq[0]
    assert out[-1] == seq[-1]
    assert Counter(out) == Counter(seq)
    assert dinucleotides(out) == dinucleotides(seq)


def test_keeps_dinucleotide_counts_and_ends(dna):
    seq = dna(1000, seed=1)
    out = dinucleotide_shuffle(seq, rng=0)
    assert_valid_shuffle(seq, out)


def test_changes_a_long_sequence(dna):
    seq = dna(500, seed=2)
    assert dinucleotide_shuffle(seq, rng=0) != seq


def test_same_seed_same_result_and_different_seed_differs(dna):
    seq = dna(300, seed=3)
    assert dinucleotide_shuffle(seq, rng=7) == dinucleotide_shuffle(seq, rng=7)
    assert dinucleotide_shuffle(seq, rng=np.random.default_rng(7)) == dinucleotide_shuffle(seq, 7)
    assert dinucleotide_shuffle(seq, rng=7) != dinucleotide_shuffle(seq, rng=8)


@pytest.mark.parametrize("seq", ["", "A", "AC", "AAAAAA", "ACACACAC"])
def test_sequences_with_a_single_valid_shuffle_come_back_unchanged(seq):
    # "ACACACAC": the only walk using AC x4 and CA x3 from A to C is the sequence itself.
    assert dinucleotide_shuffle(seq, rng=0) == seq


def test_case_and_other_letters_are_kept_as_they_are(dna):
    seq = dna(200, seed=4).lower() + "NNNN" + dna(200, seed=5)
    out = dinucleotide_shuffle(seq, rng=1)
    assert_valid_shuffle(seq, out)


def test_brute_force_many_sequences_and_seeds():
    rng = np.random.default_rng(0)
    for trial in range(200):
        length = int(rng.integers(3, 40))
        alphabet = "ACGT"[: int(rng.integers(1, 5))]
        seq = "".join(rng.choice(list(alphabet), size=length))
        assert_valid_shuffle(seq, dinucleotide_shuffle(seq, rng=trial))


def test_every_valid_shuffle_is_reached_about_equally_often():
    seq = "ACAGATACA"
    # All distinct orderings with the same first/last letter and dinucleotide counts.
    valid = {
        "".join(p)
        for p in itertools.permutations(seq)
        if p[0] == seq[0] and p[-1] == seq[-1] and dinucleotides("".join(p)) == dinucleotides(seq)
    }
    assert len(valid) == 12
    draws = Counter(dinucleotide_shuffle(seq, rng=seed) for seed in range(1500))
    assert set(draws) == valid
    expected = 1500 / len(valid)
    assert min(draws.values()) > 0.65 * expected
    assert max(draws.values()) < 1.35 * expected


def test_non_string_is_an_error():
    with pytest.raises(SequenceError, match="dinucleotide_shuffle: expected a str; got bytes"):
        dinucleotide_shuffle(b"ACGT")
