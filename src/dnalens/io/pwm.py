"""The :class:`Motif` type: a named DNA position probability matrix.

A motif's ``pwm`` has shape (4, width), rows A, C, G, T, each column summing to 1
(the transpose of how MEME prints it). Reading and writing MEME files is in
:mod:`dnalens.io.meme`; the bundled JASPAR clusters and name lookup are in
:mod:`dnalens.io.motifs`, which also re-exports :class:`Motif`.

Only the DNA alphabet ACGT is supported. No torch here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dnalens.alphabet import ALPHABET
from dnalens.errors import DnalensError

__all__ = ["Motif"]

# Files print probabilities with 3 to 6 decimals, so a column may miss 1 by rounding.
_SUM_TOLERANCE = 0.02


@dataclass(frozen=True, eq=False)
class Motif:
    """A DNA motif as a position probability matrix.

    Parameters
    ----------
    name : str
        Identifier (the MEME ``MOTIF`` id), e.g. ``"C055:CTCF:C2H2_ZF"``; no whitespace.
    pwm : array_like, shape (4, width)
        Probabilities, rows A, C, G, T. Each column must sum to 1 within 0.02; it is
        renormalised to sum to 1 exactly and stored as a read-only float64 array.
    alt_name : str, optional
        Alternative name (the second word of a MEME ``MOTIF`` line), e.g. ``"CTCF"``.

    Notes
    -----
    Instances are immutable; compare matrices with ``np.allclose(a.pwm, b.pwm)``.
    """

    name: str
    pwm: np.ndarray = field(repr=False)
    alt_name: str | None = None

    def __post_init__(self) -> None:
        _check_name(self.name, "name")
        if self.alt_name is not None:
            _check_name(self.alt_name, "alt_name")
        object.__setattr__(self, "pwm", _checked_pwm(self.pwm, self.name))

    @property
    def width(self) -> int:
        """Number of positions."""
        return int(self.pwm.shape[1])

    @property
    def consensus(self) -> str:
        """Most probable base at each position, e.g. ``"CACGTG"``."""
        return "".join(ALPHABET[i] for i in self.pwm.argmax(axis=0))

    def reverse_complement(self) -> Motif:
        """The motif as read on the other strand (same name)."""
        # Rows A, C, G, T reversed are T, G, C, A: flipping both axes complements and reverses.
        return Motif(self.name, self.pwm[::-1, ::-1], self.alt_name)

    def log_odds(
        self, background: Sequence[float] | None = None, *, pseudocount: float = 1e-3
    ) -> np.ndarray:
        """Log2-odds scoring matrix against a background.

        Parameters
        ----------
        background : sequence of 4 floats, optional
            Base frequencies A, C, G, T; uniform when None.
        pseudocount : float
            Added to every probability (then renormalised) so a zero does not give -inf.

        Returns
        -------
        np.ndarray, shape (4, width), float64
            ``log2(p / background)``; a site's score is the sum over positions. With
            ``pseudocount=0`` a base of probability 0 scores -inf.
        """
        bg = _checked_background(background)
        if not pseudocount >= 0:
            raise DnalensError(f"log_odds: pseudocount must be >= 0; got {pseudocount}")
        smoothed = (self.pwm + pseudocount) / (1.0 + 4.0 * pseudocount)
        with np.errstate(divide="ignore"):  # -inf for an impossible base is the right score
            return np.log2(smoothed / bg[:, None])

    def __repr__(self) -> str:
        alt = f", alt_name={self.alt_name!r}" if self.alt_name else ""
        return f"Motif({self.name!r}{alt}, width={self.width}, consensus={self.consensus!r})"


def _check_name(name: object, what: str) -> None:
    # MEME separates fields by whitespace, so a name containing it could not be written back.
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        raise DnalensError(f"Motif: {what} must be a non-empty string without spaces; got {name!r}")


def _checked_pwm(pwm: object, name: str) -> np.ndarray:
    arr = np.array(pwm, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != 4 or arr.shape[1] == 0:
        raise DnalensError(
            f"motif {name!r}: pwm must have shape (4, width >= 1), rows A, C, G, T; "
            f"got shape {arr.shape}"
        )
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise DnalensError(f"motif {name!r}: pwm must hold finite probabilities >= 0")
    sums = arr.sum(axis=0)
    bad = np.flatnonzero(np.abs(sums - 1.0) > _SUM_TOLERANCE)
    if bad.size:
        raise DnalensError(
            f"motif {name!r}: column {bad[0]} of pwm sums to {sums[bad[0]]:.6f}, expected 1 "
            "(probabilities of A, C, G, T; divide counts by their column sum)"
        )
    arr = arr / sums
    arr.setflags(write=False)
    return arr


def _checked_background(background: Sequence[float] | None) -> np.ndarray:
    if background is None:
        return np.full(4, 0.25)
    bg = np.asarray(background, dtype=np.float64)
    if bg.shape != (4,) or (bg <= 0).any() or abs(bg.sum() - 1.0) > _SUM_TOLERANCE:
        raise DnalensError(
            f"background must be 4 positive frequencies (A, C, G, T) summing to 1; got {background}"
        )
    return bg / bg.sum()
