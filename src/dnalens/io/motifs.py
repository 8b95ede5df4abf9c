"""Motif files: MEME minimal format in and out, and the bundled JASPAR 2024 clusters.

A motif is a :class:`Motif`: a name, an optional alternative name, and a
position probability matrix ``pwm`` of shape (4, width), rows A, C, G, T, each
column summing to 1 (the transpose of how MEME prints it). Readers return an
ordered ``dict`` name -> Motif in file order.

Only the DNA alphabet ACGT is supported. No torch here.
"""

from __future__ import annotations

import difflib
import gzip
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from dnalens.alphabet import ALPHABET
from dnalens.errors import DnalensError, InputFileError

__all__ = [
    "JASPAR_CITATION",
    "Motif",
    "find_motif",
    "jaspar_motifs",
    "read_meme",
    "search_motifs",
    "write_meme",
]

JASPAR_CITATION = (
    "Rauluseviciute I. et al. JASPAR 2024: 20th anniversary of the open-access database of "
    "transcription factor binding profiles. Nucleic Acids Research 52(D1):D174-D182 (2024). "
    "doi:10.1093/nar/gkad1059"
)
_JASPAR_FILE = "jaspar2024_clusters.meme"

# Files print probabilities with 3 to 6 decimals, so a column may miss 1 by rounding.
_SUM_TOLERANCE = 0.02
_MATRIX_KEY_VALUE = re.compile(r"(\w+)\s*=\s*(\S+)")


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


# --------------------------------------------------------------------------- reading


def read_meme(path: str | os.PathLike[str]) -> dict[str, Motif]:
    """Read motifs from a MEME (minimal or full text) file.

    Parameters
    ----------
    path : str or PathLike
        A MEME file (``.gz`` is read transparently). It must start with
        ``MEME version``; each motif is a ``MOTIF id [alt_name]`` line followed by a
        ``letter-probability matrix: alength= 4 w= W ...`` line and W rows of 4
        probabilities (A C G T). ``log-odds matrix`` blocks and other lines are skipped;
        the file's background frequencies are not kept.

    Returns
    -------
    dict[str, Motif]
        Motif id -> Motif, in file order; each ``pwm`` has shape (4, width).

    Raises
    ------
    InputFileError
        The file is missing, or a line is malformed; the message names the file and
        line, what was expected and what was found.
    """
    path = Path(path)
    return _parse_meme(_read_lines(path), str(path))


def _read_lines(path: Path) -> list[str]:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such motif file") from None
    except OSError as err:
        raise InputFileError(f"{path}: cannot read ({err.strerror})") from None
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not a text (MEME) file") from None


def _parse_meme(lines: list[str], src: str) -> dict[str, Motif]:
    _check_version_line(lines, src)
    motifs: dict[str, Motif] = {}
    pending: tuple[str, str | None, int] | None = None  # a MOTIF line still waiting for its matrix
    i = 0
    while i < len(lines):
        text, lineno = lines[i].strip(), i + 1
        if text.startswith("ALPHABET"):
            _check_alphabet(text, src, lineno)
        elif text.startswith("MOTIF"):
            if pending is not None:
                _raise_no_matrix(pending, src)
            pending = _parse_motif_line(text, src, lineno, motifs)
        elif text.startswith("letter-probability matrix"):
            if pending is None:
                raise InputFileError(
                    f"{src}:{lineno}: 'letter-probability matrix' before any 'MOTIF' line"
                )
            rows, i = _read_rows(lines, i + 1, src)
            name, alt, _ = pending
            pwm = _matrix_from_rows(rows, _parse_matrix_header(text, src, lineno), src, lineno)
            motifs[name] = Motif(name, pwm, alt)
            pending = None
            continue
        elif text.startswith("log-odds matrix"):
            _, i = _read_rows(lines, i + 1, src)  # scores, not probabilities: skipped
            continue
        i += 1
    if pending is not None:
        _raise_no_matrix(pending, src)
    if not motifs:
        raise InputFileError(f"{src}: no 'MOTIF' with a 'letter-probability matrix' found")
    return motifs


