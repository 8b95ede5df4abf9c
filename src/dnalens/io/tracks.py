"""Coverage tracks in bigWig files, read as fixed-size bins and written back.

A track list (TSV) names each track's bigWig and how to summarise it; `BigWigTrack` reads
one file in the genome's chromosome names and `TrackSet` stacks many into the
``(n_tracks, n_bins)`` targets of Basenji/Enformer-style models.

Coordinates are 0-based, half-open, in the genome's (FASTA's) chromosome names. Bases with no
value in the bigWig (and bases past the end of a chromosome) count as 0 in a bin's sum or mean;
:meth:`BigWigTrack.all_missing` tells a window with no data at all from a window of zeros.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dnalens.errors import ConfigError, ContigError, CoordinateError, InputFileError
from dnalens.files import write_atomic
from dnalens.io.bigwig_file import bigwig_max, bigwig_values
from dnalens.io.bigwig_file import open_bigwig as _open_bigwig
from dnalens.io.contigs import contig_lookup, describe_missing_in_file, list_names
from dnalens.io.track_list import SUMMARIES, TRANSFORMS, TrackSpec, read_track_list

if TYPE_CHECKING:
    from dnalens.io.genome import Genome

__all__ = [
    "SUMMARIES",
    "TRANSFORMS",
    "BigWigTrack",
    "TrackSet",
    "TrackSpec",
    "contig_lookup",
    "describe_missing_in_file",
    "read_track_list",
    "transform_coverage",
    "write_bigwig",
    "write_bigwig_tracks",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Transforms (the track list itself is read in dnalens.io.track_list)
# ---------------------------------------------------------------------------------------------


def transform_coverage(x: np.ndarray, spec: TrackSpec) -> np.ndarray:
    """Scale, soft-clip, then transform binned coverage as ``spec`` says.

    Parameters
    ----------
    x : np.ndarray, any shape
        Binned coverage (sum or mean per bin).
    spec : TrackSpec

    Returns
    -------
    np.ndarray, same shape, float32
        ``y = x * scale``; where ``y > clip``, ``y = clip + sqrt(y - clip)``; then
        ``log1p(y)`` or ``sqrt(y)`` when asked.

    Raises
    ------
    ConfigError
        For log1p/sqrt of negative values (e.g. a log-ratio track): use transform none.
    """
    y = np.asarray(x, dtype=np.float32) * np.float32(spec.scale)
    if spec.clip is not None:
        above = y > spec.clip
        y = np.where(above, spec.clip + np.sqrt(np.maximum(y - spec.clip, 0)), y)
    if spec.transform != "none" and y.size and y.min() < 0:
        raise ConfigError(f"track '{spec.name}': transform {spec.transform} needs values >= 0; "
                          f"found {float(y.min())} (use transform none for signed tracks)")
    if spec.transform == "log1p":
        y = np.log1p(y)
    elif spec.transform == "sqrt":
        y = np.sqrt(y)
    return y.astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def _check_window(chrom: str, start: int, end: int, bin_size: int, source: str) -> int:
    """Number of bins in ``chrom:start-end``; a CoordinateError when it is not whole bins."""
    if end <= start:
        raise CoordinateError(f"{source}: window {chrom}:{start}-{end}: end must be > start; "
                              "coordinates are 0-based, half-open")
    if bin_size <= 0 or (end - start) % bin_size:
        raise CoordinateError(
            f"{source}: window {chrom}:{start}-{end} ({end - start:,} bp) is not a whole number "
            f"of {bin_size:,} bp bins"
        )
    return (end - start) // bin_size


class BigWigTrack:
    """One bigWig read in the genome's chromosome names.

    Parameters
    ----------
    path : str or Path
    genome : Genome
        Its names are the ones callers use; its sizes are not needed after construction.
    rename_contigs : bool
        Match ``chr1`` <-> ``1`` and ``chrM`` <-> ``MT`` between file and genome.
    chrom_map : mapping, optional
        Explicit renames, bigWig name -> genome name.

    Notes
    -----
    The file is opened here to check its names, and reopened on first use after pickling
    or in another process, so a track can go to DataLoader workers.
    """

    def __init__(
        self,
        path: str | Path,
        genome: Genome,
        *,
        rename_contigs: bool = True,
        chrom_map: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.rename_contigs = rename_contigs
        self._bw = _open_bigwig(self.path)
        self._pid = os.getpid()
        self.file_sizes: dict[str, int] = dict(self._bw.chroms())
        self._lookup = contig_lookup(self.file_sizes, genome, source=str(self.path),
                                     rename=rename_contigs, chrom_map=chrom_map)
        self._genome_chroms = frozenset(genome.chrom_sizes)
        differ = [g for g, f in self._lookup.items() if self.file_sizes[f] != genome.chrom_sizes[g]]
        if differ:
            log.warning("%s: %d chromosome length(s) differ from %s (first: %s); was it made "
                        "on another assembly?", self.path, len(differ), genome.path.name, differ[0])

    def __repr__(self) -> str:
        return f"BigWigTrack({str(self.path)!r})"

    def __getstate__(self) -> dict:
        # pyBigWig handles cannot be pickled; reopen from the path in the new process.
        state = self.__dict__.copy()
        state["_bw"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    @property
    def _handle(self):
        # A forked worker inherits the parent's handle, whose file offset it would share;
        # reopen once per process instead.
        if self._bw is None or self._pid != os.getpid():
            self._bw = _open_bigwig(self.path)
            self._pid = os.getpid()
        return self._bw

    def close(self) -> None:
        """Close the file (it reopens on the next read)."""
        if self._bw is not None:
            self._bw.close()
            self._bw = None

    def file_chrom(self, chrom: str) -> str:
        """The bigWig's name for genome chromosome ``chrom``; ContigError if it has none."""
        try:
            return self._lookup[chrom]
        except KeyError:
            source = str(self.path)
            if chrom not in self._genome_chroms:
                raise ContigError(f"{source}: chromosome '{chrom}' is not in the genome") from None
            raise ContigError(describe_missing_in_file(
                chrom, list(self.file_sizes), source=source, rename=self.rename_contigs)) from None

    def values(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Per-base values of ``chrom:start-end``, NaN where the bigWig has none.

        Parameters
        ----------
        chrom : str
            Genome name.
        start, end : int
            0-based half-open; may reach past either end of the chromosome (NaN there).

        Returns
        -------
        np.ndarray, shape (end - start,), float32
        """
        name = self.file_chrom(chrom)
        out = np.full(max(end - start, 0), np.nan, dtype=np.float32)
        lo, hi = max(start, 0), min(end, self.file_sizes[name])
        if hi > lo:
            got = bigwig_values(self._handle, self.path, name, lo, hi)
            # A bigWig with no data at all returns an empty array instead of NaNs.
            if got.size == hi - lo:
                out[lo - start : hi - start] = got
        return out

    def binned(self, chrom: str, start: int, end: int, bin_size: int,
               summary: str = "sum") -> np.ndarray:
        """Coverage of ``chrom:start-end`` summed or averaged in bins of ``bin_size`` bases.

        Parameters
        ----------
        chrom : str
            Genome name.
        start, end : int
            0-based half-open; ``end - start`` must be a multiple of ``bin_size``. Bases past
            the chromosome's end (in the bigWig) count as 0.
        bin_size : int
        summary : {"sum", "mean"}
            Missing bases count as 0, so a bin's mean is its sum / ``bin_size``.

        Returns
        -------
        np.ndarray, shape (n_bins,), float32
        """
        if summary not in SUMMARIES:
            raise ConfigError(f"binned: summary must be one of {SUMMARIES}; got {summary!r}")
        n_bins = _check_window(chrom, start, end, bin_size, str(self.path))
        # Per-base values then a reshape-sum: exact, one read per window. bw.stats(nBins=...)
        # reads zoom levels (approximate), averages over covered bases only and rounds bin
        # edges when the window does not divide evenly.
        base = np.nan_to_num(self.values(chrom, start, end), nan=0.0)
        sums = base.reshape(n_bins, bin_size).sum(axis=1, dtype=np.float64)
        if summary == "mean":
            sums /= bin_size
        return sums.astype(np.float32)

    def all_missing(self, chrom: str, start: int, end: int) -> bool:
        """True when no base of ``chrom:start-end`` has a value (not even 0) in the bigWig."""
        return bool(np.isnan(self.values(chrom, start, end)).all())

    def has_data(self) -> bool:
        """True when at least one genome chromosome holds a non-missing value."""
        for name in self._lookup.values():
            # 'max' from the index is None for a chromosome with no (or only NaN) values.
            top = bigwig_max(self._handle, self.path, name)
            if top is not None and not math.isnan(top):
                return True
        return False


class TrackSet:
    """Many bigWig tracks binned together, each with its own summary and transform.

    Parameters
    ----------
    specs : sequence of TrackSpec
        Usually from :func:`read_track_list`; row order is output order.
    genome : Genome
    rename_contigs : bool
    chrom_map : mapping, optional
        As for :class:`BigWigTrack`, shared by every file.

    Raises
    ------
    InputFileError
        For a track with no data on any of the genome's chromosomes.
    """

    def __init__(
        self,
        specs: Sequence[TrackSpec],
        genome: Genome,
        *,
        rename_contigs: bool = True,
        chrom_map: Mapping[str, str] | None = None,
    ) -> None:
        self.specs = tuple(specs)
        if not self.specs:
            raise ConfigError("TrackSet: no tracks given")
        self.tracks = [
            BigWigTrack(s.file, genome, rename_contigs=rename_contigs, chrom_map=chrom_map)
            for s in self.specs
        ]
        for spec, track in zip(self.specs, self.tracks, strict=True):
            if not track.has_data():
                raise InputFileError(
                    f"{spec.file}: track '{spec.name}' has no values on any chromosome of "
                    f"{genome.path.name} (every base is missing); check the file and its "
                    "chromosome names"
                )

    def __len__(self) -> int:
        return len(self.specs)

    @property
    def names(self) -> list[str]:
        """Track names, in output row order."""
        return [s.name for s in self.specs]

    def binned(self, chrom: str, start: int, end: int, bin_size: int) -> np.ndarray:
        """Every track's binned, transformed coverage of ``chrom:start-end``.

        Returns
        -------
        np.ndarray, shape (n_tracks, n_bins), float32
            Row ``i`` is ``transform_coverage(track_i.binned(..., spec_i.summary), spec_i)``.
        """
        rows = [
            transform_coverage(track.binned(chrom, start, end, bin_size, spec.summary), spec)
            for spec, track in zip(self.specs, self.tracks, strict=True)
        ]
        return np.stack(rows)

    def all_missing(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Which tracks have no value at all in the window.

        Returns
        -------
        np.ndarray, shape (n_tracks,), bool
        """
        return np.array([t.all_missing(chrom, start, end) for t in self.tracks], dtype=bool)

    def close(self) -> None:
        """Close every file (each reopens on its next read)."""
        for track in self.tracks:
            track.close()


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _sorted_entries(
    chrom_sizes: Mapping[str, int],
    entries: Iterable[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
    source: str,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Entries grouped per chromosome, sorted by start, checked, NaN bins dropped."""
    parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    for chrom, starts, ends, values in entries:
        if chrom not in chrom_sizes:
            raise ContigError(f"{source}: chromosome '{chrom}' is not in chrom_sizes "
                              f"(has {list_names(chrom_sizes)})")
        starts, ends = np.asarray(starts, np.int64), np.asarray(ends, np.int64)
        values = np.asarray(values, np.float64)
        if not starts.shape == ends.shape == values.shape or starts.ndim != 1:
            raise ConfigError(f"{source}: starts, ends and values of {chrom} must be 1-d and of "
                              f"one length; got {starts.shape}, {ends.shape}, {values.shape}")
        parts.setdefault(chrom, []).append((starts, ends, values))
    out = {}
    for chrom in chrom_sizes:  # bigWig wants chromosomes in header order
        if chrom not in parts:
            continue
        starts, ends, values = (np.concatenate(a) for a in zip(*parts[chrom], strict=True))
        order = np.argsort(starts, kind="stable")
        starts, ends, values = starts[order], ends[order], values[order]
        bad = (starts < 0) | (ends <= starts) | (ends > chrom_sizes[chrom])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CoordinateError(
                f"{source}: bin {chrom}:{starts[i]}-{ends[i]} is empty or outside {chrom} "
                f"(0-{chrom_sizes[chrom]:,}); {int(bad.sum())} bin(s) are"
            )
        overlap = np.flatnonzero(starts[1:] < ends[:-1])
        if overlap.size:
            i = int(overlap[0])
            raise CoordinateError(f"{source}: bins {chrom}:{starts[i]}-{ends[i]} and "
                                  f"{chrom}:{starts[i + 1]}-{ends[i + 1]} overlap")
        # NaN values make pyBigWig write files whose header crashes readers: leave them out
        # (no data), which is what NaN means.
        keep = np.isfinite(values)
        if keep.any():
            out[chrom] = (starts[keep], ends[keep], values[keep])
    return out


def write_bigwig(
    path: str | Path,
    chrom_sizes: Mapping[str, int],
    entries: Iterable[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
) -> Path:
    """Write bins of values to a bigWig, atomically.

    Parameters
    ----------
    path : str or Path
    chrom_sizes : mapping
        Chromosome name -> length, the file's header (in this order).
    entries : iterable of (chrom, starts, ends, values)
        ``starts``, ``ends``, ``values`` : array-like, shape (n,). Any order and any number of
        entries per chromosome; bins must not overlap. Non-finite values are left out
        (read back as missing).

    Returns
    -------
    Path
    """
    import pyBigWig

    path = Path(path)
    grouped = _sorted_entries(chrom_sizes, entries, str(path))

    def write(tmp: Path) -> None:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader([(c, int(n)) for c, n in chrom_sizes.items()])
            for chrom, (starts, ends, values) in grouped.items():
                bw.addEntries([chrom] * starts.size, starts.tolist(), ends=ends.tolist(),
                              values=values.tolist())
        finally:
            bw.close()

    return write_atomic(path, write)


def write_bigwig_tracks(
    paths: Sequence[str | Path],
    chrom_sizes: Mapping[str, int],
    chroms: str | Sequence[str] | np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    values: np.ndarray,
) -> list[Path]:
    """Write each row of a ``(n_tracks, n_bins)`` array (model predictions) to its own bigWig.

    Parameters
    ----------
    paths : sequence of str or Path, length n_tracks
    chrom_sizes : mapping
        Chromosome name -> length, every file's header.
    chroms : str, or sequence of str of length n_bins
    starts, ends : np.ndarray, shape (n_bins,), int
    values : np.ndarray, shape (n_tracks, n_bins)

    Returns
    -------
    list of Path
    """
    values = np.asarray(values)
    starts, ends = np.asarray(starts), np.asarray(ends)
    if values.ndim != 2 or values.shape[0] != len(paths) or values.shape[1] != starts.size:
        raise ConfigError(
            f"write_bigwig_tracks: values must have shape (n_tracks, n_bins) = "
            f"({len(paths)}, {starts.size}); got {values.shape}"
        )
    names = np.full(starts.size, chroms, dtype=object) if isinstance(chroms, str) else \
        np.asarray(chroms, dtype=object)
    if names.shape != starts.shape:
        raise ConfigError(f"write_bigwig_tracks: chroms must have length n_bins = {starts.size}; "
                          f"got {names.shape}")
    groups = [(c, names == c) for c in dict.fromkeys(names.tolist())]
    return [
        write_bigwig(path, chrom_sizes, [(c, starts[m], ends[m], row[m]) for c, m in groups])
        for path, row in zip(paths, values, strict=True)
    ]
