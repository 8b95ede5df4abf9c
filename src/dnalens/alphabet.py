"""The DNA alphabet and integer base codes (numpy only, so io/ can use it without torch).

Codes: A=0, C=1, G=2, T=3, anything else (N, IUPAC, gaps) = 4. Encoding goes
through a 256-entry table indexed by each ASCII byte: one numpy gather for a
whole chromosome or batch, never a Python loop per base.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ALPHABET", "N_CODE", "encode_codes"]

ALPHABET = "ACGT"
N_CODE = 4

# byte -> code; lowercase (soft-masked) bases map like uppercase ones.
CODE_OF_BYTE = np.full(256, N_CODE, dtype=np.uint8)
for _code, _base in enumerate(ALPHABET):
    CODE_OF_BYTE[ord(_base)] = _code
    CODE_OF_BYTE[ord(_base.lower())] = _code


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