def _check_version_line(lines: list[str], src: str) -> None:
    for lineno, line in enumerate(lines, 1):
        if line.strip():
            if not line.startswith("MEME version"):
                raise InputFileError(
                    f"{src}:{lineno}: expected 'MEME version 4' as the first line; "
                    f"found {line.strip()[:40]!r}"
                )
            return
    raise InputFileError(f"{src}: empty file; expected a MEME motif file")


def _check_alphabet(text: str, src: str, lineno: int) -> None:
    _, _, value = text.partition("=")
    if value.strip() != ALPHABET:
        raise InputFileError(
            f"{src}:{lineno}: only the DNA alphabet 'ALPHABET= ACGT' is supported; found {text!r}"
        )


def _parse_motif_line(
    text: str, src: str, lineno: int, seen: Mapping[str, Motif]
) -> tuple[str, str | None, int]:
    words = text.split()
    if len(words) < 2 or words[0] != "MOTIF":
        raise InputFileError(f"{src}:{lineno}: expected 'MOTIF id [alt_name]'; found {text!r}")
    name = words[1]
    if name in seen:
        raise InputFileError(f"{src}:{lineno}: motif id {name!r} appears twice; ids must be unique")
    return name, (words[2] if len(words) > 2 else None), lineno


def _raise_no_matrix(pending: tuple[str, str | None, int], src: str) -> None:
    name, _, lineno = pending
    raise InputFileError(
        f"{src}:{lineno}: MOTIF {name!r} has no 'letter-probability matrix' before the next "
        "MOTIF or the end of the file"
    )


def _parse_matrix_header(text: str, src: str, lineno: int) -> dict[str, int]:
    """Integer ``alength`` and ``w`` from a matrix header (either may be absent)."""
    found = dict(_MATRIX_KEY_VALUE.findall(text.partition(":")[2]))
    header = {}
    for key in ("alength", "w"):
        if key in found:
            try:
                header[key] = int(found[key])
            except ValueError:
                raise InputFileError(
                    f"{src}:{lineno}: '{key}=' must be an integer; found {found[key]!r}"
                ) from None
    if header.get("alength", 4) != 4:
        raise InputFileError(
            f"{src}:{lineno}: expected 'alength= 4' (A C G T); found 'alength= {header['alength']}'"
        )
    return header


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _read_rows(lines: list[str], start: int, src: str) -> tuple[list[tuple[int, list[str]]], int]:
    """Consecutive numeric rows from ``start``; returns (lineno, words) pairs and the next index."""
    rows = []
    i = start
    while i < len(lines):
        words = lines[i].split()
        if not words or not _is_number(words[0]):
            break
        rows.append((i + 1, words))
        i += 1
    return rows, i


def _matrix_from_rows(
    rows: list[tuple[int, list[str]]], header: Mapping[str, int], src: str, lineno: int
) -> np.ndarray:
    """(4, width) probabilities from MEME rows (one row per position, columns A C G T)."""
    if not rows:
        raise InputFileError(
            f"{src}:{lineno}: expected rows of 4 probabilities after 'letter-probability matrix'"
        )
    if "w" in header and header["w"] != len(rows):
        raise InputFileError(
            f"{src}:{lineno}: 'letter-probability matrix' declares w= {header['w']} but "
            f"{len(rows)} rows follow"
        )
    values = np.empty((len(rows), 4))
    for k, (row_lineno, words) in enumerate(rows):
        values[k] = _parse_row(words, src, row_lineno)
    return values.T


def _parse_row(words: list[str], src: str, lineno: int) -> np.ndarray:
    if len(words) != 4:
        raise InputFileError(
            f"{src}:{lineno}: expected 4 probabilities (A C G T); found {len(words)} values"
        )
    try:
        row = np.array([float(w) for w in words])
    except ValueError:
        raise InputFileError(
            f"{src}:{lineno}: expected 4 numbers (A C G T); found {' '.join(words)!r}"
        ) from None
    if not np.isfinite(row).all() or (row < 0).any():
        raise InputFileError(f"{src}:{lineno}: probabilities must be >= 0; found {' '.join(words)}")
    total = row.sum()
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise InputFileError(
            f"{src}:{lineno}: row sums to {total:.6f}; expected 1 (probabilities of A C G T)"
        )
    return row


