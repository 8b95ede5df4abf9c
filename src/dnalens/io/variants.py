"""Read a VCF into normalised, genome-checked variant records, one ALT allele each.

This is the one place where VCF's 1-based ``POS`` becomes a 0-based start: a record's
``pos0`` is the 0-based, half-open start of its REF allele, so the REF spans
``[pos0, pos0 + len(ref))``.

Records are streamed, line by line (:mod:`dnalens.io.vcf_text`, which reads plain, gzip and
bgzip VCFs alike and says why it does not use htslib), so a VCF of millions of lines is never
held in memory. A record that cannot be scored is not an error: it is skipped, counted in
:class:`VcfSummary` under a reason, and its first few messages are kept as examples, each
``file:line: ...`` with the exact 1-based line of the uncompressed file. Reasons:

``malformed_record``
    The line is not a VCF record: too few or too many columns, POS not a number, an empty
    REF or ALT, a bad QUAL or INFO, bytes that are not UTF-8 text.
``invalid_position``
    POS is 0 or negative (VCF POS is 1-based).

``unknown_chromosome``
    The chromosome is not in the genome (after ``chr1`` <-> ``1`` renaming when allowed).
``ref_mismatch``
    REF differs from the genome; the message gives the expected (genome) and found (VCF) bases.
``symbolic_allele``
    ``<DEL>``, breakends (``N[chr2:5[``), ``*`` (overlapping deletion) or a missing ALT ``.``.
``invalid_allele``
    REF or ALT holds characters other than A, C, G, T, N.
``past_chromosome_end``
    REF runs past the end of its chromosome.

An empty VCF (a header and no records) is not an error either: the stream yields nothing
and ``summary.empty`` is True, which :meth:`VcfSummary.describe` states.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from dnalens.errors import ContigError, InputFileError
from dnalens.io.contigs import match_contigs
from dnalens.io.vcf_text import VcfFault, VcfLine, VcfText

if TYPE_CHECKING:
    from dnalens.io.genome import Genome

__all__ = [
    "SKIP_REASONS",
    "SkippedVariant",
    "VariantRecord",
    "VariantStream",
    "VcfSummary",
    "read_vcf",
]

log = logging.getLogger(__name__)

SKIP_REASONS = (
    "malformed_record",
    "invalid_position",
    "unknown_chromosome",
    "ref_mismatch",
    "symbolic_allele",
    "invalid_allele",
    "past_chromosome_end",
)
# Messages kept per skip reason; the counts are always complete.
_EXAMPLES_KEPT = 5
_BASES = re.compile(r"^[ACGTN]+$")


@dataclass(frozen=True)
class VariantRecord:
    """One ALT allele of one VCF record.

    Attributes
    ----------
    chrom : str
        Chromosome in the genome's naming (the VCF's when read without a genome).
    pos0 : int
        0-based start of REF (VCF ``POS - 1``).
    ref, alt : str
        Alleles, upper case, as written in the VCF (not trimmed).
    id : str
        The VCF ID, ``"."`` when missing.
    line : int
        1-based line of the record in the (uncompressed) VCF, for messages.
    qual, filter : str
        QUAL and FILTER as written (``"."`` when missing), carried to output VCFs.
    """

    chrom: str
    pos0: int
    ref: str
    alt: str
    id: str
    line: int
    qual: str = "."
    filter: str = "."

    @property
    def end(self) -> int:
        """0-based, exclusive end of REF."""
        return self.pos0 + len(self.ref)

    @property
    def pos(self) -> int:
        """1-based VCF position."""
        return self.pos0 + 1


@dataclass(frozen=True)
class SkippedVariant:
    """An allele that was not kept, with its reason (one of :data:`SKIP_REASONS`)."""

    line: int
    chrom: str
    pos: int
    ref: str
    alt: str
    reason: str
    message: str


@dataclass
class VcfSummary:
    """Counts of what :func:`read_vcf` read, kept and skipped; filled while streaming.

    Attributes
    ----------
    records : int
        VCF records (lines) read.
    alleles : int
        ALT alleles read (a multi-allelic record counts once per ALT).
    kept : int
        Alleles yielded.
    skipped : Counter
        Reason -> number of alleles skipped.
    examples : dict
        Reason -> the first few one-line messages ("file:line: ...").
    """

    source: str
    records: int = 0
    alleles: int = 0
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when the VCF held no records at all."""
        return self.records == 0

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def add_skip(self, skip: SkippedVariant) -> None:
        self.skipped[skip.reason] += 1
        kept = self.examples.setdefault(skip.reason, [])
        if len(kept) < _EXAMPLES_KEPT:
            kept.append(skip.message)

    def describe(self) -> str:
        """One line: records read, alleles kept, skips by reason."""
        if self.empty:
            return f"{self.source}: no variant records (header only)"
        parts = [f"{self.source}: {self.records:,} records, {self.alleles:,} ALT alleles, "
                 f"{self.kept:,} kept"]
        if self.skipped:
            reasons = ", ".join(f"{n:,} {r}" for r, n in sorted(self.skipped.items()))
            parts.append(f"{self.n_skipped:,} skipped ({reasons})")
        return "; ".join(parts)


