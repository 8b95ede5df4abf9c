"""Splice-variant delta scores in SpliceAI's format, from a SpliceAI model or ensemble.

For each VCF record, each ALT allele and each annotated transcript containing the variant,
the reference and alternative windows (``context + 2D + 1`` bases centred on the variant,
10,101 for the published models and D = 50; bases outside the transcript set to N,
reverse-complemented for minus-strand genes) are predicted, and within +-D bases of the
variant four scores are taken, as the original tool (``spliceai`` 1.3.1) defines them:

* DS_AG, acceptor gain: max over positions of P_alt(acceptor) - P_ref(acceptor);
* DS_AL, acceptor loss: max of P_ref(acceptor) - P_alt(acceptor);
* DS_DG, DS_DL: the same for donors;

with DP_* the offset (bases from POS) of each maximum. Deletions get zeros inserted in the
alternative track after the allele's first base; insertions take the maximum over the
inserted bases, so both tracks have 2D + 1 positions. With ``mask``, a gain at an annotated
exon boundary and a loss anywhere else score 0 (SpliceAI's ``-M 1``). Alleles where REF and
ALT are both longer than one base are written as ``ALT|GENE|.|.|.|.|.|.|.|.``.

Unlike the original, windows of many variants (indels included: windows are padded on the
right, which a fully convolutional model with valid convolutions never sees in the outputs
kept) run through the model as one batch.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam
import torch
from torch import nn

from dnalens.errors import InputFileError
from dnalens.io.annotation import GeneTable, Transcript
from dnalens.io.genome import Genome
from dnalens.sequence.encoding import one_hot

__all__ = ["INFO_DESCRIPTION", "SpliceScores", "SpliceSummary", "score_splice_variants",
           "splice_scores"]

log = logging.getLogger(__name__)

INFO_DESCRIPTION = (
    "SpliceAIv1.3.1 variant annotation. These include delta scores (DS) and delta positions "
    "(DP) for acceptor gain (AG), acceptor loss (AL), donor gain (DG), and donor loss (DL). "
    "Format: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL"
)
TSV_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "gene", "strand", "ds_ag", "ds_al", "ds_dg",
               "ds_dl", "masked_ds_ag", "masked_ds_al", "masked_ds_dg", "masked_ds_dl",
               "dp_ag", "dp_al", "dp_dg", "dp_dl"]
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
_BAD_ALT = (".", "-", "*", "<", ">")


@dataclass
class SpliceSummary:
    """What :func:`score_splice_variants` did: records read and written, alleles scored, and
    records or alleles skipped by reason (with the first few ``file:line`` messages)."""

    out_vcf: Path
    records: int = 0
    scored: int = 0  # (allele, transcript) pairs with scores
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, message: str) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < 3:
            self.examples[reason].append(message)

    def describe(self) -> str:
        text = f"{self.records:,} records, {self.scored:,} allele x gene scores -> {self.out_vcf}"
        if self.skipped:
            reasons = ", ".join(f"{n:,} {r}" for r, n in sorted(self.skipped.items()))
            text += f"; not scored: {reasons}"
        return text


@dataclass
class _Job:
    """One (record, ALT, transcript) to score."""

    record: int
    alt: str
    gene: Transcript
    ref_seq: str  # genome orientation, N outside the transcript
    alt_seq: str
    boundary: int  # offset of the nearest exon boundary from the variant
    entry: int  # index of its entry in the record's INFO list


def _nearest_boundary(gene: Transcript, pos0: int) -> int:
    """Offset of the closest exon first or last base (ties: the upstream one, as SpliceAI)."""
    offsets = np.union1d(gene.exon_starts, gene.exon_ends - 1) - pos0
    return int(offsets[np.argmin(np.abs(offsets))])


def _record_jobs(index: int, record: pysam.VariantRecord, chrom: str | None, genome: Genome,
                 genes: GeneTable, distance: int, context: int, summary: SpliceSummary,
                 where: str) -> tuple[list[str | None], list[_Job]]:
    """The record's INFO entries (None where a job fills it in) and its jobs."""
    if chrom is None:
        return [], []
    pos0, ref = record.pos - 1, record.ref.upper()
    transcripts = genes.at(chrom, pos0)
    if not transcripts:
        summary.skip("outside_genes", f"{where}: {record.chrom}:{record.pos} is in no "
                     "annotated transcript")
        return [], []
    half = (context + 2 * distance + 1) // 2
    start, end = pos0 - half, pos0 + half + 1
    size = genome.chrom_sizes[chrom]
    if start < 0 or end > size:
        summary.skip("near_chromosome_end", f"{where}: the {end - start:,} bp window runs past "
                     f"{chrom} (0-{size:,})")
        return [], []
    seq = genome.fetch(chrom, start, end)
    found = seq[half : half + len(ref)]
    if found != ref:
        summary.skip("ref_mismatch", f"{where}: REF {ref} but the genome has {found} at "
                     f"{chrom}:{record.pos}")
        return [], []
    if len(ref) > 2 * distance:
        summary.skip("ref_too_long", f"{where}: REF of {len(ref)} bases is longer than 2 x "
                     f"distance ({2 * distance})")
        return [], []
    entries: list[str | None] = []
    jobs = []
    for alt in record.alts or ():
        if any(c in alt for c in _BAD_ALT):
            summary.skip("symbolic_or_missing_allele", f"{where}: ALT {alt} is not a sequence")
            continue
        for gene in transcripts:
            if len(ref) > 1 and len(alt) > 1:
                summary.skip("complex_allele", f"{where}: {ref}>{alt}: REF and ALT both "
                             "longer than one base (written as '.')")
                entries.append(f"{alt}|{gene.name}|.|.|.|.|.|.|.|.")
                continue
            # N outside the transcript (SpliceAI's pad_size), then the allele written in.
            left = max(gene.tx_start - start, 0)
            right = max(end - gene.tx_end, 0)
            ref_seq = "N" * left + seq[left : len(seq) - right] + "N" * right
            alt_seq = ref_seq[:half] + alt.upper() + ref_seq[half + len(ref) :]
            jobs.append(_Job(index, alt, gene, ref_seq, alt_seq,
                             _nearest_boundary(gene, pos0), len(entries)))
            entries.append(None)
    return entries, jobs


