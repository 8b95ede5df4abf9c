"""Variant effects as VCF: the effects table written back with one INFO field per record.

Written as text (:mod:`dnalens.io.vcf_text`), keeping each input record's QUAL and FILTER.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pandas as pd

from dnalens.errors import ConfigError, InputFileError
from dnalens.io.genome import Genome
from dnalens.io.variants import VariantRecord
from dnalens.io.vcf_text import FIXED_COLUMNS, HeaderBuilder, write_vcf_text
from dnalens.models.store import dnalens_version

__all__ = ["INFO_KEY", "PADDED_KEY", "check_info_tasks", "write_variant_vcf"]

INFO_KEY = "DNALENS"
PADDED_KEY = "DNALENS_PADDED"


def check_info_tasks(tasks: Sequence[str], out_vcf: str | Path) -> None:
    """Refuse, before any scoring, task names that INFO/DNALENS cannot carry."""
    bad = [t for t in tasks if any(c in t for c in "|,;= ")]
    if bad:
        raise ConfigError(f"{out_vcf}: task names {bad} hold one of '|,;= ', which the VCF "
                          "INFO field cannot carry")


def write_variant_vcf(table_path: str | Path, out_vcf: str | Path, genome: Genome,
                      tasks: Sequence[str], *, chunk_size: int = 100_000,
                      sites: Iterable[VariantRecord] | None = None,
                      meta: Sequence[str] = ()) -> Path:
    """Write the effects table as a VCF with one INFO field, atomically.

    One record per row (multi-allelic input comes out split, one ALT per record); chromosome
    names are the genome's. INFO ``DNALENS`` holds one ``task|ref|alt|diff|log2fc`` entry per
    task (log2fc empty for raw outputs) and the flag ``DNALENS_PADDED`` marks N-padded
    windows. The table is read in chunks, so memory stays bounded.

    Parameters
    ----------
    table_path : path
        A TSV written by :func:`score_variants`.
    out_vcf : path
        ``.vcf`` or ``.vcf.gz`` (bgzip).
    genome : Genome
        For the ``##contig`` lines.
    tasks : sequence of str
    sites : iterable of VariantRecord, optional
        The scored records again, in the table's order: their QUAL and FILTER are written
        (``.`` without them).
    meta : sequence of str
        The input VCF's ``##`` lines: its ``##FILTER`` definitions are kept.

    Returns
    -------
    Path

    Raises
    ------
    InputFileError
        ``sites`` do not match the table's rows (the VCF changed while it was scored).
    """
    out_vcf = Path(out_vcf)
    check_info_tasks(tasks, out_vcf)
    header = HeaderBuilder([
        "##fileformat=VCFv4.2", f"##source=dnalens {dnalens_version()}",
        *(f"##contig=<ID={chrom},length={size}>" for chrom, size in genome.chrom_sizes.items()),
        f'##INFO=<ID={INFO_KEY},Number=.,Type=String,Description="dnalens variant effect per '
        'task: task|ref|alt|diff|log2fc (alt-ref, log2((alt+1e-6)/(ref+1e-6)))">',
        f'##INFO=<ID={PADDED_KEY},Number=0,Type=Flag,Description="A prediction window ran '
        'past the chromosome end (N-padded)">',
        *(line for line in meta if line.startswith("##FILTER=")),
    ])
    site_iter = iter(sites) if sites is not None else None
    # Records go to an unnamed temporary file first: the header, which must define every
    # FILTER they use, is complete only once they are all seen.
    with tempfile.TemporaryFile("w+", dir=out_vcf.parent, encoding="utf-8") as body:
        for chunk in pd.read_csv(table_path, sep="\t", chunksize=chunk_size,
                                 dtype={"chrom": str, "id": str, "ref": str, "alt": str},
                                 keep_default_na=False):
            for row in chunk.to_dict("records"):
                site = _site(site_iter, row, table_path)
                fields = _vcf_fields(row, tasks, site)
                header.note(fields[0], fields[6], fields[7])
                body.write("\t".join(fields) + "\n")
        columns = "\t".join(FIXED_COLUMNS)
        write_vcf_text(out_vcf, [*header.lines(), columns], body)
    return out_vcf


def _site(sites: Iterator[VariantRecord] | None, row: dict, table: str | Path
          ) -> VariantRecord | None:
    """The record of a table row, checked to be the same variant."""
    if sites is None:
        return None
    site = next(sites, None)
    key = (str(row["chrom"]), int(row["pos"]), row["ref"], row["alt"])
    if site is None or (site.chrom, site.pos, site.ref, site.alt) != key:
        found = "nothing" if site is None else f"{site.chrom}:{site.pos} {site.ref}>{site.alt}"
        raise InputFileError(f"{table}: row {row['variant']} is {key[0]}:{key[1]} "
                             f"{key[2]}>{key[3]} but the VCF now gives {found}; was it changed "
                             "while it was scored?")
    return site


def _fmt(value: object) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if number != number else f"{number:.6g}"


def _vcf_fields(row: dict, tasks: Sequence[str], site: VariantRecord | None) -> list[str]:
    """The eight columns of one table row's VCF record."""
    info = f"{INFO_KEY}=" + ",".join(
        "|".join([task, *(_fmt(row.get(f"{task}_{k}")) for k in ("ref", "alt", "diff",
                                                                  "log2fc"))])
        for task in tasks)
    if int(row["padded"]):
        info += f";{PADDED_KEY}"
    qual, filt = (site.qual, site.filter) if site is not None else (".", ".")
    return [str(row["chrom"]), str(int(row["pos"])), row["id"] or ".", row["ref"], row["alt"],
            qual, filt, info]