def _is_symbolic(allele: str) -> bool:
    return allele in ("*", ".") or allele.startswith("<") or "[" in allele or "]" in allele


class VariantStream:
    """Iterable over the kept :class:`VariantRecord`\\ s of a VCF; see :func:`read_vcf`.

    ``summary`` is filled while iterating and complete once iteration ends. Iterating again
    re-reads the file and restarts the counts.
    """

    def __init__(self, path: Path, genome: Genome | None, *, rename_contigs: bool,
                 on_skip: Callable[[SkippedVariant], None] | None) -> None:
        self.path = path
        self.genome = genome
        self.rename_contigs = rename_contigs
        self.on_skip = on_skip
        self.summary = VcfSummary(str(path))
        self._contigs: dict[str, str | None] = {}
        self._contig_errors: dict[str, str] = {}
        # The header is read now, so a file that is not a VCF fails here, not at next().
        self._text = VcfText(path)

    @property
    def meta(self) -> list[str]:
        """The VCF's ``##`` header lines."""
        return self._text.meta

    def _genome_chrom(self, chrom: str) -> str | None:
        """The genome's name for ``chrom``, or None (with the reason kept) when it has none."""
        if chrom not in self._contigs:
            try:
                mapped = match_contigs([chrom], self.genome, source=str(self.path),
                                       rename=self.rename_contigs)
                self._contigs[chrom] = mapped[chrom]
            except ContigError as err:
                self._contigs[chrom] = None
                # match_contigs prefixes the source; the skip message adds file:line itself.
                self._contig_errors[chrom] = str(err).removeprefix(f"{self.path}: ")
        return self._contigs[chrom]

    def _check(self, chrom: str, pos0: int, ref: str, alt: str, line: int
               ) -> tuple[str, str] | None:
        """(reason, message) when the allele cannot be kept, else None."""
        where = f"{self.path}:{line}: {chrom}:{pos0 + 1} {ref}>{alt}"
        if _is_symbolic(alt):
            return "symbolic_allele", f"{where}: symbolic or breakend ALT '{alt}' is not scored"
        if not _BASES.match(ref) or not _BASES.match(alt):
            return "invalid_allele", f"{where}: alleles must be A, C, G, T or N"
        if alt.upper() == ref.upper():
            return "invalid_allele", f"{where}: ALT equals REF; nothing to score"
        if self.genome is None:
            return None
        if self._contigs.get(chrom) is None:
            return "unknown_chromosome", f"{self.path}:{line}: {self._contig_errors[chrom]}"
        genome_chrom = self._contigs[chrom]
        size = self.genome.chrom_sizes[genome_chrom]
        if pos0 + len(ref) > size:
            return ("past_chromosome_end",
                    f"{where}: REF ends at {pos0 + len(ref):,}, past the end of "
                    f"{genome_chrom} ({size:,} bp in {self.genome.path.name})")
        found = self.genome.fetch(genome_chrom, pos0, pos0 + len(ref))
        if any(v != g and v != "N" for v, g in zip(ref, found, strict=True)):
            return ("ref_mismatch",
                    f"{where}: REF expected '{found}' (from {self.genome.path.name}), "
                    f"found '{ref}' in the VCF; wrong genome build?")
        return None

    def __iter__(self) -> Iterator[VariantRecord]:
        self.summary = VcfSummary(str(self.path))
        for item in self._text.records():
            self.summary.records += 1
            if isinstance(item, VcfFault):
                self._skip(SkippedVariant(item.line, item.chrom, item.pos, "", "", item.reason,
                                          item.message))
                continue
            yield from self._alleles(item)
        if self.summary.empty:
            log.warning("%s", self.summary.describe())

    def _skip(self, skip: SkippedVariant) -> None:
        self.summary.add_skip(skip)
        if self.on_skip is not None:
            self.on_skip(skip)

    def _alleles(self, rec: VcfLine) -> Iterator[VariantRecord]:
        """The kept ALT alleles of one record; the others are counted as skipped."""
        ref = rec.ref.upper()
        pos0 = rec.pos - 1  # VCF POS is 1-based; the API is 0-based from here on
        chrom = rec.chrom
        if self.genome is not None:
            chrom = self._genome_chrom(rec.chrom) or rec.chrom
        for raw_alt in rec.alts or (".",):
            # Breakends keep their case (they name contigs); bases are upper-cased.
            alt = raw_alt if _is_symbolic(raw_alt) else raw_alt.upper()
            self.summary.alleles += 1
            problem = self._check(rec.chrom, pos0, ref, alt, rec.line)
            if problem is not None:
                self._skip(SkippedVariant(rec.line, rec.chrom, rec.pos, ref, alt, *problem))
                continue
            self.summary.kept += 1
            yield VariantRecord(chrom, pos0, ref, alt, rec.id, rec.line, rec.qual, rec.filter)

    def to_frame(self) -> pd.DataFrame:
        """All kept records as a DataFrame (chrom, pos0, ref, alt, id, line): small VCFs only."""
        columns = ["chrom", "pos0", "ref", "alt", "id", "line"]
        rows = [(r.chrom, r.pos0, r.ref, r.alt, r.id, r.line) for r in self]
        return pd.DataFrame(rows, columns=columns)


