"""Read and validate BED3+ / narrowPeak files into pandas DataFrames.

Coordinates are 0-based, half-open (BED). Every row keeps the 1-based ``line``
it came from so later checks can name the offending line.
"""

from __future__ import annotations

import gzip
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from dnalens.errors import BedFormatError, CoordinateError, InputFileError
from dnalens.io.contigs import check_within_chromosomes, match_contigs

if TYPE_CHECKING:
    from dnalens.io.genome import Genome

__all__ = ["NARROWPEAK_COLUMNS", "parse_region", "read_bed", "write_bed"]

BED_COLUMNS = ["chrom", "start", "end", "name", "score", "strand"]
NARROWPEAK_COLUMNS = [*BED_COLUMNS, "signalValue", "pValue", "qValue", "summit"]
_INTEGER_COLUMNS = ("start", "end")


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _open_text(path: Path):
    return gzip.open(path, "rt") if _is_gzip(path) else open(path)


def _parser_message(path: Path, message: str) -> str:
    """pandas' tokenizer error as one 'file:line: ...' line."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if found:
        expected, line, seen = found.groups()
        return (f"{path}:{line}: expected {expected} tab-separated columns like the first "
                f"row; found {seen}")
    return f"{path}: not a tab-separated BED file ({message.strip().splitlines()[0]})"


def _scan_header(path: Path) -> tuple[int, list[str] | None]:
    """Count leading track/browser/comment lines; a '#chrom ...' line names the columns."""
    skip, names = 0, None
    with _open_text(path) as handle:
        for line in handle:
            if line.startswith(("track", "browser", "#")) or not line.strip():
                if line.startswith("#chrom"):
                    names = line[1:].rstrip("\n").split("\t")
                skip += 1
                continue
            break
    return skip, names


def _column_names(n_columns: int, header: list[str] | None, path: Path) -> list[str]:
    if header is not None:
        if len(header) != n_columns:
            raise BedFormatError(
                f"{path}: the '#chrom' header names {len(header)} columns but rows have "
                f"{n_columns}"
            )
        return header
    if n_columns == len(NARROWPEAK_COLUMNS):
        return list(NARROWPEAK_COLUMNS)
    base = BED_COLUMNS[: min(n_columns, len(BED_COLUMNS))]
    return base + [f"col{i + 1}" for i in range(len(base), n_columns)]


def _to_int(df: pd.DataFrame, column: str, path: Path) -> pd.Series:
    values = pd.to_numeric(df[column], errors="coerce")
    bad = values.isna() | (values != values.round())
    if bad.any():
        row = df[bad].iloc[0]
        raise BedFormatError(
            f"{path}:{row['line']}: column {column} must be an integer; got {row[column]!r}"
        )
    return values.astype("int64")


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
        Tab-separated; leading ``track``/``browser``/``#`` lines are skipped and a
        ``#chrom ...`` header line names the columns. Ten columns are read as
        narrowPeak.
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
    skip, header = _scan_header(path)
    try:
        df = pd.read_csv(
            path, sep="\t", header=None, skiprows=skip, dtype=str, comment=None,
            skip_blank_lines=False, keep_default_na=False,
            compression="gzip" if _is_gzip(path) else None,
        )
    except pd.errors.EmptyDataError:
        df = pd.DataFrame()
    except pd.errors.ParserError as err:
        raise BedFormatError(_parser_message(path, str(err))) from None
    except UnicodeDecodeError:
        raise BedFormatError(f"{path}: not a text BED file (undecodable bytes)") from None
    df["line"] = df.index + skip + 1
    if df.shape[1] > 1:
        df = df[df.iloc[:, 0].str.strip() != ""]
    if df.empty:
        if allow_empty:
            return pd.DataFrame({"chrom": [], "start": [], "end": [], "line": []})
        raise BedFormatError(f"{path}: no intervals (empty BED file)")
    n_columns = df.shape[1] - 1
    if n_columns < 3:
        raise BedFormatError(
            f"{path}:{df['line'].iloc[0]}: expected at least 3 tab-separated columns "
            f"(chrom, start, end); found {n_columns}"
        )
    df.columns = [*_column_names(n_columns, header, path), "line"]
    for column in _INTEGER_COLUMNS:
        df[column] = _to_int(df, column, path)
    _check_coordinates(df, path)
    if "summit" in df.columns:
        df["summit"] = _to_int(df, "summit", path)
    if genome is not None:
        mapping = match_contigs(
            df["chrom"].unique(), genome, source=str(path), rename=rename_contigs,
            chrom_map=chrom_map,
        )
        df["chrom"] = df["chrom"].map(mapping)
        check_within_chromosomes(df, genome, source=str(path))
    return df.reset_index(drop=True)


def _check_coordinates(df: pd.DataFrame, path: Path) -> None:
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
    from dnalens.io.contigs import genome_name

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
