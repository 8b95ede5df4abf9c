"""The DNA alphabet and integer base codes (numpy only, so io/ can use it without torch).

Codes: A=0, C=1, G=2, T=3, anything else (N, IUPAC, gaps) = 4. Encoding goes
through a 256-entry table indexed by each ASCII byte: one numpy gather for a
whole chromosome or batch, never a Python loop per base.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ALPHABET", "IUPAC_DNA", "N_CODE", "describe_byte", "encode_codes", "first_invalid_base"]

ALPHABET = "ACGT"
N_CODE = 4

# byte -> code; lowercase (soft-masked) bases map like uppercase ones.
CODE_OF_BYTE = np.full(256, N_CODE, dtype=np.uint8)
for _code, _base in enumerate(ALPHABET):
    CODE_OF_BYTE[ord(_base)] = _code
    CODE_OF_BYTE[ord(_base.lower())] = _code

# The letters a genome may hold: IUPAC nucleotide codes in either case (soft-masking).
# U is left out on purpose: it means RNA, and as code 4 it would silently read as N.
IUPAC_DNA = "ACGTNRYSWKMBDHV"
IUPAC_BYTES = (IUPAC_DNA + IUPAC_DNA.lower()).encode("ascii")
IS_IUPAC_BYTE = np.zeros(256, dtype=bool)
IS_IUPAC_BYTE[np.frombuffer(IUPAC_BYTES, dtype=np.uint8)] = True


def encode_codes(seq: str | bytes) -> np.ndarray:
    """Integer codes of a DNA string.

    Parameters
    ----------
    seq : str or bytes
        DNA; case is ignored; N and IUPAC codes become code 4.

    Returns
    -------
    np.ndarray, shape (length,), uint8
        A=0, C=1, G=2, T=3, other=4.
    """
    raw = seq.encode("ascii", errors="replace") if isinstance(seq, str) else bytes(seq)
    return CODE_OF_BYTE[np.frombuffer(raw, dtype=np.uint8)]


def first_invalid_base(raw: bytes) -> int:
    """Index of the first byte of ``raw`` that is not an IUPAC DNA letter, or -1.

    ``bytes.translate`` deletes the valid letters in one C pass, so a valid
    chromosome costs one scan; numpy locates the culprit only when there is one.
    """
    if not raw.translate(None, IUPAC_BYTES):
        return -1
    return int(np.argmin(IS_IUPAC_BYTE[np.frombuffer(raw, dtype=np.uint8)]))


def describe_byte(value: int) -> str:
    """A byte as a message shows it: ``'*'`` when printable, else ``byte 0x00``."""
    char = chr(value)
    return repr(char) if 32 <= value < 127 else f"byte 0x{value:02x}"
