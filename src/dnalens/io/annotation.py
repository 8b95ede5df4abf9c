"""Gene annotation for splicing: transcripts with their exons, from a SpliceAI-style gene table
or a GTF/GFF file.

Coordinates are 0-based half-open throughout: a transcript spans ``[tx_start, tx_end)`` and
exon ``k`` spans ``[exon_starts[k], exon_ends[k])``. The SpliceAI table (columns ``#NAME CHROM
STRAND TX_START TX_END EXON_START EXON_END``, exon lists ending in a comma) already uses these
numbers (its starts are 0-based and its ends 1-based, i.e. exclusive).

Splice sites, in transcript orientation: the **acceptor** of an exon is its first base, the
**donor** its last; the transcript's first exon has no acceptor and its last no donor. On the
minus strand the first base of an exon in transcript orientation is ``exon_end - 1``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnalens.errors import InputFileError
from dnalens.io.checked_text import strict_int, text_lines
from dnalens.io.contigs import bare_name

__all__ = ["GeneTable", "Transcript", "read_annotation", "read_gene_table", "read_gtf",
           "spliceai_gene_table"]

_TABLE_COLUMNS = ["#NAME", "CHROM", "STRAND", "TX_START", "TX_END", "EXON_START", "EXON_END"]


@dataclass(frozen=True)
class Transcript:
    """One transcript (SpliceAI uses one canonical transcript per gene)."""

    name: str
    chrom: str
    strand: str  # "+" or "-"
    tx_start: int
    tx_end: int
    exon_starts: np.ndarray  # int64, sorted
    exon_ends: np.ndarray

    @property
    def acceptors(self) -> np.ndarray:
        """0-based positions of the acceptor sites (first exon base, transcript order)."""
        if self.strand == "+":
            return self.exon_starts[1:]
        return self.exon_ends[:-1] - 1

    @property
    def donors(self) -> np.ndarray:
        """0-based positions of the donor sites (last exon base, transcript order)."""
        if self.strand == "+":
            return self.exon_ends[:-1] - 1
        return self.exon_starts[1:]


class GeneTable:
    """Transcripts, with lookup of those that contain a position.

    Parameters
    ----------
    transcripts : list of Transcript
    source : str
        The file they came from, for messages.
    """

    def __init__(self, transcripts: list[Transcript], source: str) -> None:
        self.transcripts = transcripts
        self.source = source
        self._by_chrom: dict[str, tuple[np.ndarray, np.ndarray, list[int]]] = {}
        for i, t in enumerate(transcripts):
            self._by_chrom.setdefault(bare_name(t.chrom), ([], [], []))[2].append(i)
        for chrom, (_, _, index) in list(self._by_chrom.items()):
            starts = np.array([transcripts[i].tx_start for i in index], dtype=np.int64)
            ends = np.array([transcripts[i].tx_end for i in index], dtype=np.int64)
            self._by_chrom[chrom] = (starts, ends, index)

    def __len__(self) -> int:
        return len(self.transcripts)

    def __iter__(self) -> Iterator[Transcript]:
        return iter(self.transcripts)

    def at(self, chrom: str, pos0: int) -> list[Transcript]:
        """Transcripts on ``chrom`` (``chr1`` and ``1`` are the same) containing ``pos0``,
        in table order."""
        found = self._by_chrom.get(bare_name(chrom))
        if found is None:
            return []
        starts, ends, index = found
        hits = np.flatnonzero((starts <= pos0) & (pos0 < ends))
        return [self.transcripts[index[k]] for k in hits]


def _int_list(text: str, where: str, column: str) -> np.ndarray:
    values = [strict_int(x.strip()) for x in text.strip().split(",") if x.strip() != ""]
    if any(v is None or v < 0 for v in values):
        raise InputFileError(f"{where}: {column} must be a comma-separated list of integers "
                             f">= 0; got {text[:60]!r}")
    return np.array(values, dtype=np.int64)


def _table_int(text: str, where: str, column: str) -> int:
    value = strict_int(text.strip())
    if value is None or value < 0:
        raise InputFileError(f"{where}: {column} must be an integer >= 0; got {text[:40]!r}")
    return value


def read_gene_table(path: str | Path) -> GeneTable:
    """Read a SpliceAI gene table (``annotations/grch38.txt`` format).

    Raises
    ------
    InputFileError
        Missing file, wrong header, or a malformed row (``file:line: ...``).
    """
    path = Path(path)
    transcripts = []
    number = 0
    for number, line in text_lines(path, "gene table"):
        if number == 1:
            _check_table_header(line, path)
            continue
        if not line.strip():
            continue
        where = f"{path}:{number}"
        fields = line.split("\t")
        if len(fields) < len(_TABLE_COLUMNS):
            raise InputFileError(f"{where}: expected {len(_TABLE_COLUMNS)} tab-separated "
                                 f"columns; got {len(fields)}")
        name, chrom, strand = fields[:3]
        if strand not in ("+", "-"):
            raise InputFileError(f"{where}: STRAND must be + or -; got {strand!r}")
        tx_start = _table_int(fields[3], where, "TX_START")
        tx_end = _table_int(fields[4], where, "TX_END")
        starts = _int_list(fields[5], where, "EXON_START")
        ends = _int_list(fields[6], where, "EXON_END")
        transcripts.append(_checked(name, chrom, strand, tx_start, tx_end, starts, ends, where))
    if number == 0:
        raise InputFileError(f"{path}: empty file; expected the SpliceAI gene table header "
                             f"{' '.join(_TABLE_COLUMNS)}")
    if not transcripts:
        raise InputFileError(f"{path}: the gene table holds no transcripts")
    return GeneTable(transcripts, str(path))


def _check_table_header(line: str, path: Path) -> None:
    header = line.split("\t")
    if header[: len(_TABLE_COLUMNS)] != _TABLE_COLUMNS:
        found = " ".join(header)[:80] if line.strip() else "an empty line"
        raise InputFileError(f"{path}:1: expected the SpliceAI gene table header "
                             f"{' '.join(_TABLE_COLUMNS)}; got {found}")


def _checked(name: str, chrom: str, strand: str, tx_start: int, tx_end: int,
             starts: np.ndarray, ends: np.ndarray, where: str) -> Transcript:
    if len(starts) != len(ends) or len(starts) == 0:
        raise InputFileError(f"{where}: {name}: {len(starts)} exon starts but {len(ends)} "
                             "exon ends")
    order = np.argsort(starts)
    starts, ends = starts[order], ends[order]
    if (ends <= starts).any() or (starts[1:] < ends[:-1]).any():
        raise InputFileError(f"{where}: {name}: exons must be non-empty and must not overlap")
    if starts[0] < tx_start or ends[-1] > tx_end or tx_start >= tx_end:
        raise InputFileError(f"{where}: {name}: exons must lie inside the transcript "
                             f"[{tx_start}, {tx_end})")
    return Transcript(name, chrom, strand, tx_start, tx_end, starts, ends)


def _attributes(text: str) -> dict[str, str]:
    """GTF (``key "value";``) or GFF3 (``key=value;``) attributes; a repeated key keeps the
    values joined by commas (as GFF3 writes lists)."""
    attrs: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, _, value = part.partition("=") if "=" in part.split(" ", 1)[0] else \
            part.partition(" ")
        value = value.strip().strip('"')
        attrs[key] = f"{attrs[key]},{value}" if key in attrs else value
    return attrs


def read_gtf(path: str | Path, *, transcripts: str = "canonical") -> GeneTable:
    """Read exons from a GTF or GFF3 file into one transcript per gene (or all).

    Parameters
    ----------
    path : GTF/GFF3, plain or gzipped
    transcripts : {"canonical", "all"}
        ``"canonical"``: per gene, the transcript tagged ``Ensembl_canonical`` (GENCODE >= 38),
        else ``MANE_Select``, else the one with the most exonic bases (SpliceAI used one
        canonical transcript per gene). ``"all"``: every transcript.

    Raises
    ------
    InputFileError
        Naming the file and line: not 9 tab-separated columns, a start or end that is not a
        whole number, ``start < 1`` or ``end < start`` (GTF is 1-based, inclusive), an exon
        strand other than + or -, an exon without a transcript, exons of one transcript on
        different strands or overlapping; also no exon lines at all. One transcript id on two
        chromosomes (X/Y pseudo-autosomal copies) gives two transcripts.
    """
    path = Path(path)
    if transcripts not in ("canonical", "all"):
        raise InputFileError(f"read_gtf: transcripts must be 'canonical' or 'all'; got "
                             f"{transcripts!r}")
    exons: dict[tuple[str, str], dict] = {}
    for number, line in text_lines(path, "GTF/GFF file"):
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        where = f"{path}:{number}"
        if len(fields) != 9:
            raise InputFileError(f"{where}: expected 9 tab-separated GTF/GFF columns; got "
                                 f"{len(fields)}")
        if fields[2] == "exon":
            _add_exon(exons, fields, number, where)
    if not exons:
        raise InputFileError(f"{path}: no exon lines (column 3 'exon'); expected a GTF/GFF "
                             "file of gene annotations")
    chosen = exons.values() if transcripts == "all" else _canonical(exons)
    table = []
    for entry in chosen:
        _check_no_overlap(entry, path)
        starts, ends = np.array(entry["starts"]), np.array(entry["ends"])
        table.append(_checked(entry["gene"], entry["chrom"], entry["strand"],
                              int(starts.min()), int(ends.max()), starts, ends,
                              f"{path}:{entry['line']}"))
    return GeneTable(table, str(path))


def _gtf_position(text: str, column: str, where: str) -> int:
    value = strict_int(text)
    if value is None:
        raise InputFileError(f"{where}: {column} must be a whole number; got {text[:40]!r}")
    return value


def _add_exon(exons: dict[tuple[str, str], dict], fields: list[str], number: int,
              where: str) -> None:
    """Check one exon line and add it to its transcript's entry in ``exons``."""
    start = _gtf_position(fields[3], "start (column 4)", where)
    end = _gtf_position(fields[4], "end (column 5)", where)
    if start < 1:
        raise InputFileError(f"{where}: start ({start}) must be >= 1; GTF/GFF is 1-based, "
                             "inclusive")
    if end < start:
        raise InputFileError(f"{where}: end ({end}) must be >= start ({start}); GTF/GFF is "
                             "1-based, inclusive")
    chrom, strand = fields[0], fields[6]
    if strand not in ("+", "-"):
        raise InputFileError(f"{where}: strand (column 7) of an exon must be + or -; got "
                             f"{strand[:20]!r}")
    attrs = _attributes(fields[8])
    tx_id = attrs.get("transcript_id") or attrs.get("Parent", "").split(":")[-1]
    if not tx_id:
        raise InputFileError(f"{where}: exon without transcript_id/Parent")
    # One id on two chromosomes (X/Y pseudo-autosomal copies in RefSeq and older GENCODE
    # files) is two transcripts; merging them would mix coordinates of both.
    entry = exons.setdefault((tx_id, chrom), {
        "gene": attrs.get("gene_name") or attrs.get("gene_id") or tx_id,
        "chrom": chrom, "strand": strand, "starts": [], "ends": [], "lines": [],
        "tags": set(), "line": number})
    if strand != entry["strand"]:
        raise InputFileError(
            f"{where}: exon of transcript {tx_id!r} is on strand {strand} but its exon on "
            f"line {entry['line']} is on strand {entry['strand']}")
    entry["starts"].append(start - 1)  # 1-based inclusive -> 0-based half-open, once
    entry["ends"].append(end)
    entry["lines"].append(number)
    entry["tags"] |= set(attrs.get("tag", "").split(","))


