"""Read and validate BED3+ / narrowPeak files into pandas DataFrames.

Coordinates are 0-based, half-open (BED). Every row keeps the 1-based ``line``
it came from so later checks can name the offending line.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dnalens.errors import BedFormatError, CoordinateError, InputFileError
from dnalens.io.contigs import check_within_chromosomes, genome_name, match_contigs

if TYPE_CHECKING:
    from dnalens.io.genome import Genome

__all__ = ["NARROWPEAK_COLUMNS", "parse_region", "read_bed", "write_bed"]

BED_COLUMNS = ["chrom", "start", "end", "name", "score", "strand"]
NARROWPEAK_COLUMNS = [*BED_COLUMNS, "signalValue", "pValue", "qValue", "summit"]
_INTEGER_COLUMNS = ("start", "end")


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


_SKIPPED = re.compile(r"(track|browser)([ \t]|$)|#")
_MAYBE_SKIPPED = {"", "#", "t", "b", " ", "\t", "\r", "\x0b", "\x0c"}


def _read_text(path: Path) -> str:
    """The whole file as text (plain or gzip); undecodable bytes are named by line."""
    try:
        if _is_gzip(path):
            with gzip.open(path, "rb") as handle:
                data = handle.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as err:
        raise BedFormatError(f"{path}: cannot read the gzip-compressed BED ({err})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise BedFormatError(f"{path}:{line}: not a text BED file (undecodable byte "
                             f"0x{data[err.start]:02x})") from None


@dataclass
class _Rows:
    """A BED file's data lines, checked to have one column count, ready for pandas."""

    text: str  # the data lines only, LF-separated
    numbers: list[int]  # 1-based line of each
    n_columns: int
    header: tuple[int, list[str]] | None  # the '#chrom ...' line: its number and names


def _split_rows(path: Path) -> _Rows:
    """Keep the data lines; blank, ``track``, ``browser`` and ``#`` lines go wherever they are.

    CRLF line ends are read like LF. Every row must have as many columns as the first;
    counting tabs here lets pandas' tokenizer (fast) run on text it cannot misread.
    """
    lines = _read_text(path).replace("\r\n", "\n").split("\n")
    # Only lines starting like a skipped one get the full test: fast on million-row files.
    maybe = [i for i, line in enumerate(lines) if line[:1] in _MAYBE_SKIPPED]
    skipped = [i for i in maybe if not lines[i].strip() or _SKIPPED.match(lines[i])]
    header = next(((i + 1, lines[i][1:].split("\t")) for i in skipped
                   if lines[i].startswith("#chrom")), None)
    numbers = np.delete(np.arange(1, len(lines) + 1), skipped)
    kept = lines if not skipped else [lines[i - 1] for i in numbers.tolist()]
    if header is not None and numbers.size and header[0] > numbers[0]:
        header = None  # a '#chrom' line after the first row is a comment
    text = "\n".join(kept)
    # Tabs per line from where the tabs and newlines are: no Python loop per line.
    chars = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)  # no multibyte char holds 9, 10
    line_of_tab = np.searchsorted(np.flatnonzero(chars == 10), np.flatnonzero(chars == 9))
    tabs = np.bincount(line_of_tab, minlength=len(kept))
    odd = np.flatnonzero(tabs != tabs[0]) if kept else []
    if len(odd):
        i = int(odd[0])
        raise BedFormatError(
            f"{path}:{numbers[i]}: expected {tabs[0] + 1} tab-separated columns like the first "
            f"row (line {numbers[0]}); found {tabs[i] + 1}")
    n_columns = int(tabs[0]) + 1 if kept else 0
    return _Rows(text, numbers.tolist(), n_columns, header)


def _frame(rows: _Rows) -> pd.DataFrame:
    """All columns as text, one row per data line, plus ``line``."""
    df = pd.read_csv(
        io.StringIO(rows.text), sep="\t", header=None, dtype=str, names=range(rows.n_columns),
        quoting=csv.QUOTE_NONE, lineterminator="\n", na_filter=False, skip_blank_lines=False,
        engine="c",
    )
    df["line"] = np.asarray(rows.numbers, dtype=np.int64)
    return df


def _column_names(n_columns: int, header: tuple[int, list[str]] | None,
                  path: Path) -> list[str]:
    if header is not None:
        line, names = header
        if len(names) != n_columns:
            raise BedFormatError(
                f"{path}:{line}: the '#chrom' header names {len(names)} columns but rows have "
                f"{n_columns}"
            )
        # The first three are chrom, start, end by position, whatever the header calls them.
        return [*BED_COLUMNS[:3], *names[3:]]
    if n_columns == len(NARROWPEAK_COLUMNS):
        return list(NARROWPEAK_COLUMNS)
    base = BED_COLUMNS[: min(n_columns, len(BED_COLUMNS))]
    return base + [f"col{i + 1}" for i in range(len(base), n_columns)]


_DIGITS = r"-?[0-9]{1,18}"  # int64-safe; a sign is let through so "-5" gets its own message
_ALL_DIGITS = re.compile(rf"(?:{_DIGITS}\t)*{_DIGITS}")


