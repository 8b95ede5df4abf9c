"""The built-in demo: a synthetic genome with JASPAR motifs planted in cell-type peaks.

:func:`make_demo_data` writes a small, fully known data set that a DeepSEA-style
model can learn in minutes on a CPU. Four tasks stand for cell types; each has
its own driver motif (real JASPAR 2024 cluster matrices) and some peaks are
shared by two tasks, so the multitask labels are correlated but not identical:

======  ======================================  =========================
task    planted motif (JASPAR 2024 cluster)     peaks shared with
======  ======================================  =========================
cell_a  CTCF (C055:CTCF:C2H2_ZF)                -
cell_b  GATA (C101:GATA_MECOM:GATA)             cell_d (GATA + AP-1 peaks)
cell_c  HNF4 (C015:HNF_NR2E:Nuclear_receptor)   cell_d (HNF4 + AP-1 peaks)
cell_d  AP-1 (C036:FOS_JUN:bZIP)                cell_b, cell_c
======  ======================================  =========================

A peak belongs to every task whose motif it carries, so labels follow from
sequence alone. Everything is drawn from ``numpy.random`` seeded by ``seed``: the
same arguments give byte-identical files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pysam

from dnalens.errors import ConfigError
from dnalens.io.motifs import JASPAR_CITATION, Motif, find_motif, jaspar_motifs, write_meme

__all__ = ["DEMO_TASKS", "DemoData", "make_demo_data"]

# Planted motifs: short label -> JASPAR 2024 cluster id (resolved with find_motif).
_MOTIF_IDS = {"CTCF": "C055", "GATA": "C101", "HNF4": "C015", "AP-1": "C036"}
# Task -> labels of the motifs that make a peak of that task. One motif per task keeps
# a few hundred training peaks per motif, enough for a CNN to learn it from scratch.
_TASK_MOTIFS = {
    "cell_a": ("CTCF",),
    "cell_b": ("GATA",),
    "cell_c": ("HNF4",),
    "cell_d": ("AP-1",),
}
DEMO_TASKS: tuple[str, ...] = tuple(_TASK_MOTIFS)


class _PeakClass(NamedTuple):
    motifs: tuple[str, ...]  # every peak of the class carries at least one of each
    weight: float  # fraction of all peaks


_PEAK_CLASSES = (
    _PeakClass(("CTCF",), 0.20),
    _PeakClass(("GATA",), 0.20),
    _PeakClass(("HNF4",), 0.15),  # a 9 bp motif, learnt from fewer peaks than 7 bp GATA
    _PeakClass(("AP-1",), 0.10),
    _PeakClass(("GATA", "AP-1"), 0.20),  # shared by cell_b and cell_d
    _PeakClass(("HNF4", "AP-1"), 0.15),  # shared by cell_c and cell_d
)

_GC = 0.41  # genome-wide GC content, as in the human genome
_CPG_LOSS = 0.5  # fraction of CpGs mutated away (mild depletion, as by methyl-C deamination)
_PEAK_WIDTH = (200, 400)  # inclusive range, bp
_MIN_GAP = 1_000  # bp between peaks and from chromosome ends: a 2 kb window sees one peak
_CORE_HALF = 50  # motif instances lie within +-50 bp of the peak centre
# P(1, 2, 3 instances in a peak), before requiring one instance of each motif of its class;
# mostly 3, so most peaks carry a repeated signal that a CNN picks up in few steps.
_N_INSTANCES_P = (0.1, 0.2, 0.7)
# An instance must score as high as the top 0.001 % of background k-mers, so that a
# sampled but weak (low-information) site cannot leave a peak unrecognisable and chance
# look-alikes are rare (~0.02 per kb). For 7 bp motifs this leaves only the consensus.
_INSTANCE_TAIL = 1e-5
_SCORE_SCALE = 100  # log-odds are compared as integers in units of 0.01 bit
_LINE_WIDTH = 60
_DECODE = np.frombuffer(b"ACGT", dtype=np.uint8)


@dataclass(frozen=True)
class DemoData:
    """Paths and facts of a demo data set written by :func:`make_demo_data`.

    Attributes
    ----------
    root : Path
        The output folder.
    genome : Path
        ``genome.fa`` (indexed: ``genome.fa.fai`` beside it).
    peaks : dict[str, Path]
        Task -> ``peaks/<task>.narrowPeak``.
    motifs : dict[str, list[str]]
        Task -> names of the motifs that drive its peaks (as in ``motif_file``).
    chroms : list[str]
        ``chr1`` .. ``chrN``.
    chrom_length : int
        Length of every chromosome, bp.
    seed : int
        The seed the data were drawn with.
    motif_file : Path
        ``motifs.meme``: the planted matrices (alt names CTCF, GATA, HNF4, AP-1).
    planted : Path
        ``planted.tsv``: one row per motif instance (chrom, start, end, strand, motif,
        task, peak), 0-based half-open.
    """

    root: Path
    genome: Path
    peaks: dict[str, Path]
    motifs: dict[str, list[str]]
    chroms: list[str]
    chrom_length: int
    seed: int
    motif_file: Path
    planted: Path

    @property
    def tasks(self) -> list[str]:
        """Task names in file order."""
        return list(self.peaks)


@dataclass(frozen=True)
class _Planted:
    """A motif to plant, with what sampling and scoring it need."""

    label: str
    task: str
    motif: Motif
    cdf: np.ndarray  # (3, width): P(base <= A), P(base <= C), P(base <= G)
    scores: np.ndarray  # (4, width) int64 log-odds in units of 1 / _SCORE_SCALE bit
    threshold: int  # minimum accepted score, same units


class _Instance(NamedTuple):
    start: int
    end: int
    strand: str
    label: str


class _Peak(NamedTuple):
    chrom: str
    start: int
    end: int
    strength: float
    instances: list[_Instance]


def make_demo_data(
    out_dir: str | Path,
    *,
    n_chroms: int = 4,
    chrom_length: int = 1_000_000,
    peaks_per_mb: int = 500,
    seed: int = 0,
) -> DemoData:
    """Write the demo genome, peaks and planted motifs into ``out_dir``.

    Writes ``genome.fa`` (+ ``.fai``; ``chr1``..``chrN``, upper case, 60 columns),
    ``peaks/<task>.narrowPeak`` (10 columns, sorted, 0-based half-open, column 10 the
    summit offset), ``motifs.meme``, ``planted.tsv`` and a ``README.md`` that states
    what was planted. Existing files of those names are replaced.

    Background: i.i.d. bases at GC 0.41, then half the CpGs mutated to TpG/CpA.
    Peaks: 200-400 bp, at least 1 kb apart, each with 1-3 motif instances within
    +-50 bp of its centre, on a random strand; instances are drawn base by base from the
    PWM, keeping only draws that score in the top 0.001 % of background k-mers (for a
    short motif, whose consensus is commoner than that, only the consensus).

    Parameters
    ----------
    out_dir : str or Path
        Output folder, created when missing.
    n_chroms : int
        Number of chromosomes.
    chrom_length : int
        Length of each chromosome, bp.
    peaks_per_mb : int
        Peaks (over all tasks) per megabase; each chromosome gets at least one. The
        default gives the ~150-300 training peaks per task (two 1 Mb chromosomes) that a
        small DeepSEA-style model needs to pass test AUROC 0.9 within 12 epochs.
    seed : int
        Seed (>= 0); each chromosome draws from its own stream, so ``chr1`` does not
        change with ``n_chroms``.

    Returns
    -------
    DemoData

    Raises
    ------
    ConfigError
        An argument is out of range, or the peaks do not fit on the chromosomes.
    """
    n_peaks = _check_args(n_chroms, chrom_length, peaks_per_mb, seed)
    planted = _planted_motifs()
    chroms = [f"chr{i}" for i in range(1, n_chroms + 1)]
    streams = np.random.SeedSequence(seed).spawn(n_chroms)
    sequences, peaks = [], []
    for chrom, stream in zip(chroms, streams, strict=True):
        codes, chrom_peaks = _simulate_chromosome(
            np.random.default_rng(stream), chrom, chrom_length, n_peaks, planted
        )
        sequences.append(codes)
        peaks.extend(chrom_peaks)

    root = Path(out_dir)
    (root / "peaks").mkdir(parents=True, exist_ok=True)
    genome = root / "genome.fa"
    _write_fasta(genome, chroms, sequences)
    peak_files = {task: root / "peaks" / f"{task}.narrowPeak" for task in DEMO_TASKS}
    for task, path in peak_files.items():
        path.write_text(_narrowpeak_text(peaks, task, planted))
    motif_file = root / "motifs.meme"
    write_meme([p.motif for p in planted.values()], motif_file, background=_background_freqs())
    planted_file = root / "planted.tsv"
    planted_file.write_text(_planted_text(peaks, planted))
    (root / "README.md").write_text(
        _readme_text(peaks, planted, n_chroms, chrom_length, peaks_per_mb, seed)
    )
    return DemoData(
        root=root,
        genome=genome,
        peaks=peak_files,
        motifs={t: [planted[m].motif.name for m in ms] for t, ms in _TASK_MOTIFS.items()},
        chroms=chroms,
        chrom_length=chrom_length,
        seed=seed,
        motif_file=motif_file,
        planted=planted_file,
    )


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"make_demo_data: {name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _check_args(n_chroms: int, chrom_length: int, peaks_per_mb: int, seed: int) -> int:
    """Validate the arguments; return the number of peaks per chromosome."""
    _check_int(n_chroms, "n_chroms", 1)
    _check_int(chrom_length, "chrom_length", 1)
    _check_int(peaks_per_mb, "peaks_per_mb", 1)
    _check_int(seed, "seed", 0)
    n_peaks = max(1, round(peaks_per_mb * chrom_length / 1e6))
    needed = n_peaks * (_PEAK_WIDTH[1] + _MIN_GAP) + _MIN_GAP
    if needed > chrom_length:
        raise ConfigError(
            f"make_demo_data: {n_peaks} peaks per chromosome (peaks_per_mb={peaks_per_mb}) of up "
            f"to {_PEAK_WIDTH[1]} bp, {_MIN_GAP} bp apart, need {needed} bp but "
            f"chrom_length={chrom_length}; lower peaks_per_mb or raise chrom_length"
        )
    return n_peaks


# --------------------------------------------------------------------------- motifs


def _background_freqs() -> np.ndarray:
    """Base frequencies A, C, G, T of the final (CpG-depleted) background, shape (4,)."""
    return np.array([1 - _GC, _GC, _GC, 1 - _GC]) / 2


def _planted_motifs() -> dict[str, _Planted]:
    jaspar = jaspar_motifs()
    task_of = {label: task for task, labels in _TASK_MOTIFS.items() for label in labels}
    bg = _background_freqs()
    planted = {}
    for label, cluster in _MOTIF_IDS.items():
        found = find_motif(jaspar, cluster)
        motif = Motif(found.name, found.pwm, alt_name=label)
        scores = np.round(motif.log_odds(bg) * _SCORE_SCALE).astype(np.int64)
        planted[label] = _Planted(
            label=label,
            task=task_of[label],
            motif=motif,
            cdf=np.cumsum(motif.pwm, axis=0)[:3],
            scores=scores,
            threshold=_tail_threshold(scores, bg, _INSTANCE_TAIL),
        )
    return planted


def _tail_threshold(scores: np.ndarray, bg: np.ndarray, tail: float) -> int:
    """Smallest integer score that background k-mers reach with probability <= ``tail``.

    Exact: the score distribution of an i.i.d. ``bg`` k-mer is the convolution of the
    per-position distributions (``scores`` has shape (4, width), integer units).
    """
    dist, low = np.ones(1), 0
    for column in scores.T:
        step = np.zeros(column.max() - column.min() + 1)
        np.add.at(step, column - column.min(), bg)
        dist, low = np.convolve(dist, step), low + column.min()
    at_least = np.cumsum(dist[::-1])[::-1]  # at_least[k] = P(score >= low + k)
    rare = np.flatnonzero(at_least <= tail)
    # A short motif's consensus alone may be commoner than `tail`: then demand the maximum.
    return int(low + (rare[0] if rare.size else dist.size - 1))


def _sample_sites(rng: np.random.Generator, planted: _Planted, n: int) -> np.ndarray:
    """``n`` sites drawn base by base from the PWM, kept only if they pass the threshold.

    Returns
    -------
    np.ndarray, shape (n, width), uint8 codes A=0, C=1, G=2, T=3 (motif strand).
    """
    width = planted.motif.width
    kept: list[np.ndarray] = []
    total = 0
    while total < n:
        u = rng.random((2 * (n - total) + 16, 1, width))
        codes = (u >= planted.cdf[None]).sum(axis=1)  # inverse-CDF draw, shape (batch, width)
        score = planted.scores[codes, np.arange(width)].sum(axis=1)
        kept.append(codes[score >= planted.threshold])
        total += len(kept[-1])
    return np.concatenate(kept)[:n].astype(np.uint8)


# --------------------------------------------------------------------------- genome


def _background(rng: np.random.Generator, length: int) -> np.ndarray:
    """I.i.d. bases with mild CpG depletion; shape (length,), uint8 codes."""
    # Start GC-richer so that after CpG loss the GC content is _GC: solve
    # gc0 - loss * (gc0 / 2) ** 2 = _GC for gc0.
    gc0 = (1 - np.sqrt(1 - _CPG_LOSS * _GC)) / (_CPG_LOSS / 2)
    cdf = np.cumsum([(1 - gc0) / 2, gc0 / 2, gc0 / 2])
    codes = np.searchsorted(cdf, rng.random(length), side="right").astype(np.uint8)
    cpg = np.flatnonzero((codes[:-1] == 1) & (codes[1:] == 2))
    lost = cpg[rng.random(cpg.size) < _CPG_LOSS]
    on_top = rng.random(lost.size) < 0.5  # C->T on this strand, or on the other (G->A)
    codes[lost[on_top]] = 3
    codes[lost[~on_top] + 1] = 0
    return codes


def _peak_intervals(
    rng: np.random.Generator, length: int, n_peaks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, non-overlapping peaks at least _MIN_GAP apart; (starts, ends), shape (n,)."""
    widths = rng.integers(_PEAK_WIDTH[0], _PEAK_WIDTH[1] + 1, size=n_peaks)
    slack = length - widths.sum() - (n_peaks + 1) * _MIN_GAP
    # Sorted cut points share the slack among the gaps: uniform, non-overlapping placement.
    cuts = np.sort(rng.integers(0, slack + 1, size=n_peaks))
    before = np.concatenate([[0], np.cumsum(widths[:-1] + _MIN_GAP)])
    starts = _MIN_GAP + cuts + before
    return starts, starts + widths