def _check_no_overlap(entry: dict, path: Path) -> None:
    """Name the line of the first exon that overlaps another of its transcript."""
    exons = sorted(zip(entry["starts"], entry["ends"], entry["lines"], strict=True))
    for (_, end, line), (start, _, next_line) in itertools.pairwise(exons):
        if start < end:
            raise InputFileError(
                f"{path}:{max(line, next_line)}: exons of {entry['gene']!r} on lines "
                f"{min(line, next_line)} and {max(line, next_line)} overlap")


def _canonical(exons: dict[tuple[str, str], dict]) -> list[dict]:
    best: dict[tuple[str, str], tuple[tuple, dict]] = {}
    for entry in exons.values():
        length = sum(e - s for s, e in zip(entry["starts"], entry["ends"], strict=True))
        rank = ("Ensembl_canonical" in entry["tags"], "MANE_Select" in entry["tags"], length)
        key = (entry["gene"], entry["chrom"])
        if key not in best or rank > best[key][0]:
            best[key] = (rank, entry)
    return [entry for _, entry in best.values()]


def spliceai_gene_table(assembly: str) -> Path:
    """``annotations/grch37.txt`` or ``grch38.txt`` of the installed ``spliceai`` package,
    found without importing it (its import loads Keras).

    Raises
    ------
    InputFileError
        Unknown assembly, or the package (or its file) is missing.
    """
    import importlib.util

    if assembly not in ("grch37", "grch38"):
        raise InputFileError(f"annotation {assembly!r}: give grch37, grch38 or a file")
    spec = importlib.util.find_spec("spliceai")
    if spec is None or not spec.submodule_search_locations:
        raise InputFileError(f"--annotation {assembly} reads the gene table of the spliceai "
                             "package, which is not installed: pip install 'dnalens[splice]', "
                             "or give a gene table or GTF file")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "annotations" / f"{assembly}.txt"
        if path.is_file():
            return path
    raise InputFileError(f"the spliceai package has no annotations/{assembly}.txt")


def read_annotation(path: str | Path) -> GeneTable:
    """A gene table or GTF/GFF, told apart by the name (``.gtf``, ``.gff``, ``.gff3``, with
    ``.gz``) or else read as a SpliceAI gene table; ``grch37`` / ``grch38`` read the tables
    of the installed ``spliceai`` package (as its ``-A`` option does)."""
    if str(path) in ("grch37", "grch38"):
        return read_gene_table(spliceai_gene_table(str(path)))
    name = Path(path).name.lower().removesuffix(".gz")
    if name.endswith((".gtf", ".gff", ".gff3")):
        return read_gtf(path)
    return read_gene_table(path)