# --------------------------------------------------------------------------- writing


def write_meme(
    motifs: Mapping[str, Motif | np.ndarray] | Iterable[Motif],
    path: str | os.PathLike[str],
    *,
    background: Sequence[float] | None = None,
) -> None:
    """Write motifs as a MEME minimal-format file (atomically).

    Parameters
    ----------
    motifs : mapping or iterable
        Motifs as read by :func:`read_meme` (name -> Motif), an iterable of Motif, or a
        mapping name -> array of shape (4, width) (rows A, C, G, T).
    path : str or PathLike
        Output file; written to a temporary file beside it, then renamed, so a reader
        never sees half a file.
    background : sequence of 4 floats, optional
        Background frequencies A, C, G, T to record; uniform when None.

    Raises
    ------
    DnalensError
        A matrix is not (4, width) probabilities, or two motifs share a name.
    """
    records = _as_motif_list(motifs)
    bg = _checked_background(background)
    _write_text_atomic(Path(path), _format_meme(records, bg))


def _as_motif_list(motifs: Mapping[str, Motif | np.ndarray] | Iterable[Motif]) -> list[Motif]:
    if isinstance(motifs, Mapping):
        records = []
        for key, value in motifs.items():
            if isinstance(value, Motif):
                if value.name != key:
                    raise DnalensError(
                        f"motifs[{key!r}] is named {value.name!r}; keys must match motif names"
                    )
                records.append(value)
            else:
                records.append(Motif(key, value))
    else:
        records = list(motifs)
        for value in records:
            if not isinstance(value, Motif):
                raise DnalensError(f"expected Motif objects; got {type(value).__name__}")
    names = [m.name for m in records]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DnalensError(f"motif names must be unique; repeated: {', '.join(duplicates)}")
    return records


def _format_meme(records: list[Motif], bg: np.ndarray) -> str:
    freqs = " ".join(f"{base} {p:.6f}" for base, p in zip(ALPHABET, bg, strict=True))
    parts = [
        "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
        f"Background letter frequencies\n{freqs}\n"
    ]
    for motif in records:
        title = motif.name if motif.alt_name is None else f"{motif.name} {motif.alt_name}"
        rows = "".join(" " + "  ".join(f"{p:.6f}" for p in col) + "\n" for col in motif.pwm.T)
        parts.append(
            f"\nMOTIF {title}\n"
            f"letter-probability matrix: alength= 4 w= {motif.width} nsites= 20 E= 0\n{rows}"
        )
    return "".join(parts)


