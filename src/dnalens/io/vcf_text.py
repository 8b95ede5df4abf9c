"""VCF as text: the header lines and the columns of each record, read line by line.

Why not ``pysam.VariantFile`` (htslib)? htslib cannot open a VCF compressed with plain gzip
(it wants bgzip, to seek), aborts the whole file on one malformed record ("truncated file",
naming neither file nor line), and exits the process when a record that uses a contig or an
INFO key missing from the header is written out. The eight fixed columns of a VCF are simple
text, so dnalens reads them itself: through Python's :mod:`gzip`, which reads plain gzip and
bgzip alike (bgzip is a series of gzip members), with exact 1-based line numbers, and with
every fault of one record turned into a :class:`VcfFault` that the caller counts and skips.
Faults of the file as a whole (no header, corrupt or truncated compression) raise
:class:`~dnalens.errors.InputFileError` naming the file.

Writing uses the same text: :class:`HeaderBuilder` notes what the records use and adds the
``##contig``, ``##INFO``, ``##FILTER`` and ``##FORMAT`` lines the input header lacks, so the
output is a valid VCF; :func:`write_vcf_text` writes it atomically, bgzipped for ``.gz``.
"""

from __future__ import annotations

import gzip
import re
import shutil
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dnalens.errors import InputFileError
from dnalens.files import write_atomic

__all__ = ["FIXED_COLUMNS", "HeaderBuilder", "VcfFault", "VcfLine", "VcfText",
           "quoted", "write_vcf_text"]

FIXED_COLUMNS = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
_GZIP_MAGIC = b"\x1f\x8b"
# VCF 4.3 section 1.4.7: contig names; INFO / FORMAT keys (section 1.6.1).
_CONTIG = re.compile(r"[0-9A-Za-z!#$%&+./:;?@^_|~-][0-9A-Za-z!#$%&*+./:;=?@^_|~-]*")
_KEY = re.compile(r"[A-Za-z_][0-9A-Za-z_.]*|1000G")
_POS = re.compile(r"-?[0-9]+")
_QUAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|nan|NaN|Inf)")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SPACE = re.compile(r"\s")
_DEFINED = re.compile(r"##(INFO|FORMAT|FILTER|contig)=<(.*)>\s*$")
_ID = re.compile(r"(?:^|,)ID=([^,>]+)")
_INTEGERS = re.compile(r"-?[0-9]+(,-?[0-9]+)*")
_ADDED = "Not defined in the input header; added by dnalens"


