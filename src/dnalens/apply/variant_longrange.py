"""Variant effects for long-range models: binned coverage (Basenji, Enformer).

This module and :mod:`dnalens.apply.variant_contacts` cut the reference and alternative
windows of the model's input length around each variant with
:func:`dnalens.apply.variants.variant_windows` (SNVs, MNVs, insertions and deletions;
N-padded past chromosome ends), predict both, reduce each pair of outputs to a few
numbers per task and write one TSV (atomically, see :func:`dnalens.files.write_atomic`).

Coverage (:func:`coverage_variant_effects`)
-------------------------------------------
Output bin ``j`` of a window starting at genome position ``s`` covers the bases
``[s + offset + j * bin_size, s + offset + (j + 1) * bin_size)`` with
``offset = (input_length - output_bins * bin_size) // 2``. A variant is scored on the sum of
the predicted coverage over a *scoring window* in genome coordinates: ``window_bp`` centred
on the variant, the whole output span of the reference window (the default), or each gene
that contains the variant. The reference sum runs over the reference bins that overlap the
scoring window.

**Indels.** Past an indel the alternative window holds the genome shifted by the length
change (see :func:`~dnalens.apply.variants.variant_windows`: a deletion pulls in bases from the
right; an insertion is trimmed on both ends, so even the left flank moves). Summing the same
bin indices would compare different genome bases, so the alternative sum is aligned:

- reference bins wholly left of REF map to alternative bins moved by the left flank's shift,
  those wholly right of REF by the right flank's shift; each shift is in bp and is rounded to
  the nearest whole bin (halves away from zero);
- the bins that hold the REF allele are replaced by the alternative bins that hold ALT;
- a reference bin whose aligned alternative bin falls outside the output is left out of both
  sums (the alternative window does not show those bases); each bin is counted once.

So the alternative sum covers the same genome bases as the reference sum, plus ALT, minus
REF; exactly when the length change (and, for insertions, half of it) is a multiple of
``bin_size``, otherwise to within half a bin at each end of the window. This is the usual
Basenji/Enformer way to score an indel: sum over a window rather than compare bins one to
one. Substitutions use the same bins for both alleles.

Contact maps are scored in :mod:`dnalens.apply.variant_contacts`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from dnalens.apply.predict import default_device, predict
from dnalens.apply.variants import _batches, _progress_bar, variant_windows
from dnalens.errors import ConfigError
from dnalens.files import write_atomic
from dnalens.io.genome import Genome
from dnalens.io.variants import VariantRecord, VcfSummary
from dnalens.models.ensemble import core_model
from dnalens.sequence import one_hot, reverse_complement

__all__ = [
    "COVERAGE_SCORES",
    "LongRangeSummary",
    "coverage_columns",
    "coverage_variant_effects",
    "scoring_bins",
]

log = logging.getLogger(__name__)

COVERAGE_SCORES = ("ref", "alt", "diff", "log2fc")
_RECORD_COLUMNS = ["variant", "chrom", "pos", "id", "ref", "alt"]
_EXAMPLES_KEPT = 5


@dataclass
class LongRangeSummary:
    """What :func:`coverage_variant_effects` or :func:`contact_variant_effects` did.

    Attributes
    ----------
    out_tsv : Path
    out_npz : Path or None
        The maps file of :func:`contact_variant_effects`, when asked for.
    scored : int
        Variants with at least one row in the table.
    rows : int
        Rows written (one per variant, or one per variant and gene).
    padded : int
        Scored variants whose ref or alt window ran past a chromosome end (N-padded).
    clipped_genes : int
        Rows whose gene reached past the model's output span and was cut to it.
    skipped : dict
        Reason -> count: the VCF reader's reasons (when the records came from
        :func:`dnalens.io.variants.read_vcf`) and ``not_in_gene`` for variants in no gene.
    examples : dict
        Reason -> the first few messages, for the reasons added here.
    vcf : VcfSummary or None
        The reader's summary, when there was one.
    """

    out_tsv: Path
    out_npz: Path | None = None
    scored: int = 0
    rows: int = 0
    padded: int = 0
    clipped_genes: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    vcf: VcfSummary | None = None

    def _skip(self, reason: str, message: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        kept = self.examples.setdefault(reason, [])
        if len(kept) < _EXAMPLES_KEPT:
            kept.append(message)

    def describe(self) -> str:
        """One line for the terminal."""
        text = f"{self.scored:,} variants scored"
        if self.rows != self.scored:
            text += f" ({self.rows:,} rows)"
        text += f" -> {self.out_tsv}"
        if self.out_npz is not None:
            text += f", maps -> {self.out_npz}"
        if self.padded:
            text += f"; {self.padded:,} near a chromosome end (N-padded)"
        if self.clipped_genes:
            text += f"; {self.clipped_genes:,} genes clipped to the model's output span"
        if self.skipped:
            reasons = ", ".join(f"{n:,} {r}" for r, n in sorted(self.skipped.items()))
            text += f"; skipped {sum(self.skipped.values()):,}: {reasons}"
        if self.vcf is not None and self.vcf.empty:
            text += "; the VCF holds no records"
        return text

    def _take_vcf(self, records: object) -> None:
        # Read after the loop: a VariantStream starts a fresh summary when iteration begins.
        vcf_summary = getattr(records, "summary", None)
        if isinstance(vcf_summary, VcfSummary):
            self.vcf = vcf_summary
            for reason, n in vcf_summary.skipped.items():
                self.skipped[reason] = self.skipped.get(reason, 0) + n


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def _require_kind(model: nn.Module, kinds: Sequence[str], caller: str, what: str,
                  hint: str) -> str:
    kind = getattr(core_model(model), "output_kind", None)
    if kind not in kinds:
        allowed = " or ".join(repr(k) for k in kinds)
        raise ConfigError(
            f"{caller}: the model must predict {what} (output_kind {allowed}); got "
            f"{type(core_model(model)).__name__} with output_kind {kind!r}; {hint}")
    return kind


def _task_names(tasks: Sequence[str] | None, n_tasks: int, caller: str) -> list[str]:
    if tasks is None:
        return [f"task{i}" for i in range(n_tasks)]
    tasks = list(tasks)
    if len(tasks) != n_tasks:
        raise ConfigError(f"{caller}: {len(tasks)} task names given but the model predicts "
                          f"{n_tasks} tasks")
    return tasks


def _check_common(caller: str, batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"{caller}: batch_size must be an int >= 1; got {batch_size!r}")


def _predict_pairs(model: nn.Module, windows: Sequence[tuple[str, str, bool]], batch_size: int,
                   device: torch.device, both_strands: bool = False,
                   flip_bins: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Model outputs (n, ...) of the ref and alt windows, float64.

    With ``both_strands`` each output is averaged with that of the reverse complement, whose
    bins (last axis) are reversed back first when ``flip_bins``.
    """
    x = one_hot([w[0] for w in windows] + [w[1] for w in windows])
    out = predict(model, x, batch_size=2 * batch_size, device=device).astype(np.float64)
    if both_strands:
        rc = predict(model, reverse_complement(x), batch_size=2 * batch_size, device=device)
        rc = rc.astype(np.float64)
        out = (out + (rc[..., ::-1] if flip_bins else rc)) / 2
    n = len(windows)
    return out[:n], out[n:]


