"""MEME motif files: the minimal (or full text) format in and out.

:func:`read_meme` returns an ordered ``dict`` name -> :class:`~dnalens.io.pwm.Motif`
in file order; :func:`write_meme` writes one atomically. Both are re-exported by
:mod:`dnalens.io.motifs`.

Only the DNA alphabet ACGT is supported. No torch here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from dnalens.alphabet import ALPHABET
from dnalens.errors import DnalensError, InputFileError
from dnalens.files import write_text_atomic
from dnalens.io.checked_text import text_lines
from dnalens.io.pwm import _SUM_TOLERANCE, Motif, _checked_background

__all__ = ["read_meme", "write_meme"]

_MATRIX_KEY_VALUE = re.compile(r"(\w+)\s*=\s*(\S+)")
# A probability as files write it; float() would also take "1_0", "nan" and non-ASCII digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


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
    # text_lines names the line of a gzip, encoding or binary fault; index i is line i + 1.
    return [line for _, line in text_lines(path, "motif file")]


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
            _check_matrix_end(lines, i, src)
            name, alt, _ = pending
            pwm = _matrix_from_rows(rows, _parse_matrix_header(text, src, lineno), src, lineno)
            motifs[name] = _motif(name, pwm, alt, src, lineno)
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


def _motif(name: str, pwm: np.ndarray, alt: str | None, src: str, lineno: int) -> Motif:
    try:
        return Motif(name, pwm, alt)
    except DnalensError as err:  # the rows were checked; this names the file all the same
        raise InputFileError(f"{src}:{lineno}: {err}") from None


def _check_matrix_end(lines: list[str], i: int, src: str) -> None:
    """A line right after a matrix that starts like a number but is not one is a damaged
    row: refuse it rather than end the matrix early and drop the rows after it."""
    words = lines[i].split() if i < len(lines) else []
    if words and (words[0][0].isdigit() or words[0][0] == "."):
        raise InputFileError(
            f"{src}:{i + 1}: expected 4 probabilities (A C G T); found {lines[i].strip()[:60]!r}"
        )


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
    if not all(_NUMBER.fullmatch(w) for w in words):
        raise InputFileError(
            f"{src}:{lineno}: expected 4 numbers (A C G T); found {' '.join(words)[:60]!r}"
        )
    row = np.array([float(w) for w in words])
    if not np.isfinite(row).all() or (row < 0).any():
        raise InputFileError(
            f"{src}:{lineno}: probabilities must be >= 0 (and finite); found "
            f"{' '.join(words)[:60]}"
        )
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
    write_text_atomic(Path(path), _format_meme(records, bg))


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
