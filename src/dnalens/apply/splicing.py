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
kept) run through the model as one batch, and for SpliceAI models (or their softmax
ensembles) each alt window is computed incrementally on its ref window: per layer only the
positions the allele reaches (:mod:`dnalens.apply.splice_fast`).
"""

from __future__ import annotations

import logging
from collections import Counter
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

__all__ = ["SpliceJob", "SpliceSummary", "delta_scores", "format_entry", "model_context",
           "nearest_boundary", "predict_tracks", "record_jobs", "splice_tracks"]

log = logging.getLogger(__name__)

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
class SpliceJob:
    """One (record, ALT, transcript) to score."""

    record: int
    alt: str
    gene: Transcript
    ref_seq: str  # genome orientation, N outside the transcript
    alt_seq: str
    boundary: int  # offset of the nearest exon boundary from the variant
    entry: int  # index of its entry in the record's INFO list


def nearest_boundary(gene: Transcript, pos0: int) -> int:
    """Offset of the closest exon first or last base (ties: the upstream one, as SpliceAI)."""
    offsets = np.union1d(gene.exon_starts, gene.exon_ends - 1) - pos0
    return int(offsets[np.argmin(np.abs(offsets))])


def record_jobs(index: int, record: pysam.VariantRecord, chrom: str | None, genome: Genome,
                 genes: GeneTable, distance: int, context: int, summary: SpliceSummary,
                 where: str) -> tuple[list[str | None], list[SpliceJob]]:
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
        summary.skip("ref_mismatch", f"{where}: REF expected '{found}' (from "
                     f"{genome.path.name}), found '{ref}' in the VCF; wrong genome build?")
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
            jobs.append(SpliceJob(index, alt, gene, ref_seq, alt_seq,
                             nearest_boundary(gene, pos0), len(entries)))
            entries.append(None)
    return entries, jobs


@torch.inference_mode()
def predict_tracks(model: nn.Module, seqs: list[str], strands: list[str], context: int,
             device: torch.device) -> list[np.ndarray]:
    """P(neither, acceptor, donor) per output position, in genome orientation: one
    (len - context, 3) float32 array per sequence.

    For a SpliceAI model or a softmax-averaged ensemble of them, windows that differ from an
    earlier one only locally (a variant's alt window after its ref window) reuse that
    window's activations and compute only what the change reaches
    (:mod:`dnalens.apply.splice_fast`); identical windows run once.
    """
    oriented = [s if strand == "+" else s.translate(_COMPLEMENT)[::-1]
                for s, strand in zip(seqs, strands, strict=True)]
    members = _spliceai_members(model, context)
    if members is not None:
        from dnalens.apply.splice_fast import predict_oriented

        tracks = [p.T.astype(np.float32)
                  for p in predict_oriented(members, oriented, context, device)]
    else:
        tracks = _predict_whole(model, oriented, context, device)
    return [t if strand == "+" else t[::-1] for t, strand in zip(tracks, strands, strict=True)]


def _predict_whole(model: nn.Module, oriented: list[str], context: int,
                   device: torch.device) -> list[np.ndarray]:
    """Every window through the whole model, as one batch: (len - context, 3) each, model
    orientation."""
    longest = max(len(s) for s in oriented)
    # Right padding: output j sees inputs j .. j + context only, so it never reaches outputs
    # that are kept.
    x = one_hot([s + "N" * (longest - len(s)) for s in oriented]).to(device)
    probs = torch.softmax(model(x).float(), dim=1).cpu().numpy()  # (n, 3, longest - context)
    return [row[:, : len(s) - context].T for row, s in zip(probs, oriented, strict=True)]


def _spliceai_members(model: nn.Module, context: int) -> list[nn.Module] | None:
    """The SpliceAI models whose mean probability ``model`` gives (itself, or the members
    of an ``average="softmax"`` ensemble), in eval mode; None for any other model."""
    from dnalens.models.ensemble import Ensemble
    from dnalens.models.spliceai import SpliceAI

    if isinstance(model, SpliceAI):
        members = [model]
    elif isinstance(model, Ensemble) and model.config.average == "softmax":
        members = list(model.members)
    else:
        return None
    if model.training or not all(isinstance(m, SpliceAI) and m.context == context
                                 for m in members):
        return None
    return members


def aligned_alt(y_alt: np.ndarray, ref_len: int, alt_len: int, centre: int) -> np.ndarray:
    """The alt track (n + alt_len - ref_len, 3) aligned to the ref track (n, 3), the variant at
    ``centre``: a deletion gets zeros after the allele's first base, an insertion the maximum
    over its inserted bases (SpliceAI's rule)."""
    if ref_len > 1 and alt_len == 1:
        gap = np.zeros((ref_len - alt_len, 3), dtype=y_alt.dtype)
        return np.concatenate([y_alt[: centre + alt_len], gap, y_alt[centre + alt_len :]])
    if ref_len == 1 and alt_len > 1:
        inserted = y_alt[centre : centre + alt_len].max(axis=0, keepdims=True)
        return np.concatenate([y_alt[:centre], inserted, y_alt[centre + alt_len :]])
    return y_alt


def delta_scores(job: SpliceJob, y_ref: np.ndarray, y_alt: np.ndarray, ref_len: int, distance: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(DS_AG, DS_AL, DS_DG, DS_DL), the same masked, and their offsets, as the original
    computes them."""
    cov = 2 * distance + 1
    y_alt = aligned_alt(y_alt, ref_len, len(job.alt), cov // 2)
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


def format_entry(job: SpliceJob, scores: np.ndarray, offsets: np.ndarray) -> str:
    ds = "|".join(f"{s:.2f}" for s in scores)
    dp = "|".join(str(int(o)) for o in offsets)
    return f"{job.alt}|{job.gene.name}|{ds}|{dp}"


def model_context(model: nn.Module) -> int:
    from dnalens.models.ensemble import core_model

    context = getattr(core_model(model), "context", None)
    if context is None:
        raise InputFileError(f"{type(model).__name__} is not a SpliceAI model (no context)")
    return int(context)


def splice_tracks(model: nn.Module, genome: Genome, gene: Transcript, chrom: str, pos0: int,
                  ref: str, alt: str, *, flank: int = 500,
                  device: torch.device | None = None) -> tuple[int, np.ndarray, np.ndarray]:
    """Ref and alt probability tracks of one variant, +-``flank`` bases, for the exon view.

    Windows are built as for the delta scores (N outside the transcript, reverse complement
    on the minus strand) with D = ``flank``; the alt track is aligned to the ref track.

    Returns
    -------
    start : int
        0-based genome position of the first track position.
    ref_track, alt_track : np.ndarray, shape (2 * flank + 1, 3)
    """
    device = device if device is not None else next(model.parameters()).device
    context = model_context(model)
    half = (context + 2 * flank + 1) // 2
    start, end = pos0 - half, pos0 + half + 1
    seq = genome.fetch(chrom, start, end)  # N past the chromosome ends
    left, right = max(gene.tx_start - start, 0), max(end - gene.tx_end, 0)
    ref_seq = "N" * left + seq[left : len(seq) - right] + "N" * right
    alt_seq = ref_seq[:half] + alt.upper() + ref_seq[half + len(ref) :]
    y_ref, y_alt = predict_tracks(model.to(device).eval(), [ref_seq, alt_seq],
                                  [gene.strand] * 2, context, device)
    return pos0 - flank, y_ref, aligned_alt(y_alt, len(ref), len(alt), flank)