def _record_head(index: int, record: VariantRecord) -> str:
    return (f"{index}\t{record.chrom}\t{record.pos}\t{record.id}\t{record.ref}\t"
            f"{record.alt}\t")


_number = "{:.6g}".format


# ---------------------------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    input_length: int
    output_bins: int
    bin_size: int

    @property
    def span(self) -> int:
        return self.output_bins * self.bin_size

    @property
    def offset(self) -> int:
        return (self.input_length - self.span) // 2


def _round_bins(bp: int, bin_size: int) -> int:
    """``bp / bin_size`` rounded to the nearest int, halves away from zero."""
    q, r = divmod(abs(bp), bin_size)
    q += 2 * r >= bin_size
    return q if bp >= 0 else -q


def scoring_bins(record: VariantRecord, input_length: int, output_bins: int, bin_size: int,
                 start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Bins of the ref and alt outputs to sum for the genome interval ``[start, end)``.

    The windows are those of :func:`~dnalens.apply.variants.variant_windows`; see the module
    docstring for how alt bins are aligned past an indel.

    Parameters
    ----------
    record : VariantRecord
    input_length, output_bins, bin_size : int
        The coverage model's layout.
    start, end : int
        0-based, half-open genome interval to score (same chromosome as the variant).

    Returns
    -------
    ref_bins, alt_bins : np.ndarray, shape (output_bins,), bool
        Reference bins overlapping ``[start, end)``; the alternative bins covering the same
        genome bases (ALT in place of REF).
    """
    layout = _Layout(input_length, output_bins, bin_size)
    ref_len, alt_len = len(record.ref), len(record.alt)
    # Window geometry of variant_windows (kept in step with it; the tests compare both).
    win = record.pos0 + ref_len // 2 - input_length // 2
    left_len = max(record.pos0 - win, 0)
    right_len = max(input_length - left_len - alt_len, input_length - left_len - ref_len, 0)
    extra = left_len + alt_len + right_len - input_length
    trim_left = extra // 2 if alt_len > ref_len else 0
    # Alt position p shows genome base win + p + shift: left flank, then right flank.
    left_shift = trim_left
    right_shift = record.end - win + trim_left - left_len - alt_len

    first = win + layout.offset  # genome start of ref bin 0
    bin_starts = first + bin_size * np.arange(output_bins)
    bin_ends = bin_starts + bin_size
    ref_bins = (bin_starts < end) & (bin_ends > start)
    left = ref_bins & (bin_ends <= record.pos0)
    right = ref_bins & (bin_starts >= record.end)
    middle = ref_bins & ~left & ~right

    alt_bins = np.zeros(output_bins, dtype=bool)
    for mask, shift in ((left, left_shift), (right, right_shift)):
        bins = np.flatnonzero(mask)
        moved = bins - _round_bins(shift, bin_size)
        inside = (moved >= 0) & (moved < output_bins)
        alt_bins[moved[inside]] = True
        # Bases the alt window does not show are left out of the ref sum too.
        ref_bins[bins[~inside]] = False
    if middle.any():
        a0 = left_len - trim_left - layout.offset  # ALT, relative to alt bin 0's first base
        a1 = a0 + alt_len
        k0 = min(max(a0 // bin_size, 0), output_bins)
        k1 = min(max(-(-a1 // bin_size), 0), output_bins)
        alt_bins[k0:k1] = True  # empty when ALT lies outside the output
    return ref_bins, alt_bins


def coverage_columns(tasks: Sequence[str], *, genes: bool = False) -> list[str]:
    """Columns of :func:`coverage_variant_effects`' table."""
    head = _RECORD_COLUMNS + (["gene"] if genes else [])
    return head + [f"{t}_{k}" for t in tasks for k in COVERAGE_SCORES]


class _GeneIndex:
    """Genes by chromosome, sorted by start, for 'which genes contain this variant'."""

    def __init__(self, genes: pd.DataFrame, caller: str) -> None:
        missing = [c for c in ("chrom", "start", "end") if c not in genes.columns]
        if missing:
            raise ConfigError(f"{caller}: genes needs columns chrom, start, end (as read by "
                              f"dnalens.io.intervals.read_bed); missing {', '.join(missing)}")
        frame = genes.reset_index(drop=True)
        starts = frame["start"].to_numpy(np.int64)
        ends = frame["end"].to_numpy(np.int64)
        if "name" in frame.columns:
            names = frame["name"].astype(str).tolist()
        else:
            names = [f"{c}:{s}-{e}" for c, s, e in zip(frame["chrom"], starts, ends,
                                                        strict=True)]
        self._by_chrom: dict[str, tuple[np.ndarray, ...]] = {}
        chroms = frame["chrom"].astype(str).to_numpy()
        for chrom in dict.fromkeys(chroms):
            rows = np.flatnonzero(chroms == chrom)
            rows = rows[np.argsort(starts[rows], kind="stable")]
            self._by_chrom[chrom] = (starts[rows], ends[rows], rows)
        self._names = names
        self._max_len = int((ends - starts).max()) if len(frame) else 0

    def containing(self, record: VariantRecord) -> list[tuple[str, int, int]]:
        """(name, start, end) of the genes overlapping REF, in the frame's order."""
        found = self._by_chrom.get(record.chrom)
        if found is None:
            return []
        starts, ends, rows = found
        lo = np.searchsorted(starts, record.pos0 - self._max_len, side="right")
        hi = np.searchsorted(starts, record.end, side="left")
        hit = [(rows[k], starts[k], ends[k]) for k in range(lo, hi) if ends[k] > record.pos0]
        return [(self._names[r], int(s), int(e)) for r, s, e in sorted(hit)]


def coverage_variant_effects(
    model: nn.Module,
    genome: Genome,
    records: Iterable[VariantRecord],
    out_tsv: str | Path,
    *,
    window_bp: int | None = None,
    genes: pd.DataFrame | None = None,
    tasks: Sequence[str] | None = None,
    batch_size: int = 8,
    device: str | torch.device | None = None,
    both_strands: bool = False,
    progress: bool | None = False,
) -> LongRangeSummary:
    """Summed predicted coverage around each variant, for the ref and alt alleles.

    Parameters
    ----------
    model : nn.Module
        A coverage model (``output_kind == "coverage"``: Basenji, Enformer, or an ensemble of
        them): (batch, 4, input_length) -> (batch, n_tasks, output_bins), non-negative.
    genome : Genome
    records : iterable of VariantRecord
        For example ``read_vcf(path, genome)``; streamed, a batch at a time.
    out_tsv : path
        Output table, columns :func:`coverage_columns`: ``variant`` (0-based order in
        ``records``), chrom, pos (1-based), id, ref, alt, ``gene`` (with ``genes``), then per
        task ``_ref`` and ``_alt`` (summed coverage over the scoring window), ``_diff``
        (alt - ref) and ``_log2fc`` = log2((alt + 1) / (ref + 1)); numbers as ``%.6g``.
        Written atomically.
    window_bp : int, optional
        Score the ``window_bp`` bases centred on the variant (the reference window's centre
        base); every output bin overlapping them counts. Default: the whole output span.
    genes : DataFrame, optional
        chrom, start, end (0-based, half-open) and optionally name, as read by
        :func:`dnalens.io.intervals.read_bed`. Each gene overlapping the variant's REF gives a
        row scored over the gene, clipped to the output span (counted in
        ``clipped_genes``); a variant in no gene is skipped (``not_in_gene``). Not together
        with ``window_bp``.
    tasks : sequence of str, optional
        Names for the output columns; default ``task0``, ``task1``, ...
    batch_size : int
        Variants per batch (two windows each, four with ``both_strands``).
    device : str or torch.device, optional
        Default: CUDA when available.
    both_strands : bool
        Average each prediction with that of the reverse-complemented window, its bins
        reversed back.
    progress : bool, optional
        Show a progress bar; None: when standard error is a terminal.

    Returns
    -------
    LongRangeSummary

    Raises
    ------
    ConfigError
        The model is not a coverage model, ``window_bp`` is not in 1 .. the output span, both
        ``window_bp`` and ``genes`` were given, or ``genes`` lacks a column.
    """
    caller = "coverage_variant_effects"
    _require_kind(model, ("coverage",), caller, "binned coverage",
                  "use dnalens.apply.variants.score_variants for models with one output per "
                  "window, or contact_variant_effects for Akita / deepC")
    _check_common(caller, batch_size)
    core = core_model(model)
    layout = _Layout(int(core.input_length), int(core.output_bins), int(core.bin_size))
    tasks = _task_names(tasks, int(core.n_tasks), caller)
    if window_bp is not None and genes is not None:
        raise ConfigError(f"{caller}: give window_bp or genes, not both")
    if window_bp is not None and (isinstance(window_bp, bool) or not isinstance(window_bp, int)
                                  or not 1 <= window_bp <= layout.span):
        raise ConfigError(f"{caller}: window_bp must be an int in 1..{layout.span:,} (the "
                          f"model's output span: {layout.output_bins} bins of "
                          f"{layout.bin_size} bp); got {window_bp!r}")
    gene_index = _GeneIndex(genes, caller) if genes is not None else None
    device = torch.device(device) if device is not None else default_device()
    out_tsv = Path(out_tsv)
    summary = LongRangeSummary(out_tsv)
    header = "\t".join(coverage_columns(tasks, genes=gene_index is not None)) + "\n"
    show = sys.stderr.isatty() if progress is None else progress
    total = len(records) if hasattr(records, "__len__") else None

    def targets(record: VariantRecord) -> list[tuple[str | None, int, int]]:
        """(gene name or None, start, end) of each scoring window of ``record``."""
        win = record.pos0 + len(record.ref) // 2 - layout.input_length // 2
        first, last = win + layout.offset, win + layout.offset + layout.span
        if gene_index is None:
            if window_bp is None:
                return [(None, first, last)]
            centre = win + layout.input_length // 2
            return [(None, centre - window_bp // 2, centre - window_bp // 2 + window_bp)]
        spans = []
        for name, start, end in gene_index.containing(record):
            if start < first or end > last:
                summary.clipped_genes += 1
            spans.append((name, max(start, first), min(end, last)))
        return spans

    def write(tmp: Path) -> None:
        index = 0
        with open(tmp, "w", encoding="utf-8", newline="\n") as handle, \
                _progress_bar(show, total, 0) as bar:
            handle.write(header)
            for batch in _batches(records, batch_size):
                jobs = []
                for record in batch:
                    spans = targets(record)
                    if spans:
                        jobs.append((index, record, spans))
                    else:
                        summary._skip("not_in_gene", f"{record.chrom}:{record.pos} "
                                      f"{record.ref}>{record.alt}: in no gene of genes")
                    index += 1
                bar.advance(len(batch))
                if not jobs:
                    continue
                windows = [variant_windows(genome, r, layout.input_length) for _, r, _ in jobs]
                ref_out, alt_out = _predict_pairs(model, windows, batch_size, device,
                                                  both_strands, flip_bins=True)
                _check_shape(ref_out, (len(tasks), layout.output_bins), caller)
                for k, (i, record, spans) in enumerate(jobs):
                    head = _record_head(i, record)
                    for name, start, end in spans:
                        ref_bins, alt_bins = scoring_bins(
                            record, layout.input_length, layout.output_bins,
                            layout.bin_size, start, end)
                        ref = ref_out[k][:, ref_bins].sum(axis=1)
                        alt = alt_out[k][:, alt_bins].sum(axis=1)
                        values = np.stack([ref, alt, alt - ref,
                                           np.log2((alt + 1) / (ref + 1))], axis=1)
                        gene = f"{name}\t" if name is not None else ""
                        handle.write(head + gene + "\t".join(map(_number, values.ravel()))
                                     + "\n")
                        summary.rows += 1
                summary.scored += len(jobs)
                summary.padded += sum(w[2] for w in windows)

    write_atomic(out_tsv, write)
    summary._take_vcf(records)
    log.debug("%s", summary.describe())
    return summary


def _check_shape(out: np.ndarray, expected: tuple[int, ...], caller: str) -> None:
    if tuple(out.shape[1:]) != expected:
        raise ConfigError(f"{caller}: the model's output per window has shape "
                          f"{tuple(out.shape[1:])}, but it declares {expected}")
