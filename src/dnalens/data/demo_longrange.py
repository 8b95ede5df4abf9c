"""A simulated genome with known answers for long-range models.

:func:`write_longrange_demo` writes a small genome whose coverage tracks, contact map
and enhancer-promoter pairs all follow from planted JASPAR motifs and a planted domain
structure, so that Basenji/Enformer-style (coverage), Akita/deepC-style (contacts) and
enhancer-promoter models each have a known answer:

=================  ==============================================================
what               planted rule
=================  ==============================================================
domains            Each chromosome is cut into domains ``[b_i, b_{i+1})``
                   (``b`` on bin edges). Three CTCF sites within 1 kb inside each
                   domain end, convergent: forward (``+``) at the left end,
                   reverse (``-``) at the right end.
contacts.cool      Expected count ``~ 1 / (d + 1)`` (``d`` in bins), x3 when both
                   bins lie in one domain, a dot at every domain corner (the two
                   CTCF bins), per-bin bias, log-normal and Poisson noise. A run of
                   N in every chromosome gives empty bins: NaN weights.
tracks/*.bw        ``enhancer_a``: a peak at every GATA enhancer; ``enhancer_b``: at
                   every HNF4 enhancer; ``ctcf``: at every CTCF cluster. Peaks are
                   Gaussian (FWHM 300-500 bp), Poisson noise on a low background.
pairs.bedpe        (enhancer anchor, promoter anchor), 500 bp each: label 1 iff the
                   enhancer carries GATA, the promoter carries the SP/KLF GC box and
                   both lie in one domain.
=================  ==============================================================

Sequences are uint8 codes A=0, C=1, G=2, T=3, N=4; coordinates are 0-based half-open
(the BED convention) in every file, including ``truth.json``. The background and the
motif sampling are those of :mod:`dnalens.data.demo_genome`.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dnalens.alphabet import N_CODE
from dnalens.data.demo import _fasta_lines
from dnalens.data.demo_genome import (
    _INSTANCE_TAIL,
    _SCORE_SCALE,
    _background,
    _background_freqs,
    _Planted,
    _sample_sites,
    _tail_threshold,
    _write_instances,
)
from dnalens.errors import ConfigError
from dnalens.io.motifs import find_motif, jaspar_motifs
from dnalens.io.pwm import Motif

__all__ = ["LongRangeDemo", "write_longrange_demo"]

# Planted motifs: label -> JASPAR 2024 cluster id. SP/KLF is the GC box of promoters.
_MOTIF_IDS = {"CTCF": "C055", "GATA": "C101", "HNF4": "C015", "SP": "C038"}
_ENHANCER_MOTIF = "GATA"  # the motif a positive pair's enhancer anchor carries
_OTHER_ENHANCER_MOTIF = "HNF4"
_PROMOTER_MOTIF = "SP"
_ANCHOR_MOTIFS = (_ENHANCER_MOTIF, _OTHER_ENHANCER_MOTIF, _PROMOTER_MOTIF)
_TRACKS = {"enhancer_a": "GATA", "enhancer_b": "HNF4", "ctcf": "CTCF"}  # name -> motif

_DECODE = np.frombuffer(b"ACGTN", dtype=np.uint8)
_CTCF_COPIES = 3  # CTCF sites per domain end
_CTCF_SPAN = (100, 1_000)  # they lie this far (bp) inside the domain from its boundary
_CTCF_ZONE = 1_500  # no other feature within this distance of a boundary
_SITE_COPIES = 3  # motif instances per enhancer / promoter, within +-50 bp of its centre
_SLOT = 2_000  # features sit one per 2 kb slot ...
_JITTER = 400  # ... within +-400 bp of the slot centre, so centres are >= 1.2 kb apart
_ANCHOR = 500  # pair anchor width, centred on the feature
_GAP_BINS = 2  # bins of N per chromosome (empty in the contact map)
_ENHANCER_SPACING = 5_000  # bp of chromosome per enhancer (GATA and HNF4 alike)
_PROMOTER_SPACING = 12_500
_BLANK_SPACING = 10_000  # motif-free anchors used as negative enhancers / promoters
# Contacts: expected count = _CONTACT_SCALE / (d + 1) * enrichment * dot * biases * noise.
_CONTACT_SCALE = 500.0
_DOMAIN_ENRICHMENT = 3.0
_DOT_STRENGTH = 4.0  # extra fold at a domain corner ...
_DOT_SIGMA = 0.8  # ... spread over a Gaussian of this many bins
_BIAS_SIGMA = 0.1  # log-normal per-bin visibility
_NOISE_SIGMA = 0.2  # log-normal per-pixel noise, before Poisson sampling
# Coverage: Poisson(background + height * Gaussian), height = 10 + Poisson(30).
_COVERAGE_BACKGROUND = 0.2
_HEIGHT = (10, 30)
_SIGMA_BP = (130, 210)  # FWHM = 2.355 sigma: 300-500 bp
_PAIR_REASONS = (
    "positive",
    "no_enhancer_motif",
    "wrong_enhancer_motif",
    "no_promoter_motif",
    "across_domains",
)


@dataclass(frozen=True)
class LongRangeDemo:
    """Paths and known answers of a data set written by :func:`write_longrange_demo`.

    Attributes
    ----------
    root : Path
        The output folder.
    genome : Path
        ``genome.fa`` (indexed: ``genome.fa.fai`` beside it); ``chr1`` .. ``chrN``.
    tracks_tsv : Path
        ``tracks.tsv``: columns name, file (relative to the TSV), summary (``mean``:
        coverage per base, one scale for any bin size), transform (``none``).
    bigwigs : dict[str, Path]
        Track name -> ``tracks/<name>.bw`` (per-base coverage).
    cool : Path
        ``contacts.cool`` at ``resolution``, balanced (``weight`` column in its bins).
    bedpe : Path
        ``pairs.bedpe``: enhancer anchor, promoter anchor, label.
    truth : Path
        ``truth.json``: domains, CTCF sites, enhancers, promoters, gaps, pair reasons.
    boundaries : dict[str, list[int]]
        Chromosome -> domain boundaries ``b_0 < b_1 < ... < b_k`` (bp, multiples of
        ``resolution``); domain ``i`` is ``[b_i, b_{i+1})``. Outside ``[b_0, b_k)`` no
        domain.
    resolution : int
        Bin size of the contact map, bp.
    chrom_sizes : dict[str, int]
        Chromosome -> length, in FASTA order.
    seed : int
        The seed the data were drawn with.
    """

    root: Path
    genome: Path
    tracks_tsv: Path
    bigwigs: dict[str, Path]
    cool: Path
    bedpe: Path
    truth: Path
    boundaries: dict[str, list[int]]
    resolution: int
    chrom_sizes: dict[str, int]
    seed: int


def write_longrange_demo(
    out_dir: str | Path,
    *,
    seed: int = 0,
    n_chroms: int = 4,
    chrom_length: int = 400_000,
    resolution: int = 2048,
    domain_size: tuple[int, int] | None = None,
    pairs_per_chrom: int = 300,
) -> LongRangeDemo:
    """Write a genome with planted domains, enhancers and promoters, and what they imply.

    Writes into ``out_dir`` (existing files of these names are replaced):

    - ``genome.fa`` (+ ``.fai``): background of :mod:`dnalens.data.demo_genome` (GC 0.41,
      mild CpG depletion), upper case, 60 columns, with a run of N (2 bins) per chromosome.
    - ``contacts.cool``: the contact map (integer counts, upper triangle with diagonal,
      cis only), balanced with ``cooler.balance_cooler(cis_only=True, mad_max=0)``: NaN
      exactly in the N bins.
    - ``tracks/enhancer_a.bw``, ``tracks/enhancer_b.bw``, ``tracks/ctcf.bw`` and
      ``tracks.tsv`` listing them.
    - ``pairs.bedpe``: ``#chrom1 start1 end1 chrom2 start2 end2 label`` (header starts
      with ``#``), anchor 1 the enhancer, anchor 2 the promoter, sorted by position.
    - ``truth.json``: everything planted, and one reason per ``pairs.bedpe`` row.

    Per chromosome of length ``L``: domains of ``domain_size`` bp (random, on bin edges)
    with convergent CTCF clusters at their ends; ``L / 5 kb`` enhancers (half GATA, half
    HNF4, three instances each, random strands), ``L / 12.5 kb`` promoters (three SP/KLF
    instances) and ``L / 10 kb`` motif-free anchors (chance hits of GATA, HNF4 and SP
    removed), at least 1.2 kb apart. Pairs join an enhancer-side anchor and a
    promoter-side anchor at most ``domain_size[1]`` apart: about half positive, the
    rest split evenly among the four reasons for a 0 (enhancer anchor without motif,
    with HNF4 instead of GATA, promoter anchor without motif, anchors in different
    domains).

    Parameters
    ----------
    out_dir : str or Path
        Output folder, created when missing.
    seed : int
        Seed (>= 0). Each chromosome draws from its own stream, so ``chr1`` does not
        change with ``n_chroms``. The same arguments give byte-identical files, except
        ``contacts.cool`` whose HDF5 metadata hold a creation date (its tables match).
    n_chroms : int
        Number of chromosomes, ``chr1`` .. ``chrN``.
    chrom_length : int
        Length of each chromosome, bp.
    resolution : int
        Bin size of the contact map, bp.
    domain_size : (int, int), optional
        Smallest and largest domain, bp. Default: 7.5 % and 30 % of ``chrom_length``
        (30-120 kb for 400 kb), at least 8 bins.
    pairs_per_chrom : int
        Pairs per chromosome at most: half positive and half negative (150 + 150 with
        the defaults); where fewer positives exist, all of them and as many negatives.

    Returns
    -------
    LongRangeDemo

    Raises
    ------
    ConfigError
        An argument is out of range, or the domains and features do not fit.
    """
    size_range = _check_args(n_chroms, chrom_length, resolution, domain_size, pairs_per_chrom, seed)
    try:
        import cooler
    except ImportError:
        raise ConfigError(
            "write_longrange_demo: the contact map needs the cooler package; "
            "pip install 'dnalens[hic]'"
        ) from None
    import pyBigWig
    import pysam

    planted = _motifs()
    chroms = [f"chr{i}" for i in range(1, n_chroms + 1)]
    streams = np.random.SeedSequence(seed).spawn(n_chroms)
    sims = [
        _simulate_chromosome(
            np.random.default_rng(stream),
            chrom,
            chrom_length,
            resolution,
            size_range,
            pairs_per_chrom,
            planted,
        )
        for chrom, stream in zip(chroms, streams, strict=True)
    ]
    chrom_sizes = {chrom: chrom_length for chrom in chroms}

    root = Path(out_dir)
    (root / "tracks").mkdir(parents=True, exist_ok=True)
    genome = root / "genome.fa"
    with open(genome, "wb") as handle:
        for sim in sims:
            handle.write(f">{sim['chrom']}\n".encode())
            handle.write(_fasta_lines(_DECODE[sim["codes"]]))
    genome.with_name(genome.name + ".fai").unlink(missing_ok=True)  # never keep a stale index
    pysam.faidx(str(genome))

    bigwigs = {name: root / "tracks" / f"{name}.bw" for name in _TRACKS}
    for name, path in bigwigs.items():
        bw = pyBigWig.open(str(path), "w")
        bw.addHeader(list(chrom_sizes.items()), maxZooms=4)
        for sim in sims:
            values = sim["coverage"][name]
            bw.addEntries(sim["chrom"], 0, values=values.astype(np.float64), span=1, step=1)
        bw.close()
    tracks_tsv = root / "tracks.tsv"
    tracks_tsv.write_text(
        "name\tfile\tsummary\ttransform\n"
        + "".join(f"{name}\ttracks/{name}.bw\tmean\tnone\n" for name in bigwigs)
    )

    cool = root / "contacts.cool"
    _write_cool(cooler, cool, sims, chrom_sizes, resolution)

    bedpe = root / "pairs.bedpe"
    rows = ["#chrom1\tstart1\tend1\tchrom2\tstart2\tend2\tlabel\n"]
    reasons = []
    for sim in sims:
        for pair in sim["pairs"]:
            rows.append("\t".join(map(str, pair[:7])) + "\n")
            reasons.append(pair[7])
    bedpe.write_text("".join(rows))

    truth = root / "truth.json"
    truth.write_text(json.dumps(_truth(sims, planted, seed, resolution, reasons), indent=1) + "\n")
    return LongRangeDemo(
        root=root,
        genome=genome,
        tracks_tsv=tracks_tsv,
        bigwigs=bigwigs,
        cool=cool,
        bedpe=bedpe,
        truth=truth,
        boundaries={sim["chrom"]: list(sim["boundaries"]) for sim in sims},
        resolution=resolution,
        chrom_sizes=chrom_sizes,
        seed=seed,
    )


# --------------------------------------------------------------------------- arguments


def _fail(message: str) -> ConfigError:
    return ConfigError(f"write_longrange_demo: {message}")


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise _fail(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _check_args(
    n_chroms: int,
    chrom_length: int,
    resolution: int,
    domain_size: tuple[int, int] | None,
    pairs_per_chrom: int,
    seed: int,
) -> tuple[int, int]:
    """Validate the arguments; return the domain size range in bins."""
    _check_int(n_chroms, "n_chroms", 1)
    _check_int(chrom_length, "chrom_length", 1)
    _check_int(resolution, "resolution", 1_000)
    _check_int(pairs_per_chrom, "pairs_per_chrom", 1)
    _check_int(seed, "seed", 0)
    min_bins = 8  # room for the CTCF clusters, a gap and features inside one domain
    if domain_size is None:
        low = max(min_bins, round(0.075 * chrom_length / resolution))
        high = max(low, round(0.3 * chrom_length / resolution))
    else:
        if (
            not isinstance(domain_size, (tuple, list))
            or len(domain_size) != 2
            or not all(isinstance(v, (int, np.integer)) for v in domain_size)
            or not 0 < domain_size[0] <= domain_size[1]
        ):
            raise _fail(f"domain_size must be (smallest, largest) bp; got {domain_size!r}")
        low, high = round(domain_size[0] / resolution), round(domain_size[1] / resolution)
        if low < min_bins:
            raise _fail(
                f"domain_size[0] must be >= {min_bins} bins ({min_bins * resolution} bp at "
                f"resolution={resolution}); got {domain_size[0]}"
            )
    usable = chrom_length // resolution - 4  # two bins of margin at either end
    if usable < 2 * high:
        raise _fail(
            f"chrom_length={chrom_length} holds {usable} bins inside its margins, fewer than "
            f"two domains of up to {high} bins (resolution={resolution}); raise chrom_length "
            f"or lower domain_size"
        )
    return low, high


# --------------------------------------------------------------------------- motifs


def _motifs() -> dict[str, _Planted]:
    """The planted motifs, with samplers and thresholds as in the demo genome."""
    jaspar = jaspar_motifs()
    bg = _background_freqs()
    planted = {}
    for label, cluster in _MOTIF_IDS.items():
        found = find_motif(jaspar, cluster)
        motif = Motif(found.name, found.pwm, alt_name=label)
        scores = np.round(motif.log_odds(bg) * _SCORE_SCALE).astype(np.int64)
        planted[label] = _Planted(
            label=label,
            task=label,
            motif=motif,
            cdf=np.cumsum(motif.pwm, axis=0)[:3],
            scores=scores,
            threshold=_tail_threshold(scores, bg, _INSTANCE_TAIL),
        )
    return planted


def _motif_scores(codes: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds of every k-mer of ``codes`` on both strands.

    Parameters
    ----------
    codes : np.ndarray, shape (length,)
        uint8 codes A=0, C=1, G=2, T=3; N (4) scores very low.
    scores : np.ndarray, shape (4, width)
        Integer log-odds of the motif, rows A, C, G, T.

    Returns
    -------
    (np.ndarray, np.ndarray), each shape (length - width + 1,)
        Score of the motif read on the forward strand starting at each position, and of
        its reverse complement (the motif on the minus strand) at each position.
    """
    width = scores.shape[1]
    padded = np.vstack([scores, np.full((1, width), -(10**6), dtype=scores.dtype)])
    rc = np.vstack([scores[::-1, ::-1], padded[4:]])
    kmers = np.lib.stride_tricks.sliding_window_view(codes.astype(np.intp), width)
    cols = np.arange(width)
    return padded[kmers, cols].sum(axis=1), rc[kmers, cols].sum(axis=1)