def quoted(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


@dataclass(frozen=True)
class VcfLine:
    """One well-formed record: its columns as text (``alts`` is () for ALT ``.``)."""

    line: int  # 1-based, in the uncompressed file
    chrom: str
    pos: int  # 1-based VCF POS, >= 1
    id: str
    ref: str
    alts: tuple[str, ...]
    qual: str
    filter: str
    info: str
    rest: tuple[str, ...]  # FORMAT and the sample columns

    @property
    def fields(self) -> list[str]:
        """The record's columns, as written."""
        alt = ",".join(self.alts) or "."
        return [self.chrom, str(self.pos), self.id, self.ref, alt, self.qual, self.filter,
                self.info, *self.rest]


@dataclass(frozen=True)
class VcfFault:
    """A record that cannot be read: ``reason`` is ``malformed_record`` or
    ``invalid_position``; ``message`` is one line starting ``file:line:``."""

    line: int
    reason: str
    message: str
    chrom: str = ""
    pos: int = 0


def _open_binary(path: Path) -> IO[bytes]:
    with open(path, "rb") as raw:
        magic = raw.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else open(path, "rb")


class VcfText:
    """A VCF file read as text: ``meta`` (the ``##`` lines), ``columns`` (the ``#CHROM``
    line) and :meth:`records`.

    Parameters
    ----------
    path : Path
        Plain, gzip or bgzip VCF.

    Raises
    ------
    InputFileError
        Not a VCF (no ``#CHROM`` header line before the records), or unreadable.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.meta: list[str] = []
        self.columns: list[str] = []
        self.header_lines = 0  # lines up to and including #CHROM
        self._read_header()

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        """(1-based number, line without its end) of the uncompressed file."""
        number = 0
        try:
            with _open_binary(self.path) as handle:
                for number, raw in enumerate(handle, 1):
                    yield number, raw.rstrip(b"\r\n")
        except (EOFError, OSError, zlib.error) as err:
            raise InputFileError(
                f"{self.path}: the compressed data is corrupt or cut short after line "
                f"{number:,} ({err}); recompress the VCF with bgzip") from None

    def _read_header(self) -> None:
        for number, raw in self._lines():
            if not raw.strip():
                continue  # blank lines are not VCF, but they hide nothing
            text = self._header_text(number, raw)
            if text.startswith("##"):
                self.meta.append(text)
                continue
            if text.startswith("#CHROM"):
                self._read_columns(number, text)
                return
            raise InputFileError(
                f"{self.path}:{number}: cannot be read as a VCF: expected '##' header lines "
                f"and then the '#CHROM POS ID REF ALT QUAL FILTER INFO' line, found "
                f"{quoted(text)}")
        found = f"{len(self.meta):,} '##' lines and no" if self.meta else "no"
        raise InputFileError(f"{self.path}: cannot be read as a VCF: {found} '#CHROM POS ID "
                             "REF ALT QUAL FILTER INFO' header line")

    def _header_text(self, number: int, raw: bytes) -> str:
        if raw.startswith(b"BCF\x02"):
            raise InputFileError(f"{self.path}: is a BCF (binary) file; convert it with "
                                 "'bcftools view -Oz' to a VCF")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InputFileError(
                f"{self.path}:{number}: cannot be read as a VCF: header line is not UTF-8 "
                f"text (byte 0x{raw[err.start]:02x} at column {err.start + 1})") from None

    def _read_columns(self, number: int, text: str) -> None:
        columns = text.split("\t")
        if tuple(columns[:8]) != FIXED_COLUMNS or (len(columns) > 8 and
                                                    columns[8] != "FORMAT"):
            raise InputFileError(
                f"{self.path}:{number}: expected the tab-separated column line "
                f"'{' '.join(FIXED_COLUMNS)} [FORMAT samples...]', found {quoted(text, 60)}")
        self.columns, self.header_lines = columns, number

    def records(self) -> Iterator[VcfLine | VcfFault]:
        """Every record after the header, in order: a :class:`VcfLine`, or a
        :class:`VcfFault` for one that cannot be read. Blank lines are passed over."""
        for number, raw in self._lines():
            if number <= self.header_lines or not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                yield self._fault(number, f"not UTF-8 text (byte 0x{raw[err.start]:02x} at "
                                          f"column {err.start + 1})")
                continue
            yield self._parse(number, text)

    def _fault(self, number: int, what: str, reason: str = "malformed_record",
               chrom: str = "", pos: int = 0) -> VcfFault:
        return VcfFault(number, reason, f"{self.path}:{number}: {what}; record skipped",
                        chrom, pos)

    def _parse(self, number: int, text: str) -> VcfLine | VcfFault:
        fields = text.split("\t")
        n = len(self.columns)
        if len(fields) != n:
            hint = " (separated by spaces, not tabs?)" if len(fields) < 8 and " " in text else ""
            return self._fault(number, f"expected {n} tab-separated columns as in the #CHROM "
                                       f"line, found {len(fields)}{hint}")
        if _CONTROL.search(text):
            return self._fault(number, "holds a control character")
        chrom, pos, vid, ref, alt, qual, filt, info = fields[:8]
        problem = _column_problem(chrom, pos, vid, ref, alt, qual, filt, info, fields[8:])
        if problem is not None:
            return self._fault(number, problem, chrom=chrom)
        position = int(pos)
        if position < 1:
            return self._fault(number, f"POS {position} is not a position: VCF POS is "
                                       "1-based (the first base is 1)", "invalid_position",
                               chrom, position)
        alts = () if alt == "." else tuple(alt.split(","))
        return VcfLine(number, chrom, position, vid, ref, alts, qual, filt, info,
                       tuple(fields[8:]))


def _column_problem(chrom: str, pos: str, vid: str, ref: str, alt: str, qual: str,
                    filt: str, info: str, rest: list[str]) -> str | None:
    """What is wrong with a record's columns, or None."""
    if not _CONTIG.fullmatch(chrom):
        return f"CHROM {quoted(chrom)} is not a contig name VCF allows"
    if not _POS.fullmatch(pos):
        return f"POS must be a whole number, found {quoted(pos)}"
    for name, value in (("ID", vid), ("REF", ref), ("ALT", alt), ("FILTER", filt)):
        if not value or _SPACE.search(value):
            return f"{name} {quoted(value)} is empty or holds white space (write '.' for none)"
    if "" in alt.split(","):
        return f"ALT {quoted(alt)} has an empty allele"
    if qual != "." and not _QUAL.fullmatch(qual):
        return f"QUAL must be a number or '.', found {quoted(qual)}"
    if info != ".":
        for entry in info.split(";"):
            if not _KEY.fullmatch(entry.split("=", 1)[0]):
                return f"INFO entry {quoted(entry)} is not KEY or KEY=VALUE"
    if rest and not all(_KEY.fullmatch(key) for key in rest[0].split(":")):
        return f"FORMAT {quoted(rest[0])} is not a list of keys"
    return None


class HeaderBuilder:
    """The output header: the input's ``##`` lines plus the definitions its records need.

    Call :meth:`note` with every record written, then :meth:`lines` for the header.
    """

    def __init__(self, meta: list[str]) -> None:
        self.meta = list(meta)
        self.defined: dict[str, set[str]] = {"INFO": set(), "FORMAT": set(),
                                             "FILTER": {"PASS"}, "contig": set()}
        for line in self.meta:
            match = _DEFINED.match(line)
            found = _ID.search(match.group(2)) if match else None
            if found:
                self.defined[match.group(1)].add(found.group(1))
        # Missing keys, in the order first seen: INFO key -> [has values, all integers].
        self.info: dict[str, list[bool]] = {}
        self.contigs: dict[str, None] = {}
        self.filters: dict[str, None] = {}
        self.formats: dict[str, None] = {}

    def define(self, line: str) -> None:
        """Add a definition line (e.g. the INFO field a tool writes) unless its ID exists."""
        match = _DEFINED.match(line)
        found = _ID.search(match.group(2)) if match else None
        if found is None or found.group(1) not in self.defined[match.group(1)]:
            self.meta.append(line)
            if found is not None:
                self.defined[match.group(1)].add(found.group(1))

    def note(self, chrom: str, filt: str, info: str, format_: str = "") -> None:
        """Record what one written record uses."""
        if chrom not in self.defined["contig"]:
            self.contigs[chrom] = None
        if filt != ".":
            for name in filt.split(";"):
                if name not in self.defined["FILTER"]:
                    self.filters[name] = None
        if info != ".":
            for entry in info.split(";"):
                key, _, value = entry.partition("=")
                if key not in self.defined["INFO"]:
                    seen = self.info.setdefault(key, [False, True])
                    seen[0] = seen[0] or "=" in entry
                    seen[1] = seen[1] and ("=" not in entry or bool(_INTEGERS.fullmatch(value)))
        for key in format_.split(":") if format_ else ():
            if key not in self.defined["FORMAT"]:
                self.formats[key] = None

    def lines(self, contig_length: Callable[[str], int | None] = lambda name: None
              ) -> list[str]:
        """``##`` lines: ``##fileformat`` first, the input's, then the missing ones."""
        meta = [m for m in self.meta if not m.startswith("##fileformat=")]
        fileformat = next((m for m in self.meta if m.startswith("##fileformat=")),
                          "##fileformat=VCFv4.2")
        added = []
        for chrom in self.contigs:
            length = contig_length(chrom)
            added.append(f"##contig=<ID={chrom}" + (f",length={length}>" if length else ">"))
        for key, (valued, integers) in self.info.items():
            number, kind = ("0", "Flag") if not valued else (
                ("1" if key == "END" else ".", "Integer") if integers else (".", "String"))
            added.append(f'##INFO=<ID={key},Number={number},Type={kind},'
                         f'Description="{_ADDED}">')
        added += [f'##FILTER=<ID={name},Description="{_ADDED}">' for name in self.filters]
        added += [f'##FORMAT=<ID={key},Number={"1" if key == "GT" else "."},Type=String,'
                  f'Description="{_ADDED}">' for key in self.formats]
        return [fileformat, *meta, *added]


def write_vcf_text(path: str | Path, header: list[str], body: IO[str]) -> Path:
    """Write ``header`` lines, then the text of ``body`` (read from its start), atomically;
    bgzip-compressed when ``path`` ends in ``.gz``."""
    path = Path(path)
    head = "".join(line + "\n" for line in header)

    def write(tmp: Path) -> None:
        body.seek(0)
        if path.name.endswith(".gz"):
            import pysam

            with pysam.BGZFile(str(tmp), "wb") as out:
                out.write(head.encode())
                while chunk := body.read(1 << 20):
                    out.write(chunk.encode())
        else:
            with open(tmp, "w", encoding="utf-8", newline="\n") as out:
                out.write(head)
                shutil.copyfileobj(body, out)

    return write_atomic(path, write)
