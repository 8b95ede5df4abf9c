"""Variant effects as VCF: the effects table written back with one INFO field per record."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from dnalens.errors import ConfigError
from dnalens.io.genome import Genome
from dnalens.models.store import dnalens_version

__all__ = ["INFO_KEY", "PADDED_KEY", "write_variant_vcf"]

INFO_KEY = "DNALENS"
PADDED_KEY = "DNALENS_PADDED"


def write_variant_vcf(table_path: str | Path, out_vcf: str | Path, genome: Genome,
                      tasks: Sequence[str], *, chunk_size: int = 100_000) -> Path:
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

    Returns
    -------
    Path
    """
    import pysam

    out_vcf = Path(out_vcf)
    bad = [t for t in tasks if any(c in t for c in "|,;= ")]
    if bad:
        raise ConfigError(f"{out_vcf}: task names {bad} hold one of '|,;= ', which the VCF "
                          "INFO field cannot carry")
    header = pysam.VariantHeader()
    header.add_meta("source", f"dnalens {dnalens_version()}")
    for chrom, size in genome.chrom_sizes.items():
        header.contigs.add(chrom, length=size)
    header.add_meta("INFO", items=[
        ("ID", INFO_KEY), ("Number", "."), ("Type", "String"),
        ("Description", "dnalens variant effect per task: task|ref|alt|diff|log2fc "
                        "(alt-ref, log2((alt+1e-6)/(ref+1e-6)))")])
    header.add_meta("INFO", items=[
        ("ID", PADDED_KEY), ("Number", "0"), ("Type", "Flag"),
        ("Description", "A prediction window ran past the chromosome end (N-padded)")])
    tmp = out_vcf.with_name(f".{out_vcf.name}.tmp")
    mode = "wz" if out_vcf.name.endswith(".gz") else "w"
    try:
        with pysam.VariantFile(str(tmp), mode, header=header) as vcf:
            for chunk in pd.read_csv(table_path, sep="\t", chunksize=chunk_size,
                                     dtype={"chrom": str, "id": str, "ref": str, "alt": str},
                                     keep_default_na=False):
                _write_vcf_rows(vcf, chunk, tasks)
        os.replace(tmp, out_vcf)
    finally:
        tmp.unlink(missing_ok=True)
    return out_vcf


def _fmt(value: object) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if number != number else f"{number:.6g}"


def _write_vcf_rows(vcf, chunk: pd.DataFrame, tasks: Sequence[str]) -> None:
    for row in chunk.to_dict("records"):
        rec = vcf.new_record(contig=row["chrom"], start=int(row["pos"]) - 1,
                             alleles=(row["ref"], row["alt"]))
        if row["id"] not in ("", "."):
            rec.id = row["id"]
        rec.info[INFO_KEY] = tuple(
            "|".join([task, *(_fmt(row.get(f"{task}_{k}"))
                              for k in ("ref", "alt", "diff", "log2fc"))])
            for task in tasks)
        if int(row["padded"]):
            rec.info[PADDED_KEY] = True
        vcf.write(rec)
