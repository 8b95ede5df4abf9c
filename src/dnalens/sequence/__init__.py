"""Pure functions on DNA: one-hot encoding, decoding, reverse complement, shuffles."""

from dnalens.sequence.encoding import (
    ALPHABET,
    N_CODE,
    codes_to_one_hot,
    decode,
    encode_codes,
    one_hot,
    reverse_complement,
)
from dnalens.sequence.shuffle import dinucleotide_shuffle

__all__ = [
    "ALPHABET",
    "N_CODE",
    "codes_to_one_hot",
    "decode",
    "dinucleotide_shuffle",
    "encode_codes",
    "one_hot",
    "reverse_complement",
]
