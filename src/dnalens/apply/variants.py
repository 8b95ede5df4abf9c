"""Variant effects: the model's output on the alternative allele minus the reference.

Each variant gives two windows of the model's input length, cut from the genome around it
(:func:`variant_windows`); both are predicted in the same batch and written, a batch at a
time, to a TSV with ``<task>_ref``, ``<task>_alt``, ``<task>_diff`` (alt - ref) and, for
probabilities, ``<task>_log2fc`` columns; optionally also to a VCF with one INFO field.

Speed and several GPUs
----------------------
Substitutions reuse the reference pass and are computed incrementally where the model
allows (:mod:`dnalens.apply.variant_scoring`). :func:`score_variants` runs on one device
(CUDA when available); :func:`dnalens.apply.variant_parallel.score_variants_distributed`
(``dnalens variants --devices N``) runs the same scoring under Lightning's predict loop
with the DDP strategy and writes the same table.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from torch import nn

from dnalens.apply.predict import default_device
from dnalens.apply.variant_progress import progress_bar as _progress_bar
from dnalens.apply.variant_scoring import PairScorer
from dnalens.apply.variant_vcf import check_info_tasks, write_variant_vcf
from dnalens.errors import ConfigError, DnalensError, InputFileError
from dnalens.files import complete_lines
from dnalens.io.genome import Genome
from dnalens.io.variants import VariantRecord, VariantStream, VcfSummary, read_vcf

__all__ = [
    "LOG2FC_EPS",
    "VariantScoreSummary",
    "score_columns",
    "score_variants",
    "variant_windows",
    "write_variant_vcf",
]

log = logging.getLogger(__name__)

LOG2FC_EPS = 1e-6
_RECORD_COLUMNS = ["variant", "chrom", "pos", "id", "ref", "alt", "padded"]


@dataclass
class VariantScoreSummary:
    """What :func:`score_variants` did.

    Attributes
    ----------
    scored : int
        Variants predicted in this call.
    resumed : int
        Variants found already scored in the partial output and not predicted again.
    padded : int
        Variants (of ``scored``) whose ref or alt window ran past a chromosome end.
    skipped : dict
        Reason -> count, from the VCF reader's summary when the records came from
        :func:`dnalens.io.variants.read_vcf`.
    fast_path : bool
        Whether substitutions were scored incrementally (see ``fast`` of
        :func:`score_variants`).
    """

    out_tsv: Path
    out_vcf: Path | None = None
    scored: int = 0
    resumed: int = 0
    padded: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    vcf: VcfSummary | None = None
    fast_path: bool = False

    @property
    def total(self) -> int:
        """Variants in the output table."""
        return self.scored + self.resumed

    def describe(self) -> str:
        """One line for the terminal."""
        text = f"{self.total:,} variants scored -> {self.out_tsv}"
        if self.resumed:
            text += f" ({self.resumed:,} from the earlier partial run)"
        if self.padded:
            text += f"; {self.padded:,} near a chromosome end (N-padded, flagged)"
        if self.skipped:
            reasons = ", ".join(f"{n:,} {r}" for r, n in sorted(self.skipped.items()))
            text += f"; skipped {sum(self.skipped.values()):,}: {reasons}"
        if self.vcf is not None and self.vcf.empty:
            text += "; the VCF holds no records"
        if self.fast_path:
            text += " (fast path: one reference pass per site)"
        return text


def variant_windows(genome: Genome, record: VariantRecord, input_length: int
                    ) -> tuple[str, str, bool]:
    """Reference and alternative sequences of ``input_length`` around one variant.

    The reference window is centred on the REF allele: its centre base is
    ``pos0 + len(ref) // 2`` and it starts at ``centre - input_length // 2``. The REF allele
    sits at offset ``o = pos0 - start`` in it. The alternative window is built from the same
    start:

    - same length (SNV, MNV): the REF bases at ``o`` are replaced by ALT;
    - deletion (ALT shorter): left flank unchanged, ALT at ``o``, and the window is filled up
      on the right with the genome after REF, so the variant stays at the same offset;
    - insertion (ALT longer): ALT replaces REF and the ``len(alt) - len(ref)`` extra bases
      are trimmed from both ends, ``extra // 2`` on the left and the rest on the right, so
      the inserted sequence stays centred.

    Parameters
    ----------
    genome : Genome
    record : VariantRecord
        ``chrom`` must be a genome chromosome; REF is not re-checked here.
    input_length : int

    Returns
    -------
    ref_seq, alt_seq : str, each of length ``input_length``
    padded : bool
        True when either window reaches past a chromosome end (those bases are N).
    """
    size = genome.check_chrom(record.chrom)
    ref_len, alt_len = len(record.ref), len(record.alt)
    start = record.pos0 + ref_len // 2 - input_length // 2
    ref_seq = genome.fetch(record.chrom, start, start + input_length)
    # REF longer than the window (a large deletion) starts before it: no left flank then.
    left = ref_seq[: max(record.pos0 - start, 0)]
    # Genome after REF: enough to fill the window for a deletion, what the ref window has
    # otherwise (the extra bases of an insertion are trimmed below).
    right_len = max(input_length - len(left) - alt_len, input_length - len(left) - ref_len, 0)
    right_end = record.end + right_len
    right = genome.fetch(record.chrom, record.end, right_end)
    alt_full = left + record.alt + right
    extra = len(alt_full) - input_length
    trim_left = extra // 2 if alt_len > ref_len else 0
    alt_seq = alt_full[trim_left : trim_left + input_length]
    padded = start < 0 or start + input_length > size or right_end > size
    return ref_seq, alt_seq, padded


def score_columns(tasks: Sequence[str], *, probabilities: bool = True) -> list[str]:
    """Output columns: the record columns, then per task ref, alt, diff (and log2fc)."""
    kinds = ["ref", "alt", "diff"] + (["log2fc"] if probabilities else [])
    return _RECORD_COLUMNS + [f"{t}_{k}" for t in tasks for k in kinds]


def _batches(records: Iterable[VariantRecord], size: int) -> Iterator[list[VariantRecord]]:
    it = iter(records)
    while batch := list(islice(it, size)):
        yield batch


def effect_rows(batch: Sequence[VariantRecord], first: int, padded: Sequence[bool],
                ref: np.ndarray, alt: np.ndarray, tasks: Sequence[str], probabilities: bool
                ) -> str:
    """TSV lines (columns :func:`score_columns`) of one batch; numbers as ``%.6g``.

    Formatted by hand: for hundreds of tasks pandas' ``to_csv`` took a fifth of the
    scoring time, five times what plain string formatting needs.
    """
    if ref.shape[1] != len(tasks):
        raise ConfigError(f"score_variants: {len(tasks)} task names given but the model "
                          f"predicts {ref.shape[1]} outputs")
    kinds = [ref, alt, alt - ref]
    if probabilities:
        kinds.append(np.log2(alt + LOG2FC_EPS) - np.log2(ref + LOG2FC_EPS))
    # Columns task-major: t0_ref, t0_alt, t0_diff, (t0_log2fc), t1_ref, ...
    values = np.stack(kinds, axis=2).reshape(len(batch), -1).astype(np.float64).tolist()
    number = "{:.6g}".format
    lines = []
    for k, (record, row) in enumerate(zip(batch, values, strict=True)):
        head = (f"{first + k}\t{record.chrom}\t{record.pos}\t{record.id}\t{record.ref}\t"
                f"{record.alt}\t{int(padded[k])}\t")
        lines.append(head + "\t".join(map(number, row)) + "\n")
    return "".join(lines)


def _tmp_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.tmp")


def _open_partial(tmp: Path, header: str, resume: bool) -> tuple[int, tuple | None]:
    """Prepare ``tmp`` for appending; the number of rows done and the last row's key."""
    if not resume or not tmp.exists():
        tmp.write_text(header)
        return 0, None
    lines = complete_lines(tmp)
    if not lines or lines[0] + "\n" != header:
        found = lines[0][:80] if lines else "an empty file"
        raise InputFileError(
            f"{tmp}:1: cannot resume: expected the header of this model's output "
            f"({header[:80].rstrip()} ...), found {found}; delete the file to start again"
        )
    done = len(lines) - 1
    if done == 0:
        return 0, None
    last = lines[-1].split("\t")
    return done, (last[1], int(last[2]), last[4], last[5])