# --------------------------------------------------------------------------- simulation


def _simulate_chromosome(
    rng: np.random.Generator,
    chrom: str,
    length: int,
    resolution: int,
    size_range: tuple[int, int],
    n_pairs: int,
    planted: dict[str, _Planted],
) -> dict:
    codes = _background(rng, length)
    boundaries = _domain_boundaries(rng, length // resolution, size_range) * resolution
    gap = _gap(rng, boundaries, resolution)
    codes[gap[0] : gap[1]] = N_CODE
    ctcf = _plant_ctcf(rng, codes, boundaries, planted["CTCF"])
    features = _plant_features(rng, codes, length, boundaries, gap, planted)
    return {
        "chrom": chrom,
        "codes": codes,
        "boundaries": [int(b) for b in boundaries],
        "gap": gap,
        "ctcf": ctcf,
        "features": features,
        "coverage": _coverage(rng, length, gap, ctcf, features),
        "contacts": _contacts(rng, length, resolution, boundaries, gap),
        "pairs": _pairs(rng, chrom, boundaries, features, n_pairs, size_range[1] * resolution),
    }


def _domain_boundaries(rng: np.random.Generator, n_bins: int, size_range: tuple[int, int]):
    """Boundaries in bins, shape (k + 1,): k >= 2 domains between two-bin margins.

    Sizes are drawn until the next one would not fit; a rest of at least the smallest
    size becomes one more domain, a shorter rest is shared at random by the two ends.
    """
    low, high = size_range
    usable = n_bins - 4
    sizes = rng.integers(low, high + 1, size=usable // low + 1)
    sizes = sizes[np.cumsum(sizes) <= usable]
    rest = usable - int(sizes.sum())
    if rest >= low:
        sizes = np.append(sizes, rest)
        rest = 0
    offset = 2 + int(rng.integers(0, rest + 1))
    return offset + np.concatenate([[0], np.cumsum(sizes)])


def _gap(rng: np.random.Generator, boundaries: np.ndarray, resolution: int) -> tuple[int, int]:
    """A run of _GAP_BINS bins inside a random domain, >= 2 bins from its ends (bp)."""
    k = int(rng.integers(0, len(boundaries) - 1))
    first = boundaries[k] // resolution + 2
    last = boundaries[k + 1] // resolution - 2 - _GAP_BINS
    start = int(rng.integers(first, last + 1)) * resolution
    return start, start + _GAP_BINS * resolution


def _plant_ctcf(
    rng: np.random.Generator, codes: np.ndarray, boundaries: np.ndarray, ctcf: _Planted
) -> list[dict]:
    """Convergent CTCF clusters: ``+`` after every boundary but the last, ``-`` before
    every boundary but the first; returns one record per site."""
    width = ctcf.motif.width
    ends = [(int(b), "+") for b in boundaries[:-1]] + [(int(b), "-") for b in boundaries[1:]]
    ends.sort()
    sites = iter(_sample_sites(rng, ctcf, _CTCF_COPIES * len(ends)))
    room = _CTCF_SPAN[1] - _CTCF_SPAN[0] - _CTCF_COPIES * width
    records = []
    for boundary, strand in ends:
        cuts = np.sort(rng.integers(0, room + 1, size=_CTCF_COPIES))
        offsets = _CTCF_SPAN[0] + cuts + width * np.arange(_CTCF_COPIES)
        # "+" inside the domain to the right of the boundary, "-" to its left.
        starts = boundary + offsets if strand == "+" else boundary - offsets - width
        for start in sorted(int(s) for s in starts):
            site = next(sites)
            codes[start : start + width] = site if strand == "+" else 3 - site[::-1]
            records.append(
                {"start": start, "end": start + width, "strand": strand, "boundary": boundary}
            )
    return records


def _plant_features(
    rng: np.random.Generator,
    codes: np.ndarray,
    length: int,
    boundaries: np.ndarray,
    gap: tuple[int, int],
    planted: dict[str, _Planted],
) -> list[dict]:
    """Enhancers, promoters and motif-free anchors, one per free 2 kb slot."""
    kinds = (
        [_ENHANCER_MOTIF, _OTHER_ENHANCER_MOTIF] * (length // _ENHANCER_SPACING // 2)
        + [_PROMOTER_MOTIF] * (length // _PROMOTER_SPACING)
        + ["none"] * (length // _BLANK_SPACING)
    )
    forbidden = np.zeros(length + 1, dtype=np.int64)
    for start, end in [(0, 1_000), (length - 1_000, length), (gap[0] - 1_000, gap[1] + 1_000)]:
        forbidden[max(start, 0)] += 1
        forbidden[min(end, length)] -= 1
    for b in boundaries:
        forbidden[max(b - _CTCF_ZONE, 0)] += 1
        forbidden[min(b + _CTCF_ZONE, length)] -= 1
    blocked = np.concatenate([[0], np.cumsum(np.cumsum(forbidden)[:-1] > 0)])
    slot_starts = np.arange(0, length - _SLOT + 1, _SLOT)
    free = slot_starts[blocked[slot_starts + _SLOT] - blocked[slot_starts] == 0]
    if free.size < len(kinds):
        raise _fail(
            f"{len(kinds)} enhancers, promoters and anchors need {len(kinds)} free {_SLOT} bp "
            f"slots per chromosome, but only {free.size} are free; raise chrom_length"
        )
    chosen = np.sort(rng.choice(free, size=len(kinds), replace=False))
    centres = chosen + _SLOT // 2 + rng.integers(-_JITTER, _JITTER + 1, size=len(kinds))
    order = rng.permutation(len(kinds))
    labels = [kinds[i] for i in order]
    pools = {
        lab: iter(_sample_sites(rng, planted[lab], _SITE_COPIES * labels.count(lab)))
        for lab in _ANCHOR_MOTIFS
    }
    features = []
    for centre, label in zip(centres.tolist(), labels, strict=True):
        instances = []
        if label != "none":
            sites = [next(pools[label]) for _ in range(_SITE_COPIES)]
            instances = _write_instances(rng, codes, centre, [label] * _SITE_COPIES, sites)
        anchor = (centre - _ANCHOR // 2, centre + _ANCHOR // 2)
        others = [planted[m] for m in _ANCHOR_MOTIFS if m != label]
        _scrub(rng, codes, anchor, instances, others)
        features.append(
            {
                "centre": centre,
                "anchor": list(anchor),
                "motif": label,
                "role": {
                    _ENHANCER_MOTIF: "enhancer",
                    _OTHER_ENHANCER_MOTIF: "enhancer",
                    _PROMOTER_MOTIF: "promoter",
                }.get(label, "blank"),
                "sites": [[i.start, i.end, i.strand] for i in instances],
            }
        )
    return features


def _scrub(
    rng: np.random.Generator,
    codes: np.ndarray,
    window: tuple[int, int],
    instances: list,
    motifs: list[_Planted],
) -> None:
    """Redraw bases of chance hits of ``motifs`` in ``window`` (either strand), keeping
    the planted ``instances``, until none is left (at most 20 rounds)."""
    start, end = window
    keep = np.zeros(end - start, dtype=bool)
    for inst in instances:
        keep[inst.start - start : inst.end - start] = True
    bg = _background_freqs()
    for _ in range(20):
        redraw = np.zeros(end - start, dtype=bool)
        for motif in motifs:
            width = motif.motif.width
            forward, reverse = _motif_scores(codes[start:end], motif.scores)
            for hit in np.flatnonzero(np.maximum(forward, reverse) >= motif.threshold):
                redraw[hit : hit + width] = True
        redraw &= ~keep
        if not redraw.any():
            return
        where = start + np.flatnonzero(redraw)
        codes[where] = rng.choice(4, size=where.size, p=bg).astype(np.uint8)


def _domain_of(positions: np.ndarray, boundaries: np.ndarray) -> np.ndarray:
    """Domain index of each position; -1 outside ``[b_0, b_k)``."""
    index = np.searchsorted(boundaries, positions, side="right") - 1
    return np.where((index >= 0) & (index < len(boundaries) - 1), index, -1)


def _coverage(
    rng: np.random.Generator,
    length: int,
    gap: tuple[int, int],
    ctcf: list[dict],
    features: list[dict],
) -> dict[str, np.ndarray]:
    """Per-base coverage of every track, float32 shape (length,); 0 in the N gap."""
    clusters: dict[tuple[int, str], list[int]] = {}  # one peak per CTCF cluster
    for site in ctcf:
        clusters.setdefault((site["boundary"], site["strand"]), []).append(site["start"])
    width = ctcf[0]["end"] - ctcf[0]["start"]
    centres_of = {
        "CTCF": [round(np.mean(starts)) + width // 2 for _, starts in sorted(clusters.items())],
        _ENHANCER_MOTIF: [f["centre"] for f in features if f["motif"] == _ENHANCER_MOTIF],
        _OTHER_ENHANCER_MOTIF: [
            f["centre"] for f in features if f["motif"] == _OTHER_ENHANCER_MOTIF
        ],
    }
    out = {}
    for name, motif in _TRACKS.items():
        rate = np.full(length, _COVERAGE_BACKGROUND)
        centres = centres_of[motif]
        heights = _HEIGHT[0] + rng.poisson(_HEIGHT[1], size=len(centres))
        sigmas = rng.uniform(*_SIGMA_BP, size=len(centres))
        for centre, height, sigma in zip(centres, heights, sigmas, strict=True):
            lo, hi = max(centre - int(4 * sigma), 0), min(centre + int(4 * sigma) + 1, length)
            x = np.arange(lo, hi) - centre
            rate[lo:hi] += height * np.exp(-0.5 * (x / sigma) ** 2)
        values = rng.poisson(rate).astype(np.float32)
        values[gap[0] : gap[1]] = 0.0
        out[name] = values
    return out


def _contacts(
    rng: np.random.Generator,
    length: int,
    resolution: int,
    boundaries: np.ndarray,
    gap: tuple[int, int],
) -> pd.DataFrame:
    """Upper-triangle pixels (with diagonal) of one chromosome: bin1, bin2, count > 0."""
    n_bins = -(-length // resolution)
    bias = rng.lognormal(0.0, _BIAS_SIGMA, size=n_bins)
    bias[gap[0] // resolution : gap[1] // resolution] = 0.0  # N bins: no reads map
    i, j = np.triu_indices(n_bins)
    domain = _domain_of(np.arange(n_bins) * resolution, boundaries)
    same = (domain[i] == domain[j]) & (domain[i] >= 0)
    expected = _CONTACT_SCALE / (j - i + 1.0) * np.where(same, _DOMAIN_ENRICHMENT, 1.0)
    dot = np.ones_like(expected)
    for left, right in itertools.pairwise(boundaries):
        a, b = left // resolution, (right - 1) // resolution  # the two CTCF bins
        dot += _DOT_STRENGTH * np.exp(-((i - a) ** 2 + (j - b) ** 2) / (2 * _DOT_SIGMA**2))
    expected *= dot * bias[i] * bias[j] * rng.lognormal(0.0, _NOISE_SIGMA, size=i.size)
    counts = rng.poisson(expected)
    keep = counts > 0
    return pd.DataFrame({"bin1_id": i[keep], "bin2_id": j[keep], "count": counts[keep]})


def _pairs(
    rng: np.random.Generator,
    chrom: str,
    boundaries: np.ndarray,
    features: list[dict],
    n_pairs: int,
    max_distance: int,
) -> list[tuple]:
    """Enhancer-promoter pairs, about half positive; rows (chrom, s1, e1, chrom, s2, e2,
    label, reason), sorted by anchor 1 then anchor 2."""
    enh = [f for f in features if f["motif"] in (_ENHANCER_MOTIF, _OTHER_ENHANCER_MOTIF, "none")]
    prom = [f for f in features if f["motif"] in (_PROMOTER_MOTIF, "none")]
    e_centre = np.array([f["centre"] for f in enh])
    p_centre = np.array([f["centre"] for f in prom])
    e_motif = np.array([f["motif"] for f in enh])
    p_motif = np.array([f["motif"] for f in prom])
    e, p = np.divmod(np.arange(len(enh) * len(prom)), len(prom))  # every (enhancer, promoter)
    e_dom, p_dom = _domain_of(e_centre, boundaries)[e], _domain_of(p_centre, boundaries)[p]
    same = (e_dom == p_dom) & (e_dom >= 0)
    near = (np.abs(e_centre[e] - p_centre[p]) <= max_distance) & (e_centre[e] != p_centre[p])
    has_e, has_p = e_motif[e] == _ENHANCER_MOTIF, p_motif[p] == _PROMOTER_MOTIF
    masks = {
        "positive": has_e & has_p & same,
        "no_enhancer_motif": (e_motif[e] == "none") & has_p & same,
        "wrong_enhancer_motif": (e_motif[e] == _OTHER_ENHANCER_MOTIF) & has_p & same,
        "no_promoter_motif": has_e & (p_motif[p] == "none") & same,
        "across_domains": has_e & has_p & ~same,
    }
    pools = {r: rng.permutation(np.flatnonzero(m & near)) for r, m in masks.items()}
    n_pos = min(len(pools["positive"]), n_pairs // 2)
    taken = [("positive", k) for k in pools["positive"][:n_pos]]
    # Negatives round-robin over the four reasons, so a short pool leaves room for others.
    negatives = sorted(
        (rank, order, reason, k)
        for order, reason in enumerate(_PAIR_REASONS[1:])
        for rank, k in enumerate(pools[reason])
    )
    n_neg = min(n_pairs - n_pos, n_pos)  # no more negatives than positives
    taken += [(reason, k) for _, _, reason, k in negatives[:n_neg]]
    rows = []
    for reason, k in taken:
        a, b = enh[e[k]]["anchor"], prom[p[k]]["anchor"]
        rows.append((chrom, a[0], a[1], chrom, b[0], b[1], int(reason == "positive"), reason))
    rows.sort(key=lambda row: (row[1], row[4]))
    return rows


# --------------------------------------------------------------------------- writing


def _write_cool(cooler, path: Path, sims: list[dict], chrom_sizes: dict, resolution: int) -> None:
    bins = cooler.binnify(pd.Series(chrom_sizes), resolution)
    offsets = np.concatenate([[0], np.cumsum([-(-n // resolution) for n in chrom_sizes.values()])])
    pixels = pd.concat(
        [
            sim["contacts"].assign(
                bin1_id=sim["contacts"]["bin1_id"] + offset,
                bin2_id=sim["contacts"]["bin2_id"] + offset,
            )
            for sim, offset in zip(sims, offsets[:-1], strict=True)
        ],
        ignore_index=True,
    )
    path.unlink(missing_ok=True)
    cooler.create_cooler(
        str(path),
        bins,
        pixels,
        dtypes={"count": np.int32},
        ordered=True,
        metadata={"generated-by": "dnalens.data.demo_longrange"},
    )
    # mad_max=0: keep low-coverage bins (e.g. next to the gap); only empty bins get NaN.
    cooler.balance_cooler(cooler.Cooler(str(path)), cis_only=True, mad_max=0, store=True)


def _truth(
    sims: list[dict], planted: dict[str, _Planted], seed: int, resolution: int, reasons: list[str]
) -> dict:
    return {
        "generator": "dnalens.data.demo_longrange.write_longrange_demo",
        "seed": seed,
        "resolution": resolution,
        "coordinates": "0-based half-open",
        "motifs": {
            label: {
                "name": p.motif.name,
                "consensus": p.motif.consensus,
                "width": p.motif.width,
                "threshold_bits": p.threshold / _SCORE_SCALE,
            }
            for label, p in planted.items()
        },
        "tracks": {name: f"peaks at {motif} sites" for name, motif in _TRACKS.items()},
        "rules": {
            "domains": "domain i is [boundaries[i], boundaries[i+1]); none outside",
            "ctcf": "'+' (motif as in the matrix) within 100-1000 bp right of a domain's left "
            "boundary, '-' (reverse complement) within 100-1000 bp left of its right boundary",
            "contacts": f"count ~ Poisson({_CONTACT_SCALE} / (d + 1) * {_DOMAIN_ENRICHMENT} "
            f"if both bins in one domain * (1 + {_DOT_STRENGTH} at domain corners) * biases "
            f"* lognormal noise), d in bins; gap bins empty",
            "pairs": "label 1 iff the enhancer anchor carries GATA, the promoter anchor "
            "carries SP and their centres lie in one domain",
        },
        "chroms": {
            sim["chrom"]: {
                "length": int(sim["codes"].size),
                "boundaries": sim["boundaries"],
                "gap": list(sim["gap"]),
                "ctcf_sites": sim["ctcf"],
                "features": sim["features"],
            }
            for sim in sims
        },
        "pair_reasons": reasons,
    }