@torch.inference_mode()
def _predict(model: nn.Module, seqs: list[str], strands: list[str], context: int,
             device: torch.device) -> list[np.ndarray]:
    """P(neither, acceptor, donor) per output position, in genome orientation: one
    (len - context, 3) float32 array per sequence."""
    oriented = [s if strand == "+" else s.translate(_COMPLEMENT)[::-1]
                for s, strand in zip(seqs, strands, strict=True)]
    longest = max(len(s) for s in oriented)
    # Right padding: output j sees inputs j .. j + context only, so it never reaches outputs
    # that are kept.
    x = one_hot([s + "N" * (longest - len(s)) for s in oriented]).to(device)
    probs = torch.softmax(model(x).float(), dim=1).cpu().numpy()  # (n, 3, longest - context)
    out = []
    for row, s, strand in zip(probs, oriented, strands, strict=True):
        track = row[:, : len(s) - context].T
        out.append(track if strand == "+" else track[::-1])
    return out


def _deltas(job: _Job, y_ref: np.ndarray, y_alt: np.ndarray, ref_len: int, distance: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(DS_AG, DS_AL, DS_DG, DS_DL), the same masked, and their offsets, as the original
    computes them."""
    cov = 2 * distance + 1
    alt_len = len(job.alt)
    if ref_len > 1 and alt_len == 1:
        gap = np.zeros((ref_len - alt_len, 3), dtype=y_alt.dtype)
        y_alt = np.concatenate([y_alt[: cov // 2 + alt_len], gap, y_alt[cov // 2 + alt_len :]])
    elif ref_len == 1 and alt_len > 1:
        inserted = y_alt[cov // 2 : cov // 2 + alt_len].max(axis=0, keepdims=True)
        y_alt = np.concatenate([y_alt[: cov // 2], inserted, y_alt[cov // 2 + alt_len :]])
    gain = y_alt - y_ref
    columns = [(gain[:, 1], True), (-gain[:, 1], False), (gain[:, 2], True), (-gain[:, 2], False)]
    scores, masked, offsets = np.zeros(4, np.float32), np.zeros(4, np.float32), \
        np.zeros(4, np.int64)
    for k, (delta, is_gain) in enumerate(columns):
        i = int(np.argmax(delta))
        offsets[k] = i - cov // 2
        at_boundary = offsets[k] == job.boundary
        scores[k] = delta[i]
        masked[k] = 0.0 if (at_boundary if is_gain else not at_boundary) else delta[i]
    return scores, masked, offsets


def _entry(job: _Job, scores: np.ndarray, offsets: np.ndarray) -> str:
    ds = "|".join(f"{s:.2f}" for s in scores)
    dp = "|".join(str(int(o)) for o in offsets)
    return f"{job.alt}|{job.gene.name}|{ds}|{dp}"


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
    context = _context_of(model)
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
    from dnalens.files import write_atomic

    vcf, out_vcf = Path(vcf), Path(out_vcf)
    if not vcf.exists():
        raise InputFileError(f"{vcf}: no such VCF file")
    if distance < 0:
        raise InputFileError(f"splice score: distance must be >= 0; got {distance}")
    device = torch.device(device) if device is not None else default_device()
    summary = SpliceSummary(out_vcf)
    rows: list[list[object]] = []

    def write(tmp: Path) -> None:
        with pysam.VariantFile(str(vcf)) as source:
            if "SpliceAI" not in source.header.info:
                source.header.add_line(f'##INFO=<ID=SpliceAI,Number=.,Type=String,'
                                       f'Description="{INFO_DESCRIPTION}">')
            mode = "wz" if out_vcf.name.endswith(".gz") else "w"
            with pysam.VariantFile(str(tmp), mode, header=source.header) as sink:
                for scored in splice_scores(model, genome, genes, source, distance=distance,
                                            batch_size=batch_size, device=device,
                                            summary=summary, where=str(vcf)):
                    entries = scored.masked if mask else scored.entries
                    if entries:
                        scored.record.info["SpliceAI"] = entries
                    # Reading a symbolic allele can add header lines (htslib defines <DEL> and
                    # END on the fly); map the record onto the output header.
                    scored.record.translate(sink.header)
                    sink.write(scored.record)
                    rows.extend(scored.rows)

    try:
        write_atomic(out_vcf, write)
    except (OSError, ValueError) as err:
        raise InputFileError(f"{vcf}: cannot read as VCF ({err})") from None
    if out_tsv is not None:
        import pandas as pd

        from dnalens.apply.evaluate import write_table

        write_table(pd.DataFrame(rows, columns=TSV_COLUMNS), Path(out_tsv))
    return summary


def _context_of(model: nn.Module) -> int:
    members = getattr(model, "members", None)
    context = getattr(members[0] if members else model, "context", None)
    if context is None:
        raise InputFileError(f"{type(model).__name__} is not a SpliceAI model (no context)")
    return int(context)


def _chrom_name(name: str, genome: Genome) -> str | None:
    """The genome's name for a VCF chromosome (``chr`` added or dropped, as SpliceAI does)."""
    from dnalens.io.contigs import _alternative_names

    if name in genome.chrom_sizes:
        return name
    return next((a for a in _alternative_names(name) if a in genome.chrom_sizes), None)


def _chrom_names(source: pysam.VariantFile, genome: Genome) -> dict[str, str | None]:
    return {name: _chrom_name(name, genome) for name in list(source.header.contigs)}


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
            names[record.chrom] = _chrom_name(record.chrom, genome)
        chrom = names[record.chrom]
        if chrom is None:
            summary.skip("unknown_chromosome", f"{where}: {record.chrom} is not in the genome")
        entries, record_jobs = _record_jobs(i, record, chrom, genome, genes, distance,
                                            context, summary, where)
        results.append(SpliceScores(record, entries, list(entries), []))
        jobs += record_jobs
    if jobs:
        seqs = [j.ref_seq for j in jobs] + [j.alt_seq for j in jobs]
        strands = [j.gene.strand for j in jobs] * 2
        tracks = _predict(model, seqs, strands, context, device)
        for k, job in enumerate(jobs):
            result = results[job.record]
            record = result.record
            scores, masked, offsets = _deltas(job, tracks[k], tracks[len(jobs) + k],
                                              len(record.ref), distance)
            result.entries[job.entry] = _entry(job, scores, offsets)
            result.masked[job.entry] = _entry(job, masked, offsets)
            summary.scored += 1
            result.rows.append([record.chrom, record.pos, record.id or ".", record.ref, job.alt,
                                job.gene.name, job.gene.strand, *scores.tolist(),
                                *masked.tolist(), *offsets.tolist()])
    yield from results