def score_variants(
    model: nn.Module,
    genome: Genome,
    records: Iterable[VariantRecord],
    *,
    input_length: int,
    tasks: Sequence[str],
    out_tsv: str | Path,
    out_vcf: str | Path | None = None,
    batch_size: int = 128,
    both_strands: bool = False,
    probabilities: bool = True,
    device: str | torch.device | None = None,
    resume: bool = False,
    progress: bool | None = None,
    total: int | None = None,
    fast: bool | str = "auto",
) -> VariantScoreSummary:
    """Predict every variant's ref and alt windows and write the effects, a batch at a time.

    Parameters
    ----------
    model : nn.Module
        Maps (batch, 4, input_length) to (batch, n_tasks) or (batch, n_tasks, bins); bins are
        averaged.
    genome : Genome
    records : iterable of VariantRecord
        For example ``read_vcf(path, genome)``; streamed, so memory stays at one batch.
        Chromosomes must be the genome's names and REF must match (read_vcf checks both).
    input_length : int
        The model's input length; see :func:`variant_windows` for how windows are cut.
        Windows past a chromosome end are N-padded and flagged in the ``padded`` column.
    tasks : sequence of str
        One name per model output column.
    out_tsv : path
        Output table, columns :func:`score_columns`: ``variant`` (0-based order in
        ``records``), chrom, pos (1-based, as in the VCF), id, ref, alt, padded (0/1), then
        per task ``_ref``, ``_alt``, ``_diff`` (alt - ref) and, with ``probabilities``,
        ``_log2fc`` = log2((alt + 1e-6) / (ref + 1e-6)). Rows are appended to
        ``out_tsv.tmp`` (flushed per batch) and renamed to ``out_tsv`` at the end.
    out_vcf : path, optional
        Also write a VCF (bgzipped when the name ends in .gz) with one record per variant and
        the INFO field ``DNALENS=task|ref|alt|diff|log2fc,...``; see
        :func:`write_variant_vcf`.
    batch_size : int
        Variants per batch (each gives two windows, four with ``both_strands``).
    both_strands : bool
        Average each prediction with that of the reverse-complemented window.
    probabilities : bool
        Apply a sigmoid to the outputs (models trained with the 'bce' loss).
    device : str or torch.device, optional
        Default: CUDA when available (:func:`dnalens.apply.predict.default_device`).
    resume : bool
        Continue from ``out_tsv.tmp`` left by an interrupted call with the same inputs: its
        rows are kept and the first that many records are not predicted again.
    progress : bool, optional
        Show a progress bar; default: when standard error is a terminal.
    total : int, optional
        Number of records, for the bar's end and time left (default: ``len(records)`` when
        it has one; a VCF stream has none).
    fast : bool or "auto"
        Reuse each reference pass and compute substitution alleles incrementally (see
        :mod:`dnalens.apply.variant_scoring`); same numbers as full passes to ~1e-6.
        ``"auto"`` (default) uses it for models that support it (convolutional stacks such
        as DeepSEA and Basset, checked on the first batch), ``True`` raises ConfigError for
        one that does not, ``False`` always runs both windows through the model.

    Returns
    -------
    VariantScoreSummary
    """
    if batch_size < 1:
        raise ConfigError(f"score_variants: batch_size must be >= 1; got {batch_size}")
    if input_length < 1:
        raise ConfigError(f"score_variants: input_length must be >= 1; got {input_length}")
    tasks = list(tasks)
    out_tsv = Path(out_tsv)
    if out_vcf is not None:
        check_info_tasks(tasks, out_vcf)
    summary = VariantScoreSummary(out_tsv, Path(out_vcf) if out_vcf is not None else None)
    device = torch.device(device) if device is not None else default_device()
    tmp = _tmp_path(out_tsv)
    if resume and not tmp.exists() and out_tsv.exists():
        os.replace(out_tsv, tmp)  # a finished table: resume from it (nothing left to do)
    header = "\t".join(score_columns(tasks, probabilities=probabilities)) + "\n"
    done, last_key = _open_partial(tmp, header, resume)
    summary.resumed = done

    stream = iter(records)
    if done:
        kept = list(islice(stream, done))
        if len(kept) < done:
            raise InputFileError(f"{tmp}: cannot resume: it holds {done:,} variants but the "
                                 f"input has only {len(kept):,}; delete it to start again")
        key = (kept[-1].chrom, kept[-1].pos, kept[-1].ref, kept[-1].alt)
        if key != last_key:
            raise InputFileError(
                f"{tmp}:{done + 1}: cannot resume: row {done:,} is {last_key} but variant "
                f"{done:,} of the input is {key}; were the inputs changed? delete it to start "
                "again")
        del kept

    if total is None and hasattr(records, "__len__"):
        total = len(records)
    show = sys.stderr.isatty() if progress is None else progress
    bar = _progress_bar(show, total, done)
    scorer = PairScorer(model, device=device, probabilities=probabilities,
                        both_strands=both_strands, fast=fast, batch_size=2 * batch_size)
    try:
        with open(tmp, "a") as handle, bar:
            for batch in _batches(stream, batch_size):
                windows = [variant_windows(genome, r, input_length) for r in batch]
                padded = [w[2] for w in windows]
                ref, alt = scorer(batch, [w[0] for w in windows], [w[1] for w in windows])
                # One write per batch: a kill leaves whole batches (or a half line, which
                # resume drops), so a resumed run predicts the same batches again.
                handle.write(effect_rows(batch, done + summary.scored, padded, ref, alt, tasks,
                                         probabilities))
                handle.flush()
                summary.scored += len(batch)
                summary.padded += int(sum(padded))
                bar.advance(len(batch))
    except DnalensError:
        # Bad input (a corrupt VCF, a model with the wrong outputs): resuming cannot help,
        # so leave nothing behind. Other exceptions (Ctrl-C, out of memory) keep the
        # partial table for --resume.
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out_tsv)
    summary.fast_path = bool(scorer.uses_fast_path)
    # Read after the loop: a VariantStream starts a fresh summary when iteration begins.
    vcf_summary = getattr(records, "summary", None)
    if isinstance(vcf_summary, VcfSummary):
        summary.vcf = vcf_summary
        summary.skipped = dict(vcf_summary.skipped)
    if summary.out_vcf is not None:
        write_variant_vcf(out_tsv, summary.out_vcf, genome, tasks, sites=_sites(records),
                          meta=getattr(records, "meta", ()))
    log.debug("%s", summary.describe())
    return summary


def _sites(records: Iterable[VariantRecord]) -> Iterable[VariantRecord] | None:
    """The records once more, for the QUAL and FILTER of the output VCF; None when they
    were a one-pass iterator."""
    if isinstance(records, VariantStream):
        # A fresh stream: re-iterating ``records`` would restart its summary and skip calls.
        return read_vcf(records.path, records.genome, rename_contigs=records.rename_contigs)
    return None if iter(records) is records else records
