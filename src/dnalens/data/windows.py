"""Choose the genomic bins a model is trained and tested on.

A *bin* is the stretch whose label is predicted (DeepSEA: 200 bp); the model
sees a longer input window centred on it (DeepSEA: 1,000 bp). Bins are tiled
over chromosomes or centred on peaks with sampled negatives, split by held-out
chromosomes or regions, and dropped where they meet a blacklist or N runs.
All frames use columns chrom, start, end (0-based half-open).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from dnalens.errors import ConfigError, CoordinateError
from dnalens.io.genome import Genome
from dnalens.regions import looks_like_region, parse_region

__all__ = [
    "assign_split_by_chroms",
    "assign_split_by_regions",
    "coverage_fraction",
    "drop_n_rich",
    "drop_overlapping",
    "peak_bins",
    "sample_negative_bins",
    "sample_negative_bins_in",
    "tile_bins",
    "tile_regions",
    "window_regions",
]


def tile_bins(
    chrom_sizes: Mapping[str, int], chroms: Iterable[str], bin_size: int, stride: int | None = None
) -> pd.DataFrame:
    """Bins of ``bin_size`` every ``stride`` bp over whole chromosomes.

    Returns
    -------
    DataFrame with columns chrom, start, end; only bins wholly inside a chromosome.
    """
    chroms = list(chroms)
    whole = pd.DataFrame({"chrom": chroms, "start": np.zeros(len(chroms), np.int64),
                          "end": np.array([chrom_sizes[c] for c in chroms], np.int64)})
    return tile_regions(whole, bin_size, stride)


def tile_regions(regions: pd.DataFrame, bin_size: int, stride: int | None = None) -> pd.DataFrame:
    """The chromosome's tiling (bins of ``bin_size`` starting at multiples of ``stride``) cut
    to the bins wholly inside each region.

    Keeping the chromosome's grid means a region yields exactly the bins that tiling its
    whole chromosome and keeping those inside the region would: results on a region compare
    bin for bin with results on the chromosome.

    Parameters
    ----------
    regions : DataFrame with chrom, start, end (0-based half-open), in output order
    """
    stride = stride or bin_size
    if bin_size <= 0 or stride <= 0:
        raise ConfigError(f"bin_size and stride must be > 0; got {bin_size} and {stride}")
    frames = []
    for chrom, lo, hi in zip(regions["chrom"], regions["start"], regions["end"], strict=True):
        first = -(-int(lo) // stride) * stride
        starts = np.arange(first, int(hi) - bin_size + 1, stride, dtype=np.int64)
        frames.append(pd.DataFrame({"chrom": chrom, "start": starts, "end": starts + bin_size}))
    return _concat(frames).drop_duplicates(ignore_index=True)


def window_regions(entries: Sequence[str] | None, genome: Genome) -> pd.DataFrame:
    """The stretches ``data.windows.chroms`` names: whole chromosomes or regions.

    An entry is a chromosome name, or a region ``chrom:start-end`` written as samtools does,
    1-based with both ends inclusive, commas allowed (``chr2:1,300,001-1,750,000`` is the
    0-based half-open [1300000, 1750000)); a name the genome has is always a chromosome.
    None means every chromosome.

    Returns
    -------
    DataFrame with chrom, start, end (0-based half-open), one row per entry.
    """
    rows = []
    for entry in entries if entries is not None else genome.chroms:
        if entry in genome.chrom_sizes or not looks_like_region(entry):
            rows.append((entry, 0, genome.check_chrom(entry)))
            continue
        try:
            chrom, start, end = parse_region(entry)
        except CoordinateError as err:
            raise CoordinateError(f"data.windows.chroms: {err}") from None
        size = genome.check_chrom(chrom)
        if end > size:
            raise CoordinateError(f"data.windows.chroms: region '{entry}' ends past the end of "
                                  f"{chrom} ({size:,} bp in {genome.path.name}); regions are "
                                  "1-based, inclusive")
        rows.append((chrom, start, end))
    return pd.DataFrame(rows, columns=["chrom", "start", "end"])


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame({"chrom": pd.Series(dtype=str), "start": pd.Series(dtype="int64"),
                             "end": pd.Series(dtype="int64")})
    return pd.concat(frames, ignore_index=True)


def peak_bins(peaks: pd.DataFrame, bin_size: int) -> pd.DataFrame:
    """One bin centred on each peak's summit (narrowPeak) or midpoint.

    Parameters
    ----------
    peaks : DataFrame with chrom, start, end and optionally summit (offset from start)
    bin_size : int
    """
    if "summit" in peaks.columns:
        summit = peaks["summit"].to_numpy(np.int64)
        width = (peaks["end"] - peaks["start"]).to_numpy(np.int64)
        centre = peaks["start"].to_numpy(np.int64) + np.where(
            (summit >= 0) & (summit < width), summit, width // 2
        )
    else:
        centre = ((peaks["start"] + peaks["end"]) // 2).to_numpy(np.int64)
    start = centre - bin_size // 2
    bins = pd.DataFrame({"chrom": peaks["chrom"].to_numpy(), "start": start,
                         "end": start + bin_size})
    return bins.drop_duplicates(ignore_index=True)


def sample_negative_bins(
    chrom_sizes: Mapping[str, int],
    chroms: Sequence[str],
    n: int,
    bin_size: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``n`` bins at uniform random positions of ``chroms`` (weighted by length).

    Labels are computed for them like for any bin, so a negative that happens
    to meet a peak is labelled as such rather than mislabelled.
    """
    whole = pd.DataFrame({"chrom": list(chroms), "start": np.zeros(len(chroms), np.int64),
                          "end": np.array([chrom_sizes[c] for c in chroms], np.int64)})
    return sample_negative_bins_in(whole, n, bin_size, rng)


