"""SpliceAI-format VCF output: every record of a VCF with its ``INFO/SpliceAI`` delta scores
(see :mod:`dnalens.apply.splicing` for how they are computed), and a TSV.

The VCF is read and written as text (:mod:`dnalens.io.vcf_text` says why not with htslib):
plain, gzip and bgzip inputs alike; a record that is not valid VCF is left out of the output
and counted (``malformed_record``, ``invalid_position``) with its ``file:line``; every other
record is written unchanged but for INFO/SpliceAI; and the output header gets the
``##contig`` / ``##INFO`` / ``##FILTER`` / ``##FORMAT`` lines the input lacks, so the output
is valid VCF. Scores go to a partial output first (:mod:`dnalens.apply.splice_part`), which
``resume`` continues after a kill.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dnalens.apply.splice_part import (
    add_counts,
    open_part,
    part_path,
    read_part,
    record_json,
    skip_done,
)
from dnalens.apply.splicing import (
    SpliceSummary,
    delta_scores,
    format_entry,
    model_context,
    predict_tracks,
    record_jobs,
)
from dnalens.errors import DnalensError, InputFileError
from dnalens.io.annotation import GeneTable
from dnalens.io.contigs import genome_name
from dnalens.io.genome import Genome
from dnalens.io.vcf_text import HeaderBuilder, VcfFault, VcfText, write_vcf_text

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


def _batches(records: Iterable, size: int) -> Iterator[list]:
    batch = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class SpliceScores:
    """The scores of one VCF record: INFO entries without and with masking, TSV rows, and
    the record's own counts (records 1, scored pairs, skips)."""

    record: Any  # VcfLine or VcfFault; a pysam.VariantRecord when given pysam's records
    entries: list[str]
    masked: list[str]
    rows: list[list[object]]
    counts: SpliceSummary = field(default_factory=lambda: SpliceSummary(Path("-")))

    def to_json(self, n: int) -> str:
        """The record's line of the partial output (``n``: its number among the records)."""
        return record_json(n, self.record, self.entries, self.masked, self.rows, self.counts)


