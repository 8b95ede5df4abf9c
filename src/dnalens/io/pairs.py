"""Read labelled anchor pairs (enhancer-promoter, loops) from BEDPE into a checked DataFrame.

Coordinates are 0-based, half-open (BEDPE is BED's pair format). Columns 1-6 are
``chrom1 start1 end1 chrom2 start2 end2``; the label (0 or 1) is column 7, or the column a
header line names. Every row keeps its 1-based file ``line`` for later messages.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from dnalens.errors import BedFormatError, ContigError, CoordinateError, InputFileError
from dnalens.io.checked_text import strict_int, text_lines
from dnalens.io.contigs import describe_missing_contig, genome_name

if TYPE_CHECKING:
    from dnalens.io.genome import Genome

__all__ = ["BEDPE_COLUMNS", "read_bedpe"]

log = logging.getLogger(__name__)

BEDPE_COLUMNS = ["chrom1", "start1", "end1", "chrom2", "start2", "end2"]
_LABEL_COLUMN = 7  # 1-based, in files without a header


def _is_header(fields: list[str]) -> bool:
    return fields[0].lstrip("#").strip() == "chrom1"


def _read_rows(path: Path) -> tuple[list[str] | None, str, list[tuple[int, list[str]]]]:
    """The header's column names (or None), where it is, and each data line's number and
    fields."""
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    # text_lines raises BedFormatError naming the line for gzip, encoding and binary faults.
    for number, line in text_lines(path, "BEDPE file", BedFormatError):
        if not line.strip():
            continue
        fields = line.split("\t")
        if line.startswith("#") or (not rows and _is_header(fields)):
            if _is_header(fields) and not rows:
                header = [f.lstrip("#").strip() for f in fields]
                header_line = number
            continue
        if line.startswith(("track", "browser")) and not rows:
            continue
        rows.append((number, fields))
    return header, f"{path}:{header_line}", rows


def _column_names(header: list[str] | None, n_columns: int, label_column: str,
                  path: str) -> list[str]:
    if header is None:
        names = [*BEDPE_COLUMNS, "label"]
        return names + [f"col{i + 1}" for i in range(len(names), n_columns)]
    if header[: len(BEDPE_COLUMNS)] != BEDPE_COLUMNS:
        raise BedFormatError(f"{path}: the header must start with {BEDPE_COLUMNS}; got "
                             f"{header[: len(BEDPE_COLUMNS)]}")
    if label_column not in header:
        raise BedFormatError(f"{path}: no column '{label_column}' in the header (has "
                             f"{header}); pass label_column=")
    if len(set(header)) != len(header):
        raise BedFormatError(f"{path}: the header repeats a column name: {header}")
    if label_column != "label" and "label" in header:
        # The label column is renamed 'label'; a second one would silently replace it.
        raise BedFormatError(f"{path}: the header has a column 'label' besides "
                             f"label_column '{label_column}'; rename one of them")
    return [("label" if h == label_column else h) for h in header]


def _integer(text: str, column: str, where: str) -> int:
    value = strict_int(text)
    if value is None:
        raise BedFormatError(f"{where}: column {column} must be an integer; got "
                             f"{text[:40]!r}")
    return value


def _label(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value not in (0.0, 1.0):
        raise BedFormatError(f"{where}: label must be 0 or 1; got {text[:40]!r}")
    return value


def _parse(rows: list[tuple[int, list[str]]], names: list[str], path: Path) -> pd.DataFrame:
    records = []
    for number, fields in rows:
        where = f"{path}:{number}"
        if len(fields) != len(names):
            raise BedFormatError(
                f"{where}: expected {len(names)} tab-separated columns "
                f"({', '.join(names[:7])}{', ...' if len(names) > 7 else ''}); found "
                f"{len(fields)}"
            )
        record: dict[str, object] = dict(zip(names, fields, strict=True))
        for anchor in ("1", "2"):
            start = _integer(fields[names.index(f"start{anchor}")], f"start{anchor}", where)
            end = _integer(fields[names.index(f"end{anchor}")], f"end{anchor}", where)
            if start < 0:
                raise CoordinateError(f"{where}: start{anchor} ({start}) must be >= 0")
            if end <= start:
                raise CoordinateError(f"{where}: end{anchor} ({end}) must be > start{anchor} "
                                      f"({start}); BEDPE is 0-based, half-open")
            record[f"start{anchor}"], record[f"end{anchor}"] = start, end
        record["label"] = _label(record["label"], where)
        record["line"] = number
        records.append(record)
    df = pd.DataFrame.from_records(records, columns=[*names, "line"])
    for column in ("start1", "end1", "start2", "end2", "line"):
        df[column] = df[column].astype("int64")
    df["label"] = df["label"].astype("float64")
    return df


def _map_chromosomes(df: pd.DataFrame, genome: Genome, path: Path, rename: bool,
                     chrom_map: Mapping[str, str]) -> None:
    """Rename chrom1/chrom2 to the genome's names in place; ContigError naming the line."""
    mapping: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for column in ("chrom1", "chrom2"):
        for name, number in zip(df[column], df["line"], strict=True):
            if name in mapping:
                continue
            target = chrom_map.get(name, name)
            alt = target if target in genome.chrom_sizes else genome_name(target, genome)
            if alt is None or (alt != target and not rename):
                raise ContigError(describe_missing_contig(name, genome, f"{path}:{number}"))
            mapping[name] = alt
            if alt != name:
                renamed[name] = alt
    if renamed:
        shown = ", ".join(f"'{k}->{v}'" for k, v in list(renamed.items())[:6])
        log.warning("%s: renamed chromosomes to the genome's style: %s", path, shown)
    df["chrom1"] = df["chrom1"].map(mapping)
    df["chrom2"] = df["chrom2"].map(mapping)


