"""Track lists: the TSV that names each coverage track's bigWig and how to summarise it.

:func:`read_track_list` reads one into :class:`TrackSpec` rows, checking as it goes, so that
every fault is one line naming the list and the line: the header (a missing, unknown or
repeated column), a row (wrong number of fields, a bad number, a duplicate name) or the
bigWig it names (missing, a folder, or not a bigWig file). Re-exported by
:mod:`dnalens.io.tracks`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from dnalens.errors import ConfigError, InputFileError
from dnalens.io.checked_text import text_lines

__all__ = ["SUMMARIES", "TRANSFORMS", "TrackSpec", "bigwig_kind", "not_bigwig_message",
           "read_track_list"]

SUMMARIES = ("sum", "mean")
TRANSFORMS = ("none", "log1p", "sqrt")
_COLUMNS = ("name", "file", "summary", "transform", "clip", "scale")
_REQUIRED = ("name", "file")
# A decimal number as files write them; float() would also take "1_0", "nan" and "١".
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# The first 4 bytes of a bigWig / bigBed, in either byte order.
_BIGWIG_MAGIC = (b"\x26\xfc\x8f\x88", b"\x88\x8f\xfc\x26")
_BIGBED_MAGIC = (b"\xeb\xf2\x89\x87", b"\x87\x89\xf2\xeb")


@dataclass(frozen=True)
class TrackSpec:
    """One coverage track: where it is and how its bins are summarised and transformed.

    Attributes
    ----------
    name : str
        Track (target) name, unique within a list.
    file : Path
        The bigWig file.
    summary : {"sum", "mean"}
        How the bases of a bin are combined; missing bases count as 0.
    transform : {"none", "log1p", "sqrt"}
        Applied last, after scaling and clipping.
    clip : float or None
        Soft clip: a value ``x > clip`` becomes ``clip + sqrt(x - clip)`` (Basenji); None keeps
        every value.
    scale : float
        Multiplies the binned values first.
    """

    name: str
    file: Path
    summary: str = "sum"
    transform: str = "none"
    clip: float | None = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "file", Path(self.file))  # frozen: accept str paths too
        if self.summary not in SUMMARIES:
            raise ConfigError(f"track '{self.name}': summary must be one of {SUMMARIES}; "
                              f"got {self.summary!r}")
        if self.transform not in TRANSFORMS:
            raise ConfigError(f"track '{self.name}': transform must be one of {TRANSFORMS}; "
                              f"got {self.transform!r}")
        if self.clip is not None and not (math.isfinite(self.clip) and self.clip >= 0):
            raise ConfigError(f"track '{self.name}': clip must be a finite number >= 0; "
                              f"got {self.clip!r}")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ConfigError(f"track '{self.name}': scale must be a finite number > 0; "
                              f"got {self.scale!r}")


def bigwig_kind(path: Path) -> str:
    """``"bigwig"``, ``"bigbed"``, ``"empty"`` or ``"other"``, from the first 4 bytes."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return "other"
    if head in _BIGWIG_MAGIC:
        return "bigwig"
    if head in _BIGBED_MAGIC:
        return "bigbed"
    return "empty" if not head else "other"


def not_bigwig_message(path: Path) -> str:
    """Why ``path`` (not starting with the bigWig magic number) cannot be read."""
    found = {"bigbed": "a bigBed file", "empty": "an empty file"}.get(bigwig_kind(path),
                                                                      "other bytes")
    return (f"{path}: not a bigWig file (found {found}); wig and bedGraph files need "
            "converting, e.g. with bedGraphToBigWig")


def _parse_float(text: str, column: str, where: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise InputFileError(f"{where}: column {column} must be a number; got {text[:40]!r}")
    return float(text)


def _checked_bigwig(file: Path, where: str) -> None:
    if not file.is_file():
        what = "is a folder" if file.is_dir() else "not found"
        raise InputFileError(f"{where}: bigWig file {file} {what}")
    if bigwig_kind(file) != "bigwig":
        raise InputFileError(f"{where}: {not_bigwig_message(file)}")


def _track_from_row(row: dict[str, str], base: Path, where: str) -> TrackSpec:
    for column in _REQUIRED:
        if not row.get(column):
            raise InputFileError(f"{where}: column {column} is empty")
    file = Path(row["file"])
    file = file if file.is_absolute() else base / file
    _checked_bigwig(file, where)
    clip = row.get("clip", "")
    scale = row.get("scale", "")
    try:
        return TrackSpec(
            name=row["name"],
            file=file,
            summary=row.get("summary") or "sum",
            transform=row.get("transform") or "none",
            clip=_parse_float(clip, "clip", where) if clip else None,
            scale=_parse_float(scale, "scale", where) if scale else 1.0,
        )
    except ConfigError as err:
        raise InputFileError(f"{where}: {err}") from None


def _checked_header(line: str, where: str) -> list[str]:
    header = [h.strip() for h in line.split("\t")]
    missing = [c for c in _REQUIRED if c not in header]
    unknown = [c for c in header if c not in _COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if missing or unknown or repeated:
        problem = (f"missing column(s) {missing}" if missing else
                   f"unknown column(s) {unknown}" if unknown else
                   f"repeated column(s) {repeated}")
        raise InputFileError(f"{where}: header has {problem}; columns are "
                             f"{list(_COLUMNS)} (name and file required), tab-separated")
    return header


def read_track_list(path: str | Path) -> list[TrackSpec]:
    """Read a tab-separated track list with a header line.

    Parameters
    ----------
    path : str or Path
        Columns ``name`` and ``file`` are required; ``summary`` (sum|mean, default sum),
        ``transform`` (none|log1p|sqrt, default none), ``clip`` (number, empty for none) and
        ``scale`` (number, default 1) are optional. Relative file paths are relative to the
        list's folder. Blank lines and lines starting with ``#`` after the header are skipped.
        UTF-8 (a byte-order mark and Windows line ends are fine), plain or gzipped.

    Returns
    -------
    list of TrackSpec, in file order

    Raises
    ------
    InputFileError
        Naming the file and line: a missing, unknown or repeated column, a wrong number of
        fields, a bad value, a duplicate name, a bigWig that does not exist or is not a
        bigWig, or a line that is not UTF-8 text.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such track list")
    header: list[str] | None = None
    specs: list[TrackSpec] = []
    seen: dict[str, int] = {}
    for number, line in text_lines(path, "track list"):
        where = f"{path}:{number}"
        if header is None:
            if line.strip():
                header = _checked_header(line, where)
            continue
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) != len(header):
            raise InputFileError(f"{where}: expected {len(header)} tab-separated fields like "
                                 f"the header; found {len(fields)}")
        spec = _track_from_row(dict(zip(header, fields, strict=True)), path.parent, where)
        if spec.name in seen:
            raise InputFileError(f"{where}: track name '{spec.name}' already used on line "
                                 f"{seen[spec.name]}")
        seen[spec.name] = number
        specs.append(spec)
    if header is None:
        raise InputFileError(f"{path}: empty track list; expected a header line 'name\\tfile'")
    if not specs:
        raise InputFileError(f"{path}: no tracks listed below the header")
    return specs