def sample_negative_bins_in(regions: pd.DataFrame, n: int, bin_size: int,
                            rng: np.random.Generator) -> pd.DataFrame:
    """``n`` bins at uniform random positions wholly inside ``regions`` (weighted by length).

    The same draws as :func:`sample_negative_bins` when each region is a whole chromosome.
    """
    lengths = (regions["end"] - regions["start"]).to_numpy(np.int64) - bin_size
    if n <= 0 or lengths.max(initial=0) <= 0:
        return _concat([])
    usable = np.clip(lengths, 0, None)
    which = rng.choice(len(regions), size=n, p=usable / usable.sum())
    start = (rng.random(n) * usable[which]).astype(np.int64)
    start += regions["start"].to_numpy(np.int64)[which]
    return pd.DataFrame({"chrom": regions["chrom"].to_numpy()[which], "start": start,
                         "end": start + bin_size})


def _merged(intervals: pd.DataFrame, chrom: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint sorted intervals of one chromosome and the covered length before each."""
    sub = intervals[intervals["chrom"] == chrom]
    if sub.empty:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    order = np.argsort(sub["start"].to_numpy(), kind="stable")
    starts = sub["start"].to_numpy(np.int64)[order]
    ends = sub["end"].to_numpy(np.int64)[order]
    # A new merged interval begins where a start passes every earlier end.
    reach = np.maximum.accumulate(ends)
    new = np.ones(len(starts), bool)
    new[1:] = starts[1:] > reach[:-1]
    m_start = starts[new]
    m_end = np.maximum.reduceat(ends, np.flatnonzero(new))
    before = np.concatenate([[0], np.cumsum(m_end - m_start)[:-1]])
    return m_start, m_end, before


def _covered_upto(x: np.ndarray, m_start: np.ndarray, m_end: np.ndarray, before: np.ndarray):
    """Number of covered bases in [0, x) for each x."""
    if m_start.size == 0:
        return np.zeros_like(x)
    j = np.searchsorted(m_start, x, side="right") - 1
    jj = np.clip(j, 0, None)
    inside = np.clip(x - m_start[jj], 0, m_end[jj] - m_start[jj])
    return np.where(j >= 0, before[jj] + inside, 0)


def coverage_fraction(bins: pd.DataFrame, intervals: pd.DataFrame) -> np.ndarray:
    """Fraction of each bin covered by the union of ``intervals``.

    Parameters
    ----------
    bins, intervals : DataFrame with chrom, start, end

    Returns
    -------
    np.ndarray, shape (n_bins,), float64 in [0, 1]
    """
    out = np.zeros(len(bins), dtype=np.float64)
    for chrom, index in bins.groupby("chrom", sort=False).indices.items():
        merged = _merged(intervals, chrom)
        start = bins["start"].to_numpy(np.int64)[index]
        end = bins["end"].to_numpy(np.int64)[index]
        covered = _covered_upto(end, *merged) - _covered_upto(start, *merged)
        out[index] = covered / np.maximum(end - start, 1)
    return out


def drop_overlapping(bins: pd.DataFrame, excluded: pd.DataFrame, flank: int = 0) -> pd.DataFrame:
    """Bins whose stretch widened by ``flank`` on each side meets no excluded interval."""
    widened = bins.assign(start=bins["start"] - flank, end=bins["end"] + flank)
    keep = coverage_fraction(widened, excluded) == 0
    return bins[keep].reset_index(drop=True)


def drop_n_rich(
    bins: pd.DataFrame, genome: Genome, input_length: int, max_n_fraction: float = 0.5
) -> pd.DataFrame:
    """Bins whose centred input window is at most ``max_n_fraction`` N (or off-chromosome).

    Uses a running N count per chromosome, so the cost does not grow with the
    window length.
    """
    keep = np.zeros(len(bins), dtype=bool)
    for chrom, index in bins.groupby("chrom", sort=False).indices.items():
        is_n = genome.codes(chrom) > 3
        running = np.concatenate([[0], np.cumsum(is_n, dtype=np.int64)])
        starts = bins["start"].to_numpy(np.int64)[index]
        centre = (starts + bins["end"].to_numpy(np.int64)[index]) // 2
        lo = centre - input_length // 2
        hi = lo + input_length
        lo_c, hi_c = np.clip(lo, 0, is_n.size), np.clip(hi, 0, is_n.size)
        n_count = running[hi_c] - running[lo_c] + (lo_c - lo) + (hi - hi_c)
        keep[index] = n_count <= max_n_fraction * input_length
    return bins[keep].reset_index(drop=True)


def assign_split_by_chroms(
    bins: pd.DataFrame, valid_chroms: Sequence[str], test_chroms: Sequence[str]
) -> pd.Series:
    """'train' / 'valid' / 'test' for each bin by its chromosome."""
    overlap = set(valid_chroms) & set(test_chroms)
    if overlap:
        raise ConfigError(f"split: chromosomes {sorted(overlap)} are in both valid and test")
    split = pd.Series("train", index=bins.index)
    split[bins["chrom"].isin(valid_chroms)] = "valid"
    split[bins["chrom"].isin(test_chroms)] = "test"
    return split


def assign_split_by_regions(
    bins: pd.DataFrame,
    valid_regions: pd.DataFrame | None,
    test_regions: pd.DataFrame | None,
    input_length: int,
    selection: str = "centre",
) -> pd.Series:
    """Split by held-out regions (for genomes of one chromosome).

    With ``selection`` 'centre', a bin whose centre lies in a held-out region goes to that
    split, though its input window (``input_length`` centred on the bin) may reach up to
    ``input_length // 2`` bp outside the region. With 'window', a bin goes to that split only
    when its whole input window lies inside the held-out regions; a bin whose centre is in
    one but whose window is not is marked 'drop'. Either way, a training bin whose input
    window reaches into a held-out region is marked 'drop', so no held-out base is seen in
    training.
    """
    if selection not in ("centre", "window"):
        raise ConfigError(f"split.region_selection must be 'centre' or 'window'; got "
                          f"'{selection}'")
    split = pd.Series("train", index=bins.index)
    centre = (bins["start"] + bins["end"]) // 2
    points = bins.assign(start=centre, end=centre + 1)
    windows = bins.assign(start=centre - input_length // 2,
                          end=centre - input_length // 2 + input_length)
    held_out = [(name, regions) for name, regions in (("valid", valid_regions),
                                                       ("test", test_regions))
                if regions is not None and not regions.empty]
    for name, regions in held_out:
        centred = coverage_fraction(points, regions) > 0
        if selection == "centre":
            split[centred] = name
        else:
            split[centred] = "drop"
            split[coverage_fraction(windows, regions) == 1] = name
    for _, regions in held_out:
        touches = coverage_fraction(windows, regions) > 0
        split[touches & (split == "train").to_numpy()] = "drop"
    return split