def _check_within(df: pd.DataFrame, genome: Genome, path: Path) -> None:
    for anchor in ("1", "2"):
        sizes = df[f"chrom{anchor}"].map(genome.chrom_sizes)
        past = df[f"end{anchor}"] > sizes
        if past.any():
            row = df[past].iloc[0]
            chrom = row[f"chrom{anchor}"]
            raise CoordinateError(
                f"{path}:{row['line']}: anchor {anchor} {chrom}:{row[f'start{anchor}']}-"
                f"{row[f'end{anchor}']} ends past the end of {chrom} "
                f"({genome.chrom_sizes[chrom]:,} bp in {genome.path.name}); "
                f"{int(past.sum())} pair(s) do"
            )


def read_bedpe(
    path: str | Path,
    genome: Genome,
    *,
    label_column: str = "label",
    rename_contigs: bool = True,
    chrom_map: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read labelled pairs of anchors from a BEDPE file (plain or gzip) and check them.

    Parameters
    ----------
    path : str or Path
        Tab-separated. Without a header: ``chrom1 start1 end1 chrom2 start2 end2 label``
        then any further columns (kept as ``col8``, ...). A first line starting with
        ``chrom1`` or ``#chrom1`` names the columns; the label is then ``label_column``.
        Other ``#`` lines and ``track``/``browser`` lines before the data are skipped.
    genome : Genome
        Chromosome names are mapped to the genome's and anchors must lie within them.
    label_column : str
        Header name of the 0/1 label column (renamed ``label`` in the result).
    rename_contigs : bool
        Map ``chr1`` <-> ``1`` and ``chrM`` <-> ``MT`` (logged); otherwise such a
        difference is an error stating the mapping to use.
    chrom_map : mapping, optional
        Explicit renames, file name -> genome name, applied first.

    Returns
    -------
    DataFrame
        chrom1, start1, end1, chrom2, start2, end2 (int64 coordinates), label (float64, 0.0
        or 1.0), further columns as text (``name`` when the header has it), ``line`` (1-based)
        and ``cis`` (bool: both anchors on one chromosome). Pairs across chromosomes are kept
        and counted in a warning.

    Raises
    ------
    InputFileError
        Missing file.
    BedFormatError
        Naming file:line: wrong number of columns, a non-integer coordinate, a label other than
        0/1, or no pairs at all.
    CoordinateError
        start >= end, a negative start, or an anchor past its chromosome's end (file:line).
    ContigError
        A chromosome the genome does not have (file:line).
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a BEDPE file" if path.is_dir() else "no such BEDPE file"
        raise InputFileError(f"{path}: {what}")
    header, header_at, rows = _read_rows(path)
    if not rows:
        raise BedFormatError(f"{path}: no pairs (empty BEDPE file)")
    first_line, first = rows[0]
    if header is None and len(first) < _LABEL_COLUMN:
        raise BedFormatError(
            f"{path}:{first_line}: expected at least {_LABEL_COLUMN} tab-separated columns "
            f"({', '.join(BEDPE_COLUMNS)}, label); found {len(first)}"
        )
    names = _column_names(header, len(header or first), label_column, header_at)
    df = _parse(rows, names, path)
    _map_chromosomes(df, genome, path, rename_contigs, dict(chrom_map or {}))
    _check_within(df, genome, path)
    df["cis"] = df["chrom1"] == df["chrom2"]
    n_trans = int((~df["cis"]).sum())
    if n_trans:
        log.warning("%s: %d of %d pairs join anchors on different chromosomes (cis=False)",
                    path, n_trans, len(df))
    return df
