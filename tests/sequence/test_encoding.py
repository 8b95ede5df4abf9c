"""One-hot encoding, decoding and reverse complements: hand-computed answers and round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dnalens.alphabet import N_CODE, encode_codes
from dnalens.errors import SequenceError
from dnalens.sequence import codes_to_one_hot, decode, one_hot, reverse_complement

IUPAC = "NRYKMSWBDHV"


def test_encode_codes_known_answer():
    codes = encode_codes("ACGTNacgtnR-")
    np.testing.assert_array_equal(codes, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 4, 4])
    assert codes.dtype == np.uint8
    assert N_CODE == 4


def test_encode_codes_bytes_and_non_ascii():
    np.testing.assert_array_equal(encode_codes(b"GaT"), [2, 0, 3])
    # A non-ASCII character is one unknown base, not several bytes.
    np.testing.assert_array_equal(encode_codes("AÅC"), [0, 4, 1])


def test_one_hot_known_answer_with_lowercase_and_n():
    x = one_hot("AcgTN")
    expected = torch.tensor(
        [
            [1.0, 0, 0, 0, 0],  # A
            [0.0, 1, 0, 0, 0],  # C
            [0.0, 0, 1, 0, 0],  # G
            [0.0, 0, 0, 1, 0],  # T
        ]
    )
    torch.testing.assert_close(x, expected)
    assert x.dtype == torch.float32


def test_lowercase_encodes_like_uppercase():
    torch.testing.assert_close(one_hot("acgtacgt"), one_hot("ACGTACGT"))


def test_every_iupac_code_is_a_zero_column():
    x = one_hot(IUPAC + IUPAC.lower() + "-.")
    assert x.shape == (4, 2 * len(IUPAC) + 2)
    assert x.abs().sum() == 0


def test_one_hot_batch_stacks_strings():
    x = one_hot(["ACG", "tNa"])
    assert x.shape == (2, 4, 3)
    torch.testing.assert_close(x[0], one_hot("ACG"))
    torch.testing.assert_close(x[1], one_hot("TNA"))
    # Tuples work like lists.
    torch.testing.assert_close(one_hot(("ACG", "TNA")), x)


def test_one_hot_empty_batch():
    x = one_hot([])
    assert x.shape == (0, 4, 0)
    assert x.dtype == torch.float32


def test_one_hot_unequal_lengths_is_an_error():
    with pytest.raises(SequenceError, match=r"equal lengths to form a batch; got lengths \[2, 3\]"):
        one_hot(["AC", "ACG"])


def test_codes_to_one_hot_keeps_leading_axes():
    codes = np.array([[0, 4, 3], [2, 1, 0]], dtype=np.uint8)
    x = codes_to_one_hot(codes)
    assert x.shape == (2, 4, 3)
    torch.testing.assert_close(x, one_hot(["ANT", "GCA"]))


def test_decode_inverts_one_hot_and_keeps_n():
    assert decode(one_hot("ACGTNNAC")) == "ACGTNNAC"
    # IUPAC codes are zero columns, so they come back as N; case is not kept.
    assert decode(one_hot("acRgt")) == "ACNGT"


def test_decode_batch_and_numpy_input():
    x = one_hot(["ACNT", "GGTA"])
    assert decode(x) == ["ACNT", "GGTA"]
    assert decode(x.numpy()) == ["ACNT", "GGTA"]


def test_decode_soft_input_takes_largest_row():
    soft = torch.tensor([[0.1, 0.0], [0.7, 0.0], [0.1, 0.0], [0.1, 0.0]])
    assert decode(soft) == "CN"


def test_decode_wrong_shape_is_an_error():
    with pytest.raises(SequenceError,
                       match=r"decode: expected shape \(4, length\) .*; got \(3, 5\)"):
        decode(torch.zeros(3, 5))


def test_decode_round_trip_on_random_strings():
    rng = np.random.default_rng(0)
    letters = np.array(list("ACGTN"))
    seqs = ["".join(letters[rng.integers(0, 5, 50)]) for _ in range(20)]
    assert decode(one_hot(seqs)) == seqs


@pytest.mark.parametrize(
    ("seq", "expected"),
    [
        ("AACGTN", "NACGTT"),
        ("acgT", "Acgt"),
        # R<->Y, K<->M, S and W are self-complementary, B<->V, D<->H.
        ("RYKMSWBDHV", "BDHVWSKMRY"),
        ("", ""),
    ],
)
def test_reverse_complement_of_strings(seq, expected):
    assert reverse_complement(seq) == expected


def test_reverse_complement_string_is_an_involution():
    seq = "ACGTNacgtn" + IUPAC + IUPAC.lower()
    assert reverse_complement(reverse_complement(seq)) == seq


@pytest.mark.parametrize("seq", ["AACGTN", "GATTACA", "ACGRYTN"])
def test_reverse_complement_tensor_equals_one_hot_of_rc_string(seq):
    torch.testing.assert_close(reverse_complement(one_hot(seq)), one_hot(reverse_complement(seq)))


def test_reverse_complement_tensor_batch():
    seqs = ["AACGTN", "GATTAC"]
    expected = one_hot([reverse_complement(s) for s in seqs])
    torch.testing.assert_close(reverse_complement(one_hot(seqs)), expected)


def test_reverse_complement_tensor_wrong_shape_is_an_error():
    with pytest.raises(SequenceError, match=r"expected \(\.\.\., 4, length\); got \(2, 3, 5\)"):
        reverse_complement(torch.zeros(2, 3, 5))
