"""Check FASTA text before htslib indexes it, in one fast pass over the bytes.

htslib's ``faidx`` accepts any byte in a sequence, keeps only the first of two
records with one name, drops empty records, and on the faults it does see prints
``[E::fai_build_core]`` lines that name neither the fault nor, usefully, the line.
:func:`check_fasta` reads the file once (plain or bgzip) in large chunks and turns
each fault into one ``genome.fa:LINE: ...`` error. The work per chunk is numpy on
whole arrays and ``bytes.translate`` on whole record stretches, never a Python loop
per base or per sequence line; the Python loop runs once per record.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnalens.alphabet import IS_IUPAC_BYTE, IUPAC_BYTES, IUPAC_DNA, describe_byte
from dnalens.errors import FastaError

__all__ = ["EXPECTED_LETTERS", "FastaRecordInfo", "check_fasta"]

CHUNK_BYTES = 1 << 24
EXPECTED_LETTERS = f"IUPAC DNA letters ({IUPAC_DNA}, any case)"
_NEWLINE, _CR, _HEADER = 10, 13, 62
_SEQUENCE_OR_NEWLINE = IUPAC_BYTES + b"\n"
_REWRAP = "rewrap it to one line width, e.g. `seqkit seq -w 60 {path} > rewrapped.fa`"


@dataclass(frozen=True)
class FastaRecordInfo:
    """One record as the check saw it.

    Attributes
    ----------
    name : str
        The header up to the first space or tab.
    line : int
        1-based line of its ``>`` header.
    length : int
        Number of bases.
    """

    name: str
    line: int
    length: int


def check_fasta(path: str | Path) -> list[FastaRecordInfo]:
    """Validate a FASTA file (plain or bgzip) and list its records.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list of FastaRecordInfo, in file order

    Raises
    ------
    FastaError
        ``genome.fa:LINE: ...`` for text before the first header, a header with no
        name, a duplicate name, a record with no bases, a character that is not an
        IUPAC letter, a blank line inside a record or lines of unequal length
        within a record (which indexed access cannot read); ``genome.fa: ...`` for
        an empty file or corrupt compression.
    """
    path = Path(path)
    scanner = _Scanner(path)
    try:
        for chunk in _line_chunks(path):
            scanner.feed(chunk)
    except (OSError, EOFError, zlib.error) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise FastaError(f"{path}: cannot read the compressed FASTA ({err})") from None
    return scanner.finish()


def _line_chunks(path: Path):
    """Blocks of whole lines, each ending in a newline (one is added at the end if missing)."""
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if compressed else open
    with opener(path, "rb") as handle:
        parts: list[bytes] = []  # a line longer than a block (unwrapped genomes) spans several
        while block := handle.read(CHUNK_BYTES):
            cut = block.rfind(b"\n") + 1
            if not cut:
                parts.append(block)
                continue
            yield b"".join([*parts, block[:cut]])
            parts = [block[cut:]]
        if any(parts):
            yield b"".join([*parts, b"\n"])


@dataclass
class _Record:
    name: str
    line: int
    length: int = 0
    width: int = 0  # bases per line, from the record's first line
    width_line: int = 0
    pending: tuple[str, int, int] | None = None  # ("short"|"blank", line, length)


class _Scanner:
    """Carries the current record across chunks; one feed() per chunk of whole lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.next_line = 1  # line number of the next chunk's first line
        self.records: list[FastaRecordInfo] = []
        self.first_line_of: dict[str, int] = {}
        self.current: _Record | None = None

    def fail(self, line: int, what: str) -> FastaError:
        return FastaError(f"{self.path}:{line}: {what}")

    def feed(self, chunk: bytes) -> None:
        arr = np.frombuffer(chunk, dtype=np.uint8)
        ends = np.flatnonzero(arr == _NEWLINE)
        starts = np.empty_like(ends)
        starts[0], starts[1:] = 0, ends[:-1] + 1
        has_cr = (ends > starts) & (arr[np.maximum(ends - 1, 0)] == _CR)
        lengths = ends - starts - has_cr  # CRLF files are read as htslib reads them
        headers = np.flatnonzero((lengths > 0) & (arr[starts] == _HEADER))
        lines = _Lines(chunk, starts, ends, lengths, has_cr, self.next_line)
        previous = 0
        for h in headers.tolist():
            self.sequence_lines(lines, previous, h)
            self.header(chunk[starts[h] + 1 : starts[h] + lengths[h]], lines.number(h))
            previous = h + 1
        self.sequence_lines(lines, previous, len(ends))
        self.next_line += len(ends)

    def header(self, text: bytes, line: int) -> None:
        self.close_record()
        name = re.split(rb"[ \t]", text, maxsplit=1)[0].decode("utf-8", errors="replace")
        if not name:
            raise self.fail(line, "header line has no name; expected '>name'")
        if name in self.first_line_of:
            raise self.fail(line, f"duplicate record name '{name}' (first at line "
                                  f"{self.first_line_of[name]}); names must be unique")
        self.first_line_of[name] = line
        self.current = _Record(name, line)

    def close_record(self) -> None:
        record = self.current
        if record is None:
            return
        if record.length == 0:
            raise self.fail(record.line, f"record '{record.name}' has no sequence; expected "
                                         "lines of bases after its header")
        self.records.append(FastaRecordInfo(record.name, record.line, record.length))

    def finish(self) -> list[FastaRecordInfo]:
        self.close_record()
        if not self.records:
            raise FastaError(f"{self.path}: no FASTA records (empty file); expected '>name' "
                             "lines, each followed by lines of bases")
        return self.records

    def sequence_lines(self, lines: _Lines, lo: int, hi: int) -> None:
        """Lines lo..hi-1 of the chunk, all between two headers (or a chunk's edge)."""
        if hi <= lo:
            return
        lengths = lines.lengths[lo:hi]
        filled = np.flatnonzero(lengths > 0)
        if self.current is None:
            if filled.size:  # blank lines before the first header are fine (htslib skips them)
                i = lo + int(filled[0])
                raise self.fail(lines.number(i), "expected a '>name' header line; found "
                                                 + _show(lines.text(i)))
            return
        record = self.current
        if filled.size == 0:
            if record.pending is None:
                record.pending = ("blank", lines.number(lo), 0)
            return
        self.check_letters(lines, lo, hi)
        last = int(filled[-1])
        if record.pending is not None:
            self.raise_pending(record)
        inner_blank = np.flatnonzero(lengths[:last] == 0)
        if inner_blank.size:
            raise self.fail(lines.number(lo + int(inner_blank[0])),
                            f"blank line inside record '{record.name}'; remove it")
        self.check_widths(lines, lo, lengths[: last + 1])
        if last + 1 < len(lengths) and record.pending is None:
            record.pending = ("blank", lines.number(lo + last + 1), 0)
        record.length += int(lengths[: last + 1].sum())

    def check_widths(self, lines: _Lines, lo: int, lengths: np.ndarray) -> None:
        """Every line of a record but its last holds ``width`` bases; the last holds at most."""
        record = self.current
        if record.width == 0:
            record.width, record.width_line = int(lengths[0]), lines.number(lo)
        off = np.flatnonzero(lengths[:-1] != record.width)
        if off.size:
            self.raise_width(lines.number(lo + int(off[0])), int(lengths[off[0]]))
        tail = int(lengths[-1])
        if tail > record.width:
            self.raise_width(lines.number(lo + len(lengths) - 1), tail)
        if tail < record.width:
            # Fine if the record ends here; a fault if another line of bases follows.
            record.pending = ("short", lines.number(lo + len(lengths) - 1), tail)

    def raise_pending(self, record: _Record) -> None:
        kind, line, length = record.pending
        if kind == "blank":
            raise self.fail(line, f"blank line inside record '{record.name}'; remove it")
        self.raise_width(line, length)

    def raise_width(self, line: int, length: int) -> None:
        record = self.current
        raise self.fail(line, (
            f"line of {length} bases in record '{record.name}', whose lines hold "
            f"{record.width} (line {record.width_line}); all lines of a record but its last "
            f"must be equally long for indexed access; {_REWRAP.format(path=self.path.name)}"))

    def check_letters(self, lines: _Lines, lo: int, hi: int) -> None:
        """Only IUPAC letters (and CR before a newline) between the record's line starts."""
        stretch = lines.chunk[lines.starts[lo] : lines.ends[hi - 1] + 1]
        rest = stretch.translate(None, _SEQUENCE_OR_NEWLINE)
        if not rest or (rest.count(b"\r") == len(rest) == int(lines.has_cr[lo:hi].sum())):
            return
        for i in range(lo, hi):  # only on the error path: find the line at fault
            text = lines.chunk[lines.starts[i] : lines.starts[i] + lines.lengths[i]]
            row = np.frombuffer(text, dtype=np.uint8)
            bad = np.flatnonzero(~IS_IUPAC_BYTE[row])
            if bad.size:
                column = int(bad[0])
                raise self.fail(lines.number(i), (
                    f"invalid character {describe_byte(int(row[column]))} at column "
                    f"{column + 1} in record "
                    f"'{self.current.name}'; expected {EXPECTED_LETTERS}"))