def read_vcf(path: str | Path, genome: Genome | None = None, *, rename_contigs: bool = True,
             on_skip: Callable[[SkippedVariant], None] | None = None) -> VariantStream:
    """Stream the ALT alleles of a VCF as :class:`VariantRecord`\\ s, checked against a genome.

    Parameters
    ----------
    path : str or Path
        VCF: plain text, gzip or bgzip.
    genome : Genome, optional
        When given, chromosomes are mapped to its names and REF is checked against it; records
        that fail are skipped (see the module docstring for the reasons), not raised.
    rename_contigs : bool
        Map ``chr1`` <-> ``1`` and ``chrM`` <-> ``MT`` to the genome's style. When False a
        differently named chromosome is skipped as ``unknown_chromosome``.
    on_skip : callable, optional
        Called with each :class:`SkippedVariant` (for example to write a skip log).

    Returns
    -------
    VariantStream
        Iterate it for the kept records (multi-allelic records give one per ALT, in file
        order); its ``summary`` counts what was read, kept and skipped.

    Raises
    ------
    InputFileError
        The file is missing or is not a VCF (now), or its compressed data are corrupt or cut
        short (while iterating).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such VCF file")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder; expected a VCF file")
    return VariantStream(path, genome, rename_contigs=rename_contigs, on_skip=on_skip)