def _to_int(df: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """Digits only: pandas would read '2e2' as 200 and '1.0' as 1, silently."""
    text = df[column]
    values = text.tolist()
    # One regex over the joined column is a C loop; the per-row search runs only on failure.
    if _ALL_DIGITS.fullmatch("\t".join(values)) is None:
        bad = ~text.str.fullmatch(_DIGITS)
        row = df[bad].iloc[0]
        hint = ("; a header line? start it with '#'" if row["line"] == df["line"].iloc[0]
                and not any(c.isdigit() for c in row[column]) else "")
        raise BedFormatError(
            f"{path}:{row['line']}: column {column} must be an integer; got {row[column]!r} "
            f"(write whole numbers in digits, e.g. 200){hint}"
        )
    return pd.Series(np.fromiter(map(int, values), dtype=np.int64, count=len(values)),
                     index=df.index)


def read_bed(
    path: str | Path,
    genome: Genome | None = None,
    *,
    rename_contigs: bool = True,
    chrom_map: Mapping[str, str] | None = None,
    allow_empty: bool = False,
) -> pd.DataFrame:
    """Read a BED3+ or narrowPeak file (plain or gzip) and validate it.

    Parameters
    ----------
    path : str or Path
        Tab-separated, LF or CRLF line ends; blank, ``track``, ``browser`` and
        ``#`` lines are skipped wherever they are, and a ``#chrom ...`` line before
        the first row names the columns. Ten columns are read as narrowPeak (the
        summit must be -1 or inside the peak). Coordinates are digits only.
    genome : Genome, optional
        When given, chromosome names are matched to the genome's (``chr1`` vs
        ``1`` mapped when ``rename_contigs``) and intervals must lie within
        their chromosome.
    rename_contigs : bool
        See :func:`dnalens.io.contigs.match_contigs`.
    chrom_map : mapping, optional
        Explicit chromosome renames.
    allow_empty : bool
        Return an empty frame instead of raising for a file with no intervals.

    Returns
    -------
    DataFrame
        Columns chrom (str), start, end (int64), any further columns, and
        ``line`` (1-based line number in the file).

    Raises
    ------
    InputFileError, BedFormatError, CoordinateError, ContigError
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such BED file")
    rows = _split_rows(path)
    if not rows.numbers:
        if allow_empty:
            return pd.DataFrame({"chrom": [], "start": [], "end": [], "line": []})
        raise BedFormatError(f"{path}: no intervals (empty BED file)")
    if rows.n_columns < 3:
        spaces = "; columns must be separated by tabs, not spaces" if " " in rows.text else ""
        raise BedFormatError(
            f"{path}:{rows.numbers[0]}: expected at least 3 tab-separated columns "
            f"(chrom, start, end); found {rows.n_columns}{spaces}"
        )
    df = _frame(rows)
    df.columns = [*_column_names(rows.n_columns, rows.header, path), "line"]
    for column in _INTEGER_COLUMNS:
        df[column] = _to_int(df, column, path)
    _check_coordinates(df, path)
    if "summit" in df.columns:
        df["summit"] = _to_int(df, "summit", path)
        _check_summits(df, path)
    if genome is not None:
        first_lines = df.groupby("chrom", sort=False)["line"].first()
        mapping = match_contigs(
            first_lines.index, genome, source=str(path), rename=rename_contigs,
            chrom_map=chrom_map, lines=first_lines.to_dict(),
        )
        df["chrom"] = df["chrom"].map(mapping)
        check_within_chromosomes(df, genome, source=str(path))
    return df.reset_index(drop=True)


def _check_coordinates(df: pd.DataFrame, path: Path) -> None:
    if any(not name.strip() for name in df["chrom"].unique()):
        row = df[df["chrom"].str.strip() == ""].iloc[0]
        raise BedFormatError(f"{path}:{row['line']}: column chrom is empty; expected a "
                             "chromosome name")
    negative = df["start"] < 0
    if negative.any():
        row = df[negative].iloc[0]
        raise CoordinateError(f"{path}:{row['line']}: start ({row['start']}) must be >= 0")
    backwards = df["end"] <= df["start"]
    if backwards.any():
        row = df[backwards].iloc[0]
        raise CoordinateError(
            f"{path}:{row['line']}: end ({row['end']}) must be > start ({row['start']}); "
            "BED is 0-based, half-open"
        )


def _check_summits(df: pd.DataFrame, path: Path) -> None:
    """narrowPeak: the summit is an offset from start inside the peak, or -1 when not called."""
    summit, length = df["summit"], df["end"] - df["start"]
    bad = (summit < -1) | (summit >= length)
    if bad.any():
        row = df[bad].iloc[0]
        raise CoordinateError(
            f"{path}:{row['line']}: summit ({row['summit']}) must be -1 or an offset from start "
            f"inside the peak (0 to {row['end'] - row['start'] - 1}); narrowPeak column 10"
        )


def write_bed(df: pd.DataFrame, path: str | Path) -> Path:
    """Write intervals as tab-separated BED (no header), atomically.

    Parameters
    ----------
    df : DataFrame
        Must start with chrom, start, end; a ``line`` column is dropped.
    path : str or Path
    """
    path = Path(path)
    body = df.drop(columns=["line"], errors="ignore")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        body.to_csv(handle, sep="\t", header=False, index=False)
    os.replace(tmp, path)
    return path


def parse_region(text: str, genome: Genome) -> tuple[str, int, int]:
    """``chrom:start-end`` (0-based half-open; commas allowed) checked against a genome.

    Returns
    -------
    (chrom, start, end), the chromosome under the genome's own name (``1`` for ``chr1``
    when the FASTA says ``1``).

    Raises
    ------
    CoordinateError
        Not of that form, start >= end, or past the chromosome end.
    """
    chrom, sep, span = text.replace(",", "").rpartition(":")
    first, dash, last = span.partition("-")
    if not sep or not dash or not first.isdigit() or not last.isdigit():
        raise CoordinateError(f"region '{text}': expected chrom:start-end, e.g. chr1:0-100000")
    start, end = int(first), int(last)
    name = genome_name(chrom, genome) or chrom
    size = genome.check_chrom(name)
    if not 0 <= start < end <= size:
        raise CoordinateError(f"region '{text}': start must be < end and end <= the length of "
                              f"{name} ({size:,})")
    return name, start, end