def splice_scores(model: nn.Module, genome: Genome, genes: GeneTable,
                  source: VcfText | Iterable[Any], *, distance: int = 50, batch_size: int = 16,
                  device: torch.device | None = None, summary: SpliceSummary | None = None,
                  where: str = "") -> Iterator[SpliceScores]:
    """Score every record of a VCF, in order (see :func:`score_splice_variants`).

    Parameters
    ----------
    source : VcfText or iterable of records
        A VCF read with :class:`~dnalens.io.vcf_text.VcfText`, or records with ``chrom``,
        ``pos`` (1-based), ``id``, ``ref`` and ``alts`` (an open ``pysam.VariantFile`` too).

    Yields
    ------
    SpliceScores
        One per record, records without scores (and faulty ones) included.
    """
    device = device if device is not None else next(model.parameters()).device
    model = model.to(device).eval()
    context = model_context(model)
    where = where or str(getattr(source, "path", None) or getattr(source, "filename", "-"))
    summary = summary if summary is not None else SpliceSummary(Path(where))
    records = source.records() if isinstance(source, VcfText) else source
    names: dict[str, str | None] = {}
    for batch in _batches(records, batch_size):
        yield from _score_batch(batch, names, model, genome, genes, distance, context, device,
                                summary, where)


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
    resume: bool = False,
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
        Input VCF (plain, gzip or bgzip). Every valid record is written out unchanged, with
        the SpliceAI field added where it has scores; invalid ones are counted and left out.
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
    resume : bool
        Continue from ``out_vcf.tmp``, the partial output of an interrupted call with the
        same inputs: its records are not predicted again.

    Returns
    -------
    SpliceSummary
    """
    from dnalens.apply.predict import default_device

    vcf, out_vcf = Path(vcf), Path(out_vcf)
    check_splice_inputs(vcf, distance)
    text = VcfText(vcf)
    device = torch.device(device) if device is not None else default_device()
    part = part_path(out_vcf)
    last = open_part(part, {"vcf": vcf.name, "distance": distance}, resume)
    records = skip_done(text.records(), last, part)
    first = last["done"] if last is not None else 0
    try:
        with open(part, "a", encoding="utf-8") as handle:
            scored = splice_scores(model, genome, genes, records, distance=distance,
                                   batch_size=batch_size, device=device, where=str(vcf))
            for batch in _batches(scored, batch_size):
                # One write per batch: a kill leaves whole batches (or a half line, which
                # resume drops), so a resumed run predicts the same batches again.
                handle.write("".join(r.to_json(first + k) for k, r in enumerate(batch)))
                handle.flush()
                first += len(batch)
        summary = write_splice_outputs(text, out_vcf, read_part(part), genome=genome,
                                       mask=mask, out_tsv=out_tsv)
    except DnalensError:
        # Bad input: resuming cannot help, so leave nothing behind. Other exceptions
        # (Ctrl-C, out of memory) keep the partial output for --resume.
        part.unlink(missing_ok=True)
        raise
    part.unlink()
    return summary


def check_splice_inputs(vcf: Path, distance: int) -> None:
    """Fail early, before any model work, on a missing VCF or a negative distance."""
    if not vcf.exists():
        raise InputFileError(f"{vcf}: no such VCF file")
    if vcf.is_dir():
        raise InputFileError(f"{vcf}: is a folder; expected a VCF file")
    if distance < 0:
        raise InputFileError(f"splice score: distance must be >= 0; got {distance}")


def write_splice_outputs(text: VcfText, out_vcf: Path, results: Iterator[dict], *,
                         genome: Genome, mask: bool = False,
                         out_tsv: str | Path | None = None) -> SpliceSummary:
    """Copy the VCF to ``out_vcf`` (atomically) with each record's scores from ``results``.

    Parameters
    ----------
    text : VcfText
        The input VCF.
    out_vcf : Path
    results : iterator of dict
        Lines of the partial output (:mod:`dnalens.apply.splice_part`), one per record of
        ``text``, in order.
    genome : Genome
        For the lengths of ``##contig`` lines the input header lacks.
    mask : bool
        Write the masked entries (SpliceAI's ``-M 1``).
    out_tsv : path, optional
        Also the TSV of every (allele, transcript) score.

    Returns
    -------
    SpliceSummary
        The counts of every record.
    """
    summary = SpliceSummary(out_vcf)
    header = HeaderBuilder(text.meta)
    header.define(f'##INFO=<ID=SpliceAI,Number=.,Type=String,Description="{INFO_DESCRIPTION}">')
    rows: list[list[object]] = []
    # Records go to an unnamed temporary file first: the header, which must define every
    # contig and key they use, is complete only once they are all seen.
    with tempfile.TemporaryFile("w+", dir=out_vcf.parent, encoding="utf-8") as body:
        for index, record in enumerate(text.records()):
            result = next(results, None)
            if result is None or (result["n"], result["line"]) != (index, record.line):
                raise InputFileError(f"{text.path}:{record.line}: no scores for this record; "
                                     "was the VCF changed while it was scored?")
            add_counts(summary, result)
            if isinstance(record, VcfFault):
                continue  # not valid VCF: counted, and left out of the output
            fields = record.fields
            entries = result["masked"] if mask else result["entries"]
            if entries:
                fields[7] = _with_info(record.info, "SpliceAI=" + ",".join(entries))
            header.note(record.chrom, record.filter, record.info,
                        record.rest[0] if record.rest else "")
            body.write("\t".join(fields) + "\n")
            rows.extend(result["rows"])
        if next(results, None) is not None:
            raise InputFileError(f"{text.path}: scores for more records than the VCF holds; "
                                 "was it changed while it was scored?")

        def length(chrom: str) -> int | None:
            name = genome_name(chrom, genome)
            return genome.chrom_sizes[name] if name is not None else None

        write_vcf_text(out_vcf, [*header.lines(length), "\t".join(text.columns)], body)
    if out_tsv is not None:
        import pandas as pd

        from dnalens.apply.evaluate import write_table

        write_table(pd.DataFrame(rows, columns=TSV_COLUMNS), Path(out_tsv))
    return summary


def _with_info(info: str, entry: str) -> str:
    """INFO with ``entry`` (``SpliceAI=...``) in place of any SpliceAI it had."""
    kept = [] if info == "." else [e for e in info.split(";") if e.split("=", 1)[0] != "SpliceAI"]
    return ";".join([*kept, entry])


def _score_batch(batch: list, names: dict[str, str | None], model: nn.Module, genome: Genome,
                 genes: GeneTable, distance: int, context: int, device: torch.device,
                 summary: SpliceSummary, source: str) -> list[SpliceScores]:
    """The scores of a batch of records (VcfLine, VcfFault or pysam records), in order."""
    results, jobs = [], []
    for i, record in enumerate(batch):
        counts = SpliceSummary(summary.out_vcf, records=1)  # this record's own counts
        results.append(SpliceScores(record, [], [], [], counts))
        if isinstance(record, VcfFault):
            counts.skip(record.reason, record.message)
            continue
        line = getattr(record, "line", None)
        where = (f"{source}:{line}: " if line is not None else f"{source}: ") + \
            f"{record.chrom}:{record.pos} {record.id or '.'}"
        if record.chrom not in names:
            names[record.chrom] = genome_name(record.chrom, genome)
        chrom = names[record.chrom]
        if chrom is None:
            counts.skip("unknown_chromosome", f"{where}: {record.chrom} is not in the genome")
        entries, found = record_jobs(i, record, chrom, genome, genes, distance, context,
                                     counts, where)
        results[-1].entries, results[-1].masked = entries, list(entries)
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
            result.counts.scored += 1
            result.rows.append([record.chrom, record.pos, record.id or ".", record.ref, job.alt,
                                job.gene.name, job.gene.strand, *scores.tolist(),
                                *masked.tolist(), *offsets.tolist()])
    for result in results:
        counts = result.counts
        add_counts(summary, {"scored": counts.scored, "skipped": counts.skipped,
                             "examples": counts.examples})
    return results