def _write_text_atomic(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise InputFileError(f"{path}: cannot write ({err.strerror})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; a motif file is not secret
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- JASPAR


def jaspar_motifs() -> dict[str, Motif]:
    """The 182 JASPAR 2024 motif clusters bundled with dnalens.

    Names look like ``"C055:CTCF:C2H2_ZF"``: cluster id, member TF families and
    DNA-binding-domain class. Taken unchanged from gReLU 1.1.0's resources (MIT), which
    redistribute the JASPAR 2024 non-redundant clusters. JASPAR data are CC BY 4.0; cite:

    Rauluseviciute I. et al. JASPAR 2024: 20th anniversary of the open-access database
    of transcription factor binding profiles. Nucleic Acids Research 52(D1):D174-D182
    (2024). doi:10.1093/nar/gkad1059

    Returns
    -------
    dict[str, Motif]
        Name -> Motif in file order; each ``pwm`` has shape (4, width). A new dict on
        every call (the Motif objects are immutable and shared).
    """
    return dict(_load_jaspar())


@lru_cache(maxsize=1)
def _load_jaspar() -> dict[str, Motif]:
    ref = resources.files("dnalens.resources").joinpath(_JASPAR_FILE)
    with resources.as_file(ref) as path:
        return read_meme(path)


# --------------------------------------------------------------------------- lookup


def _name_fields(motif: Motif) -> tuple[str, str | None]:
    """(cluster id, family field) of a JASPAR cluster name; (name, None) for other names."""
    parts = motif.name.split(":")
    return (parts[0], parts[1]) if len(parts) >= 2 else (motif.name, None)


def _tokens(motif: Motif) -> set[str]:
    """Upper-case TF words of a motif: its family field split on '_', and its alt name."""
    _, family = _name_fields(motif)
    words = set(family.split("_")) if family else set()
    if motif.alt_name:
        words.add(motif.alt_name)
    return {w.upper() for w in words}


def search_motifs(motifs: Mapping[str, Motif] | Iterable[Motif], query: str) -> list[Motif]:
    """Motifs matching ``query``, best kind of match only, in input order.

    Kinds of match, best first (the first kind with any hit is returned):

    1. the exact name, or the cluster id before the first ':' (``"C055"``, any case);
    2. the whole alt name or family field, ignoring case (``"CTCF"`` -> ``C055:CTCF:...``);
    3. one '_'-separated TF word of the family field, ignoring case
       (``"JUN"`` -> both ``C026:FOS_JUN:bZIP`` and ``C036:FOS_JUN:bZIP``);
    4. a substring of the name or alt name, ignoring case.

    Parameters
    ----------
    motifs : mapping name -> Motif, or iterable of Motif
    query : str

    Returns
    -------
    list[Motif]
        Empty when nothing matches.
    """
    pool = list(motifs.values()) if isinstance(motifs, Mapping) else list(motifs)
    q = query.strip().upper()
    tests = (
        lambda m: m.name == query.strip() or _name_fields(m)[0].upper() == q,
        lambda m: q in {(m.alt_name or "").upper(), (_name_fields(m)[1] or "").upper()},
        lambda m: q in _tokens(m),
        lambda m: q in m.name.upper() or q in (m.alt_name or "").upper(),
    )
    for test in tests:
        hits = [m for m in pool if test(m)]
        if hits:
            return hits
    return []


def find_motif(motifs: Mapping[str, Motif] | Iterable[Motif], query: str) -> Motif:
    """The one motif that ``query`` names (see :func:`search_motifs` for how names match).

    Parameters
    ----------
    motifs : mapping name -> Motif, or iterable of Motif
        E.g. ``jaspar_motifs()``.
    query : str
        Exact name, cluster id (``"C055"``), alt name, or TF name (``"CTCF"``).

    Returns
    -------
    Motif

    Raises
    ------
    DnalensError
        Nothing matches (the message lists close names) or several motifs match
        equally well (the message lists them, to pick one by full name or cluster id).
    """
    if not isinstance(query, str) or not query.strip():
        raise DnalensError(f"find_motif: query must be a non-empty string; got {query!r}")
    pool = list(motifs.values()) if isinstance(motifs, Mapping) else list(motifs)
    hits = search_motifs(pool, query)
    if len(hits) == 1:
        return hits[0]
    if hits:
        names = ", ".join(m.name for m in hits[:10])
        raise DnalensError(
            f"find_motif: {query!r} matches {len(hits)} motifs ({names}); "
            "pass a full name or cluster id"
        )
    raise DnalensError(f"find_motif: no motif matches {query!r}; {_suggestions(pool, query)}")


def _suggestions(pool: list[Motif], query: str) -> str:
    # Index every way a motif can be named, so a typo in a TF name still finds its cluster.
    by_word: dict[str, list[str]] = {}
    for motif in pool:
        for word in {motif.name.upper(), *_tokens(motif)}:
            by_word.setdefault(word, []).append(motif.name)
    close = difflib.get_close_matches(query.strip().upper(), list(by_word), n=5, cutoff=0.6)
    names = list(dict.fromkeys(name for word in close for name in by_word[word]))
    if names:
        return "close names: " + ", ".join(names[:8])
    examples = ", ".join(m.name for m in pool[:3])
    return f"{len(pool)} motifs, e.g. {examples}" if pool else "the motif collection is empty"
