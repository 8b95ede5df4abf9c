"""Long-range examples: genome windows with binned coverage or contact-map targets, and
enhancer-promoter pairs.

Sequence is gathered from the in-memory genome per batch and targets are read per batch
from the bigWig or .cool files (never all windows up front), so windows of 131 kb or 1 Mb
over a whole genome cost only their coordinates until they are used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.utils.data import Dataset

from dnalens.config import ContactConfig, CoverageConfig, PairsConfig
from dnalens.data.datasets import augment_draws, reverse_complement_codes
from dnalens.data.tables import table_codes
from dnalens.errors import ConfigError, CoordinateError
from dnalens.io.genome import Genome, gather_windows
from dnalens.sequence.encoding import codes_to_one_hot

__all__ = ["ContactTargets", "CoverageTargets", "TargetWindowDataset", "pair_codes",
           "tile_windows"]

log = logging.getLogger(__name__)


def tile_windows(chrom_sizes: dict[str, int], chroms: list[str], length: int, stride: int,
                 *, align: int = 1) -> pd.DataFrame:
    """Windows of ``length`` bp every ``stride`` bp inside each chromosome.

    Parameters
    ----------
    chrom_sizes : mapping chrom -> size
    chroms : chromosomes to tile
    length, stride : int
    align : int
        Window starts are multiples of this (a contact map's resolution).

    Returns
    -------
    DataFrame with chrom, start, end; no window runs past a chromosome end.

    Raises
    ------
    CoordinateError
        When every chromosome is shorter than one window.
    """
    if stride % align:
        raise ConfigError(f"stride ({stride:,}) must be a multiple of {align:,} bp (the "
                          "contact map resolution)")
    frames, short = [], []
    for chrom in chroms:
        size = chrom_sizes[chrom]
        if size < length:
            short.append(f"{chrom} ({size:,} bp)")
            continue
        starts = np.arange(0, size - length + 1, stride, dtype=np.int64)
        frames.append(pd.DataFrame({"chrom": chrom, "start": starts, "end": starts + length}))
    if short:
        log.warning("%d chromosome(s) shorter than the %s bp window are skipped: %s",
                    len(short), f"{length:,}", ", ".join(short[:5]))
    if not frames:
        raise CoordinateError(f"every chromosome is shorter than the input window of "
                              f"{length:,} bp ({', '.join(short[:5])}); lower input_length")
    return pd.concat(frames, ignore_index=True)


class CoverageTargets:
    """Per-window coverage targets: (n_tracks, n_bins) float32 of the window's centre bins.

    Parameters
    ----------
    tracks : dnalens.io.tracks.TrackSet
    config : CoverageConfig
        ``input_length``, ``bin_size`` and ``crop_bins`` (resolved).
    """

    def __init__(self, tracks, config: CoverageConfig) -> None:
        if config.input_length % config.bin_size:
            raise ConfigError(f"data.coverage.input_length ({config.input_length:,}) must be "
                              f"a multiple of bin_size ({config.bin_size})")
        n_bins = config.input_length // config.bin_size - 2 * (config.crop_bins or 0)
        if n_bins < 1:
            raise ConfigError(f"data.coverage.crop_bins ({config.crop_bins}) leaves no bins of "
                              f"a {config.input_length:,} bp window in {config.bin_size} bp bins")
        self.tracks = tracks
        self.bin_size = config.bin_size
        self.crop = (config.crop_bins or 0) * config.bin_size
        self.input_length = config.input_length
        self.shape = (len(tracks.names), n_bins)

    def __call__(self, chrom: str, start: int) -> np.ndarray:
        return self.tracks.binned(chrom, start + self.crop,
                                  start + self.input_length - self.crop, self.bin_size)

    def flip(self, y: np.ndarray) -> np.ndarray:
        """Targets of the reverse-complemented window: bins in reverse order (the crop is
        symmetric). Tracks are taken as unstranded."""
        return y[..., ::-1]


class ContactTargets:
    """Per-window contact targets: log observed/expected (NaN where no coverage).

    Parameters
    ----------
    matrix : dnalens.io.contacts.ContactMatrix
    config : ContactConfig
        With ``crop_bins``, ``diagonal_offset`` or ``band_bins`` resolved.

    The target is (1, n_pairs), the upper triangle at ``diagonal_offset`` of the cropped
    map (layout 'map'), or (1, band_bins), the zig-zag strip above the window's centre bin
    (layout 'strip'; see :func:`dnalens.io.contacts.zigzag_pairs`).
    """

    def __init__(self, matrix, config: ContactConfig) -> None:
        from dnalens.io.contacts import zigzag_pairs

        resolution = matrix.resolution
        if config.input_length % resolution:
            raise ConfigError(f"the {resolution:,} bp resolution of {matrix.source} does not "
                              f"divide the {config.input_length:,} bp window; use an "
                              f"input_length that is a multiple of {resolution:,}")
        self.matrix, self.config, self.resolution = matrix, config, resolution
        n = config.input_length // resolution
        self._expected: dict[str, np.ndarray] = {}
        if config.layout == "map":
            m = n - 2 * config.crop_bins
            if m <= config.diagonal_offset:
                raise ConfigError(f"data.contacts.crop_bins ({config.crop_bins}) leaves a "
                                  f"{m}-bin map, no pair beyond diagonal_offset "
                                  f"{config.diagonal_offset}")
            self.rows, self.cols = np.triu_indices(m, k=config.diagonal_offset)
            self.rows, self.cols = self.rows + config.crop_bins, self.cols + config.crop_bins
            # Reverse-complementing a window of n bins sends bin i to n - 1 - i, so pixel
            # (i, j) becomes (n - 1 - j, n - 1 - i): the map mirrored in its anti-diagonal,
            # which keeps the upper triangle, its crop and its diagonal offset.
            entry = np.full((n, n), -1, dtype=np.int64)
            entry[self.rows, self.cols] = np.arange(len(self.rows))
            self._mirror: np.ndarray | None = entry[n - 1 - self.cols, n - 1 - self.rows]
        else:
            pairs = zigzag_pairs(n // 2, config.band_bins, n)
            self.rows, self.cols = pairs[:, 0], pairs[:, 1]
            self._mirror = None  # the strip above the centre bin has no mirror image
        self.shape = (1, len(self.rows))

    def flip(self, y: np.ndarray) -> np.ndarray:
        """Targets of the reverse-complemented window (layout 'map' only)."""
        if self._mirror is None:
            raise ConfigError("reverse-complement augmentation needs data.contacts.layout "
                              "'map'; deepC's strip above the centre bin has no mirror image")
        return y[..., self._mirror]

    def expected(self, chrom: str) -> np.ndarray:
        if chrom not in self._expected:
            self._expected[chrom] = self.matrix.expected(chrom, balance=self.config.balance)
        return self._expected[chrom]

    def full(self, chrom: str, start: int) -> np.ndarray:
        """The whole (n, n) target map of the window starting at ``start``."""
        from dnalens.io.contacts import contact_target

        mat = self.matrix.fetch(chrom, start, start + self.config.input_length,
                                balance=self.config.balance)
        return contact_target(mat, self.expected(chrom), sigma=self.config.sigma)

    def __call__(self, chrom: str, start: int) -> np.ndarray:
        return self.full(chrom, start)[self.rows, self.cols][None].astype(np.float32)


class TargetWindowDataset(Dataset):
    """Genome windows with targets read when a batch is asked for.

    Parameters
    ----------
    genome : Genome
    windows : DataFrame with chrom, start, end (all of one length)
    targets : callable (chrom, start) -> np.ndarray of shape ``targets.shape``
        With a ``flip(y)`` method when ``reverse_complement`` is on.
    reverse_complement : bool
        Reverse-complement half the windows (drawn per epoch and window) and flip their
        targets to match (Basenji and Akita train so).
    max_shift : int
        Shift each window's sequence by up to this many bp either way, keeping its targets
        (Akita: 11 bp); keep it well under the bin size.
    seed : int
        Seeds the augmentation draws.

    Batches from :func:`dnalens.data.datasets.make_loader` are (batch, 4, L) one-hot and
    (batch, *targets.shape) float32.
    """

    def __init__(self, genome: Genome, windows: pd.DataFrame,
                 targets: Callable[[str, int], np.ndarray], *, reverse_complement: bool = False,
                 max_shift: int = 0, seed: int = 0) -> None:
        if max_shift < 0:
            raise ConfigError(f"max_shift must be >= 0; got {max_shift}")
        if reverse_complement and not hasattr(targets, "flip"):
            raise ConfigError(f"{type(targets).__name__} targets cannot be reverse-complemented")
        self.genome, self.targets = genome, targets
        self.reverse_complement, self.max_shift, self.seed = reverse_complement, max_shift, seed
        self.windows = windows.reset_index(drop=True)
        lengths = (self.windows["end"] - self.windows["start"]).unique()
        if len(lengths) > 1:
            raise ConfigError(f"TargetWindowDataset: windows of several lengths {lengths}")
        self.input_length = int(lengths[0]) if len(lengths) else 0
        self.chroms = self.windows["chrom"].to_numpy()
        self.starts = self.windows["start"].to_numpy(np.int64)
        self.offsets, self.sizes = genome.locate(self.chroms) if len(self.windows) else (
            np.zeros(0, np.int64), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.windows)

    def __getitems__(self, keys: list[int]) -> tuple[Tensor, Tensor]:
        index, shift, flip = augment_draws(np.asarray(keys, dtype=np.int64), max(len(self), 1),
                                           self.seed, self.max_shift, self.reverse_complement)
        codes = gather_windows(self.genome.store, self.offsets[index], self.sizes[index],
                               self.starts[index] + shift, self.input_length)
        y = [self.targets(self.chroms[i], int(self.starts[i])) for i in index]
        if flip.any():
            codes = reverse_complement_codes(codes, flip)
            y = [self.targets.flip(t) if f else t for t, f in zip(y, flip, strict=True)]
        y = np.stack(y)
        return codes_to_one_hot(codes), torch.from_numpy(np.ascontiguousarray(y, np.float32))

    def __getitem__(self, key: int) -> tuple[Tensor, Tensor]:
        x, y = self.__getitems__([key])
        return x[0], y[0]


def pair_codes(genome: Genome, pairs: pd.DataFrame, config: PairsConfig) -> np.ndarray:
    """Base codes (n, 2 * anchor_length): each anchor's window centred on its midpoint,
    enhancer (anchor 1) first; N past chromosome ends."""
    half = config.anchor_length // 2
    seqs = []
    for row in pairs.itertuples(index=False):
        c1, c2 = (row.start1 + row.end1) // 2, (row.start2 + row.end2) // 2
        seqs.append(genome.fetch(row.chrom1, c1 - half, c1 - half + config.anchor_length)
                    + genome.fetch(row.chrom2, c2 - half, c2 - half + config.anchor_length))
    return table_codes(pd.Series(seqs, dtype=object), 2 * config.anchor_length)
