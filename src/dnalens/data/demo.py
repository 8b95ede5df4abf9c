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

The simulation (motifs, background, peaks, instances) is in
:mod:`dnalens.data.demo_genome`; this module checks the arguments and writes the files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

from dnalens.data.demo_genome import (
    _CORE_HALF,
    _CPG_LOSS,
    _GC,
    _INSTANCE_TAIL,
    _MIN_GAP,
    _N_INSTANCES_P,
    _PEAK_CLASSES,
    _PEAK_WIDTH,
    _SCORE_SCALE,
    _TASK_MOTIFS,
    DEMO_TASKS,
    _background_freqs,
    _Peak,
    _Planted,
    _planted_motifs,
    _simulate_chromosome,
)
from dnalens.errors import ConfigError
from dnalens.io.meme import write_meme
from dnalens.io.motifs import JASPAR_CITATION

__all__ = ["DEMO_TASKS", "DemoData", "make_demo_data"]

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
