"""SpliceAI-format VCF output: every record of a VCF with its ``INFO/SpliceAI`` delta scores
(see :mod:`dnalens.apply.splicing` for how they are computed), and a TSV."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pysam
import torch
from torch import nn

from dnalens.apply.splicing import (
    SpliceSummary,
    delta_scores,
    format_entry,
    model_context,
    predict_tracks,
    record_jobs,
)
from dnalens.errors import InputFileError
from dnalens.io.annotation import GeneTable
from dnalens.io.contigs import genome_name
from dnalens.io.genome import Genome

__all__ = ["INFO_DESCRIPTION", "TSV_COLUMNS", "SpliceScores", "check_splice_inputs",
           "score_splice_variants", "splice_scores", "write_splice_outputs"]

INFO_DESCRIPTION = (
    "SpliceAIv1.3.1 variant annotation. These include delta scores (DS) and delta positions "
    "(DP) for acceptor gain (AG), acceptor loss (AL), donor gain (DG), and donor loss (DL). "
    "Format: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL"
)
TSV_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "gene", "strand", "ds_ag", "ds_al", "ds_dg",
               "ds_dl", "masked_ds_ag", "masked_ds_al", "masked_ds_dg", "masked_ds_dl",
               "dp_ag", "dp_al", "dp_dg", "dp_dl"]


def _records(vcf: pysam.VariantFile, size: int) -> Iterator[list[pysam.VariantRecord]]:
    batch = []
    for record in vcf:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class SpliceScores:
    """The scores of one VCF record: INFO entries without and with masking, TSV rows."""

    record: pysam.VariantRecord
    entries: list[str]
    masked: list[str]
    rows: list[list[object]]


def splice_scores(model: nn.Module, genome: Genome, genes: GeneTable,
                  source: pysam.VariantFile, *, distance: int = 50, batch_size: int = 16,
                  device: torch.device | None = None, summary: SpliceSummary | None = None,
                  where: str = "") -> Iterator[SpliceScores]:
    """Score every record of an open VCF, in order (see :func:`score_splice_variants`).

    Yields
    ------
    SpliceScores
        One per record, records without scores included (empty entries).
    """
    device = device if device is not None else next(model.parameters()).device
    model = model.to(device).eval()
    context = model_context(model)
    summary = summary if summary is not None else SpliceSummary(Path(where or "-"))
    names = _chrom_names(source, genome)
    for batch in _records(source, batch_size):
        yield from _score_batch(batch, names, model, genome, genes, distance, context, device,
                                summary, where or str(source.filename))


def score_splice_variants(
    model: nn.Module,
    genome: Genome,
    genes: GeneTable,
    vcf: str | Path,
    out_vcf: str | Path,
    *,
    distance: int = 50,
    mask: bool = False,
    out_tsv: str | Path | None = None,
    batch_size: int = 16,
    device: str | torch.device | None = None,
) -> SpliceSummary:
    """Write ``vcf``'s records with ``INFO/SpliceAI`` delta scores (see the module docstring).

    Parameters
    ----------
    model : nn.Module
        A SpliceAI model or ensemble, (batch, 4, L + context) -> logits (batch, 3, L); the
        published context is 10,000.
    genome : Genome
    genes : GeneTable
        Transcripts (``read_gene_table`` / ``read_gtf``); chromosome names with or without
        ``chr`` match the VCF's.
    vcf : path
        Input VCF (plain or bgzipped). Every record is written out unchanged, with the
        SpliceAI field added where it has scores.
    out_vcf : path
        Output VCF (bgzipped when it ends in ``.gz``), written atomically.
    distance : int
        D: scores are taken within +-D bases of the variant (SpliceAI's ``-D``, default 50).
    mask : bool
        SpliceAI's ``-M 1``.
    out_tsv : path, optional
        Also a table, one row per (allele, transcript): unrounded scores (unmasked and, as
        ``masked_ds_*``, masked), offsets.
    batch_size : int
        VCF records whose windows are predicted together.
    device : str or torch.device, optional
        Default: CUDA when available.

    Returns
    -------
    SpliceSummary
    """
    from dnalens.apply.predict import default_device

    vcf, out_vcf = Path(vcf), Path(out_vcf)
    check_splice_inputs(vcf, distance)
    device = torch.device(device) if device is not None else default_device()
    summary = SpliceSummary(out_vcf)

    def scored(source: pysam.VariantFile) -> Iterator[SpliceScores]:
        return splice_scores(model, genome, genes, source, distance=distance,
                             batch_size=batch_size, device=device, summary=summary,
                             where=str(vcf))

    write_splice_outputs(vcf, out_vcf, scored, mask=mask, out_tsv=out_tsv)
    return summary


def check_splice_inputs(vcf: Path, distance: int) -> None:
    """Fail early, before any model work, on a missing VCF or a negative distance."""
    if not vcf.exists():
        raise InputFileError(f"{vcf}: no such VCF file")
    if distance < 0:
        raise InputFileError(f"splice score: distance must be >= 0; got {distance}")


def write_splice_outputs(vcf: Path, out_vcf: Path,
                         scored: Callable[[pysam.VariantFile], Iterator[SpliceScores]], *,
                         mask: bool = False, out_tsv: str | Path | None = None) -> int:
    """Copy ``vcf`` to ``out_vcf`` (atomically) with the scores ``scored`` yields per record.

    Parameters
    ----------
    vcf, out_vcf : Path
    scored : callable
        Given the open input VCF (its header already holding INFO/SpliceAI), yields one
        :class:`SpliceScores` per record, in file order.
    mask : bool
        Write the masked entries (SpliceAI's ``-M 1``).
    out_tsv : path, optional
        Also the TSV of every (allele, transcript) score.

    Returns
    -------
    int
        Records written.
    """
    from dnalens.files import write_atomic

    rows: list[list[object]] = []
    written = 0

    def write(tmp: Path) -> None:
        nonlocal written
        with pysam.VariantFile(str(vcf)) as source:
            if "SpliceAI" not in source.header.info:
                source.header.add_line(f'##INFO=<ID=SpliceAI,Number=.,Type=String,'
                                       f'Description="{INFO_DESCRIPTION}">')
            mode = "wz" if out_vcf.name.endswith(".gz") else "w"
            with pysam.VariantFile(str(tmp), mode, header=source.header) as sink:
                for result in scored(source):
                    entries = result.masked if mask else result.entries
                    if entries:
                        result.record.info["SpliceAI"] = entries
                    # Reading a symbolic allele can add header lines (htslib defines <DEL> and
                    # END on the fly); map the record onto the output header.
                    result.record.translate(sink.header)
                    sink.write(result.record)
                    rows.extend(result.rows)
                    written += 1

    try:
        write_atomic(out_vcf, write)
    except (OSError, ValueError) as err:
        raise InputFileError(f"{vcf}: cannot read as VCF ({err})") from None
    if out_tsv is not None:
        import pandas as pd

        from dnalens.apply.evaluate import write_table

        write_table(pd.DataFrame(rows, columns=TSV_COLUMNS), Path(out_tsv))
    return written


def _chrom_names(source: pysam.VariantFile, genome: Genome) -> dict[str, str | None]:
    return {name: genome_name(name, genome) for name in list(source.header.contigs)}


def _score_batch(batch: list[pysam.VariantRecord], names: dict[str, str | None],
                 model: nn.Module, genome: Genome, genes: GeneTable, distance: int,
                 context: int, device: torch.device, summary: SpliceSummary, source: str
                 ) -> Iterator[SpliceScores]:
    """The scores of a batch of records, in order."""
    results, jobs = [], []
    for i, record in enumerate(batch):
        summary.records += 1
        where = f"{source}: {record.chrom}:{record.pos} {record.id or '.'}"
        if record.chrom not in names:
            names[record.chrom] = genome_name(record.chrom, genome)
        chrom = names[record.chrom]
        if chrom is None:
            summary.skip("unknown_chromosome", f"{where}: {record.chrom} is not in the genome")
        entries, found = record_jobs(i, record, chrom, genome, genes, distance, context,
                                     summary, where)
        results.append(SpliceScores(record, entries, list(entries), []))
        jobs += found
    if jobs:
        seqs = [j.ref_seq for j in jobs] + [j.alt_seq for j in jobs]
        strands = [j.gene.strand for j in jobs] * 2
        tracks = predict_tracks(model, seqs, strands, context, device)
        for k, job in enumerate(jobs):
            result = results[job.record]
            record = result.record
            scores, masked, offsets = delta_scores(job, tracks[k], tracks[len(jobs) + k],
                                              len(record.ref), distance)
            result.entries[job.entry] = format_entry(job, scores, offsets)
            result.masked[job.entry] = format_entry(job, masked, offsets)
            summary.scored += 1
            result.rows.append([record.chrom, record.pos, record.id or ".", record.ref, job.alt,
                                job.gene.name, job.gene.strand, *scores.tolist(),
                                *masked.tolist(), *offsets.tolist()])
    yield from results
