"""Simulation behind the built-in demo: a synthetic genome with JASPAR motifs planted in peaks.

Everything :func:`dnalens.data.demo.make_demo_data` draws lives here: which motif drives
which task, the peak classes, the CpG-depleted background, peak placement and the
sampling of motif instances that score above a background threshold. Writing the
files (FASTA, narrowPeak, MEME, TSV, README) is in :mod:`dnalens.data.demo`, which
also re-exports :data:`DEMO_TASKS`.

Sequences are uint8 codes A=0, C=1, G=2, T=3; coordinates are 0-based half-open.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from dnalens.io.motifs import find_motif, jaspar_motifs
from dnalens.io.pwm import Motif

__all__ = ["DEMO_TASKS"]

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