@dataclass
class _Lines:
    """The lines of one chunk: byte offsets, base counts, and their numbers in the file."""

    chunk: bytes
    starts: np.ndarray
    ends: np.ndarray  # offset of each line's newline
    lengths: np.ndarray  # bytes before the newline, less a CR
    has_cr: np.ndarray
    first: int

    def number(self, i: int) -> int:
        return self.first + int(i)

    def text(self, i: int) -> bytes:
        return self.chunk[self.starts[i] : self.starts[i] + self.lengths[i]]


def _show(text: bytes, limit: int = 30) -> str:
    """A line's start as a message quotes it, or 'binary data' for bytes no text has."""
    head = text[:limit]
    if any((b < 32 and b not in (9,)) or b > 126 for b in head):
        return f"binary data ({head[:12]!r})"
    shown = head.decode("ascii")
    return repr(shown + ("..." if len(text) > limit else ""))


def fai_location(fai: Path, chrom: str, pos: int) -> tuple[int, int] | None:
    """Line and column (1-based) of base ``pos`` of ``chrom``, worked out from a ``.fai``.

    Exact for files without blank lines (each record: a header, then full lines of
    ``linebases`` bases); None when the index cannot be read or lacks ``chrom``.
    """
    line = 1
    try:
        rows = [row.split("\t") for row in fai.read_text().splitlines() if row]
        for name, length, _offset, linebases, *_ in rows:
            per_line = max(int(linebases), 1)
            if name == chrom:
                return line + 1 + pos // per_line, pos % per_line + 1
            line += 1 + -(-int(length) // per_line)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return None