def _instance_labels(rng: np.random.Generator, motifs: tuple[str, ...]) -> list[str]:
    """1-3 motif labels for a peak, at least one of each motif of its class, in random order."""
    p = np.array(_N_INSTANCES_P)
    p[: len(motifs) - 1] = 0.0  # a peak of a two-motif class has at least two instances
    n = int(rng.choice(np.arange(1, len(p) + 1), p=p / p.sum()))
    labels = list(motifs) + [motifs[i] for i in rng.integers(0, len(motifs), n - len(motifs))]
    rng.shuffle(labels)
    return labels


def _simulate_chromosome(
    rng: np.random.Generator, chrom: str, length: int, n_peaks: int, planted: dict[str, _Planted]
) -> tuple[np.ndarray, list[_Peak]]:
    """One chromosome's codes (shape (length,), uint8) with motifs written into its peaks."""
    codes = _background(rng, length)
    starts, ends = _peak_intervals(rng, length, n_peaks)
    weights = np.array([c.weight for c in _PEAK_CLASSES])
    classes = rng.choice(len(_PEAK_CLASSES), size=n_peaks, p=weights / weights.sum())
    labels = [_instance_labels(rng, _PEAK_CLASSES[c].motifs) for c in classes]
    counts = Counter(label for peak_labels in labels for label in peak_labels)
    pools = {lab: iter(_sample_sites(rng, planted[lab], counts[lab])) for lab in sorted(counts)}
    strengths = rng.gamma(4.0, 1.5, size=n_peaks)
    peaks = []
    for start, end, peak_labels, strength in zip(starts, ends, labels, strengths, strict=True):
        sites = [next(pools[label]) for label in peak_labels]
        instances = _write_instances(rng, codes, (int(start) + int(end)) // 2, peak_labels, sites)
        peaks.append(_Peak(chrom, int(start), int(end), float(strength), instances))
    return codes, peaks


def _write_instances(
    rng: np.random.Generator,
    codes: np.ndarray,
    centre: int,
    labels: list[str],
    sites: list[np.ndarray],
) -> list[_Instance]:
    """Write ``sites`` side by side, at random gaps, into centre +- _CORE_HALF of ``codes``."""
    widths = np.array([len(s) for s in sites])
    cuts = np.sort(rng.integers(0, 2 * _CORE_HALF - widths.sum() + 1, size=len(sites)))
    offsets = centre - _CORE_HALF + cuts + np.concatenate([[0], np.cumsum(widths[:-1])])
    instances = []
    for start, site, label in zip(offsets.tolist(), sites, labels, strict=True):
        minus = rng.random() < 0.5
        # On the minus strand the genome holds the reverse complement (codes: 3 - code).
        codes[start : start + len(site)] = 3 - site[::-1] if minus else site
        instances.append(_Instance(start, start + len(site), "-" if minus else "+", label))
    return instances


# --------------------------------------------------------------------------- writing


def _write_fasta(path: Path, names: list[str], sequences: list[np.ndarray]) -> None:
    with open(path, "wb") as handle:
        for name, codes in zip(names, sequences, strict=True):
            handle.write(f">{name}\n".encode())
            handle.write(_fasta_lines(_DECODE[codes]))
    path.with_name(path.name + ".fai").unlink(missing_ok=True)  # never keep a stale index
    pysam.faidx(str(path))


def _fasta_lines(seq: np.ndarray) -> bytes:
    """ASCII bases (uint8, shape (length,)) as newline-terminated lines of _LINE_WIDTH."""
    n_full = seq.size // _LINE_WIDTH
    body = seq[: n_full * _LINE_WIDTH].reshape(n_full, _LINE_WIDTH)
    newlines = np.full((n_full, 1), ord("\n"), dtype=np.uint8)
    rest = seq[n_full * _LINE_WIDTH :].tobytes()
    return np.hstack([body, newlines]).tobytes() + (rest + b"\n" if rest else b"")


def _peak_name(index: int) -> str:
    return f"peak_{index:05d}"


def _narrowpeak_text(peaks: list[_Peak], task: str, planted: dict[str, _Planted]) -> str:
    """narrowPeak rows for ``task``; the signal grows with the task's motif instances."""
    rows = []
    for index, peak in enumerate(peaks):
        n_sites = sum(planted[i.label].task == task for i in peak.instances)
        if n_sites == 0:
            continue
        signal = peak.strength * (1 + n_sites)
        p_value = 2.0 + 1.5 * signal
        score = min(1000, round(40 * signal))
        summit = (peak.end - peak.start) // 2
        rows.append(
            f"{peak.chrom}\t{peak.start}\t{peak.end}\t{_peak_name(index)}\t{score}\t.\t"
            f"{signal:.3f}\t{p_value:.3f}\t{p_value - 1.0:.3f}\t{summit}\n"
        )
    return "".join(rows)


def _planted_text(peaks: list[_Peak], planted: dict[str, _Planted]) -> str:
    rows = ["chrom\tstart\tend\tstrand\tmotif\ttask\tpeak\n"]
    for index, peak in enumerate(peaks):
        for inst in sorted(peak.instances):
            info = planted[inst.label]
            rows.append(
                f"{peak.chrom}\t{inst.start}\t{inst.end}\t{inst.strand}\t{info.motif.name}\t"
                f"{info.task}\t{_peak_name(index)}\n"
            )
    return "".join(rows)


def _readme_text(
    peaks: list[_Peak],
    planted: dict[str, _Planted],
    n_chroms: int,
    chrom_length: int,
    peaks_per_mb: int,
    seed: int,
) -> str:
    per_task = Counter(task for p in peaks for task in {planted[i.label].task for i in p.instances})
    per_motif = Counter(i.label for p in peaks for i in p.instances)
    task_lines = "".join(
        f"| {task} | {', '.join(f'{lab} (`{planted[lab].motif.name}`)' for lab in labels)} "
        f"| {per_task[task]} |\n"
        for task, labels in _TASK_MOTIFS.items()
    )
    class_lines = "".join(
        f"| {' + '.join(c.motifs)} | {c.weight:.1%} | "
        f"{', '.join(sorted({planted[m].task for m in c.motifs}))} |\n"
        for c in _PEAK_CLASSES
    )
    motif_lines = "".join(
        f"| {lab} | `{p.motif.name}` | {p.motif.consensus} | {p.threshold / _SCORE_SCALE:.2f} "
        f"| {per_motif[lab]} |\n"
        for lab, p in planted.items()
    )
    return f"""# dnalens demo data

Synthetic data written by `dnalens.data.demo.make_demo_data(n_chroms={n_chroms},
chrom_length={chrom_length}, peaks_per_mb={peaks_per_mb}, seed={seed})`. Same arguments, same bytes.

## Files

- `genome.fa` (+ `genome.fa.fai`): {n_chroms} chromosomes `chr1`..`chr{n_chroms}` of \
{chrom_length:,} bp, upper case.
- `peaks/<task>.narrowPeak`: 10-column narrowPeak, sorted, 0-based half-open; column 10 is the
  summit offset (the peak centre). Peaks of two tasks share coordinates and name.
- `motifs.meme`: the planted matrices (JASPAR 2024 clusters; alt names are the labels below).
- `planted.tsv`: every planted motif instance (chrom, start, end, strand, motif, task, peak).

## Background

Independent bases at GC content {_GC}, then {_CPG_LOSS:.0%} of CpG dinucleotides mutated to TpG
or CpA (mild CpG depletion).

## Tasks (cell types)

A peak is labelled positive for every task whose motif it carries.

| task | driver motif(s) | peaks |
|---|---|---|
{task_lines}
## Peak classes

{len(peaks)} peaks in all, {_PEAK_WIDTH[0]}-{_PEAK_WIDTH[1]} bp wide, at least {_MIN_GAP} bp apart
(and from chromosome ends). Each carries 1-{len(_N_INSTANCES_P)} motif instances (at least one of
every motif of its class) within +-{_CORE_HALF} bp of its centre, on a random strand.

| motifs | share of peaks | tasks |
|---|---|---|
{class_lines}
## Motif instances

Drawn base by base from the matrix; a draw is kept only if its log2-odds score against the
background is at least the threshold below: reached by a fraction {_INSTANCE_TAIL:g} of background
k-mers or less (for a short motif whose consensus is commoner, the consensus score).

| label | JASPAR 2024 cluster | consensus | min score (bits) | instances |
|---|---|---|---|---|
{motif_lines}
JASPAR data are CC BY 4.0. Cite: {JASPAR_CITATION}
"""
