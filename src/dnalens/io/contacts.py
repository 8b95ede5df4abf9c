"""Hi-C contact maps from .cool/.mcool files, turned into the targets of Akita/deepC models.

`ContactMatrix` fetches dense windows of a cooler in the genome's chromosome names;
`contact_target` makes the training target (log observed/expected, optionally smoothed) with
NaN wherever a bin has no coverage: the loss masks NaN, so it is never filled with zeros.

Two layouts of a map's pixels are contracts shared with the models:

* upper triangle (Akita): ``upper_triangle(mat, offset)`` lists ``mat[i, j]`` for
  ``(i, j)`` in ``np.triu_indices(n, k=offset)``, row-major: ``(0, offset), (0, offset + 1),
  ..., (0, n - 1), (1, offset + 1), ...``.
* zigzag (deepC): ``zigzag_pairs(centre, band)`` row ``k`` is the pair of bins at distance
  ``d = k + 1`` straddling the centre, ``(centre - d // 2, centre - d // 2 + d)``.

Coordinates are 0-based, half-open; windows must start on a bin edge and span whole bins.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dnalens.errors import ConfigError, ContigError, CoordinateError, InputFileError
from dnalens.files import write_atomic
from dnalens.io.contigs import contig_lookup, describe_missing_in_file

if TYPE_CHECKING:
    import cooler

    from dnalens.io.genome import Genome

__all__ = [
    "ContactMatrix",
    "contact_target",
    "expected_by_distance",
    "from_upper_triangle",
    "log_transform",
    "nan_smooth",
    "observed_over_expected",
    "open_cooler",
    "upper_triangle",
    "write_cool",
    "zigzag_pairs",
]

log = logging.getLogger(__name__)


def _cooler_module():
    try:
        import cooler
    except ImportError:
        raise InputFileError("reading .cool/.mcool files needs the cooler package: "
                             "pip install 'dnalens[hic]'") from None
    return cooler


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _resolutions(groups: list[str]) -> dict[int, str]:
    """Bin size -> group for the ``/resolutions/N`` groups of an .mcool file."""
    found = {}
    for group in groups:
        head, _, tail = group.rpartition("/")
        if head.endswith("resolutions") and tail.isdigit():
            found[int(tail)] = group
    return found


def open_cooler(path: str | Path, resolution: int | None = None) -> cooler.Cooler:
    """Open a .cool file, or one resolution of an .mcool file.

    Parameters
    ----------
    path : str or Path
        A .cool or .mcool file, or a full URI ``file.mcool::/resolutions/N``.
    resolution : int, optional
        Bin size in bp. Required for an .mcool with several resolutions; for a .cool it is
        checked against the file's.

    Returns
    -------
    cooler.Cooler

    Raises
    ------
    InputFileError
        For a missing file, a file that is not a cooler, or a resolution it lacks (the
        message lists those it has).
    """
    cooler = _cooler_module()
    text = str(path)
    file, _, group = text.partition("::")
    if not Path(file).is_file():
        raise InputFileError(f"{file}: no such cooler file")
    try:
        groups = cooler.fileops.list_coolers(file)
    except (OSError, KeyError, ValueError):
        groups = []
    if not groups:
        raise InputFileError(f"{file}: not a cooler file (.cool/.mcool in HDF5)")
    if group:
        uri = text
    elif "/" in groups:
        uri = file
    else:
        by_size = _resolutions(groups)
        have = ", ".join(str(r) for r in sorted(by_size)) or ", ".join(groups)
        if resolution is None and len(groups) > 1:
            raise InputFileError(f"{file}: holds several resolutions ({have} bp); "
                                 "pass resolution=")
        if resolution is None:
            uri = f"{file}::{groups[0]}"
        elif resolution in by_size:
            uri = f"{file}::{by_size[resolution]}"
        else:
            raise InputFileError(f"{file}: no resolution {resolution} bp (has {have} bp)")
    try:
        clr = cooler.Cooler(uri)
    except (OSError, KeyError, ValueError) as err:
        raise InputFileError(f"{uri}: cannot open as a cooler ({err})") from None
    if resolution is not None and clr.binsize != resolution:
        raise InputFileError(f"{uri}: bins are {clr.binsize} bp, not {resolution} bp")
    if clr.binsize is None:
        raise InputFileError(f"{uri}: variable-size bins are not supported; use a binned cooler")
    return clr


class ContactMatrix:
    """A cooler read in the genome's chromosome names.

    Parameters
    ----------
    path : str or Path
        .cool, .mcool or a ``file::/resolutions/N`` URI (see :func:`open_cooler`).
    genome : Genome
    resolution : int, optional
        Bin size, to pick one resolution of an .mcool.
    rename_contigs : bool
        Match ``chr1`` <-> ``1`` and ``chrM`` <-> ``MT`` between file and genome.
    chrom_map : mapping, optional
        Explicit renames, cooler name -> genome name.

    Attributes
    ----------
    resolution : int
        Bin size in bp.
    """

    def __init__(
        self,
        path: str | Path,
        genome: Genome,
        *,
        resolution: int | None = None,
        rename_contigs: bool = True,
        chrom_map: Mapping[str, str] | None = None,
    ) -> None:
        self.cooler = open_cooler(path, resolution)
        # 'file.cool::/' reads badly in messages; keep the group only for .mcool.
        uri = self.cooler.uri
        self.source = uri[: -len("::/")] if uri.endswith("::/") else uri
        self.resolution = int(self.cooler.binsize)
        self.rename_contigs = rename_contigs
        self.file_sizes: dict[str, int] = {
            str(c): int(n) for c, n in self.cooler.chromsizes.items()
        }
        self._lookup = contig_lookup(self.file_sizes, genome, source=self.source,
                                     rename=rename_contigs, chrom_map=chrom_map)
        self._genome_chroms = frozenset(genome.chrom_sizes)
        self.balanced = "weight" in self.cooler.bins().columns

    def __repr__(self) -> str:
        return f"ContactMatrix({self.source!r}, resolution={self.resolution})"

    def file_chrom(self, chrom: str) -> str:
        """The cooler's name for genome chromosome ``chrom``; ContigError if it has none."""
        try:
            return self._lookup[chrom]
        except KeyError:
            if chrom not in self._genome_chroms:
                raise ContigError(f"{self.source}: chromosome '{chrom}' is not in the "
                                  "genome") from None
            raise ContigError(describe_missing_in_file(
                chrom, list(self.file_sizes), source=self.source, rename=self.rename_contigs,
            )) from None

    def _check_balance(self, balance: bool) -> None:
        if balance and not self.balanced:
            raise InputFileError(
                f"{self.source}: not balanced (no 'weight' column in its bins); use "
                f"balance=False for raw counts, or run `cooler balance {self.cooler.filename}`"
            )

    def fetch(self, chrom: str, start: int, end: int, balance: bool = True) -> np.ndarray:
        """Dense contact map of ``chrom:start-end``.

        Parameters
        ----------
        chrom : str
            Genome name.
        start, end : int
            0-based half-open; ``start`` and ``end - start`` must be multiples of the
            resolution. Bins outside the chromosome are NaN.
        balance : bool
            Balanced (ICE) values, NaN for filtered bins; False gives raw counts.

        Returns
        -------
        np.ndarray, shape (n, n), float64, n = (end - start) // resolution
        """
        res = self.resolution
        if end <= start or start % res or (end - start) % res:
            raise CoordinateError(
                f"{self.source}: window {chrom}:{start}-{end} ({end - start:,} bp) does not "
                f"divide into {res:,} bp bins: start and length must be multiples of the "
                f"resolution ({res:,} bp)"
            )
        name = self.file_chrom(chrom)
        self._check_balance(balance)
        n = (end - start) // res
        out = np.full((n, n), np.nan)
        lo, hi = max(start, 0), min(end, self.file_sizes[name])
        if hi > lo:
            part = self.cooler.matrix(balance=balance).fetch((name, lo, hi))
            first = (lo - start) // res
            out[first : first + part.shape[0], first : first + part.shape[1]] = part
        return out

    def expected(self, chrom: str, balance: bool = True) -> np.ndarray:
        """Mean contact at each distance over the whole chromosome (sparse, never dense).

        Returns
        -------
        np.ndarray, shape (n_bins_chrom,), float64
            Entry ``d`` is the mean of pixels ``(i, i + d)`` over pairs where both bins have
            coverage (a finite weight); NaN where no such pair exists.
        """
        from scipy.signal import fftconvolve

        name = self.file_chrom(chrom)
        self._check_balance(balance)
        bins = self.cooler.bins().fetch(name)
        n = len(bins)
        valid = np.isfinite(bins["weight"].to_numpy()) if balance else np.ones(n, dtype=bool)
        pixels = self.cooler.matrix(balance=balance, as_pixels=True).fetch(name)
        distance = (pixels["bin2_id"] - pixels["bin1_id"]).to_numpy()
        value = pixels["balanced" if balance else "count"].to_numpy(dtype=np.float64)
        ok = np.isfinite(value)
        sums = np.bincount(distance[ok], weights=value[ok], minlength=n)[:n]
        # Pairs (i, i + d) with both bins valid, for every d at once: an autocorrelation,
        # by FFT because chromosomes have ~10^5 bins.
        v = valid.astype(np.float64)
        counts = np.rint(fftconvolve(v, v[::-1])[n - 1 :]) if n else np.zeros(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------


def _square(mat: np.ndarray, name: str, caller: str) -> np.ndarray:
    mat = np.asarray(mat, dtype=np.float64)
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1]:
        raise ConfigError(f"{caller}: {name} must be a square (n, n) matrix; got shape "
                          f"{mat.shape}")
    return mat


def expected_by_distance(mat: np.ndarray) -> np.ndarray:
    """Mean contact on each diagonal of a map, ignoring NaN.

    Parameters
    ----------
    mat : np.ndarray, shape (n, n)

    Returns
    -------
    np.ndarray, shape (n,), float64
        Entry ``d`` is the mean of the finite values of ``diag(mat, d)``; NaN when it has none.
        See :meth:`ContactMatrix.expected` for a whole chromosome's, less noisy.
    """
    mat = _square(mat, "mat", "expected_by_distance")
    n = mat.shape[0]
    out = np.full(n, np.nan)
    for d in range(n):
        diag = np.diagonal(mat, d)
        ok = np.isfinite(diag)
        if ok.any():
            out[d] = diag[ok].mean()
    return out


def observed_over_expected(mat: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Each contact divided by the expected contact at its distance.

    Parameters
    ----------
    mat : np.ndarray, shape (n, n)
    expected : np.ndarray, shape (m,), m >= n
        Expected value by distance in bins (:func:`expected_by_distance`).

    Returns
    -------
    np.ndarray, shape (n, n), float64
        ``mat[i, j] / expected[|i - j|]``; NaN where either is NaN or the expected is <= 0.
    """
    mat = _square(mat, "mat", "observed_over_expected")
    n = mat.shape[0]
    expected = np.asarray(expected, dtype=np.float64)
    if expected.ndim != 1 or expected.size < n:
        raise ConfigError(f"observed_over_expected: expected must be 1-d with at least {n} "
                          f"distances; got shape {expected.shape}")
    idx = np.arange(n)
    exp = expected[np.abs(idx[:, None] - idx[None, :])]
    exp = np.where(exp > 0, exp, np.nan)
    return mat / exp


def log_transform(oe: np.ndarray, pseudocount: float = 0.0) -> np.ndarray:
    """Natural log of observed/expected, keeping NaN.

    Parameters
    ----------
    oe : np.ndarray, any shape
    pseudocount : float
        Added before the log. With the default 0, an O/E of 0 (covered bins, no reads) has no
        log and becomes NaN (masked), never -inf.

    Returns
    -------
    np.ndarray, same shape, float64
    """
    shifted = np.asarray(oe, dtype=np.float64) + pseudocount
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(shifted > 0, np.log(np.where(shifted > 0, shifted, 1.0)), np.nan)


def nan_smooth(mat: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing that ignores NaN and keeps NaN where the input had it.

    Normalised convolution: ``G * (x with NaN as 0) / G * (1 where x is finite)``, so missing
    pixels neither pull neighbours towards 0 nor get filled in.

    Parameters
    ----------
    mat : np.ndarray, shape (n, n)
    sigma : float
        Standard deviation of the Gaussian in bins; 0 returns a copy.

    Returns
    -------
    np.ndarray, shape (n, n), float64
    """
    from scipy.ndimage import gaussian_filter

    mat = _square(mat, "mat", "nan_smooth")
    if sigma < 0:
        raise ConfigError(f"nan_smooth: sigma must be >= 0; got {sigma}")
    if sigma == 0:
        return mat.copy()
    ok = np.isfinite(mat)
    # mode='constant' treats outside the map as missing, so edge pixels are not biased.
    num = gaussian_filter(np.where(ok, mat, 0.0), sigma, mode="constant", cval=0.0)
    den = gaussian_filter(ok.astype(np.float64), sigma, mode="constant", cval=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~ok] = np.nan
    return out


def contact_target(
    mat: np.ndarray,
    expected: np.ndarray | None = None,
    *,
    sigma: float = 0.0,
    pseudocount: float = 0.0,
) -> np.ndarray:
    """Training target from a contact window: log(observed / expected), optionally smoothed.

    Parameters
    ----------
    mat : np.ndarray, shape (n, n)
        Balanced contacts, NaN for bins without coverage (:meth:`ContactMatrix.fetch`).
    expected : np.ndarray, shape (m,), m >= n, optional
        Expected by distance; default the window's own (:func:`expected_by_distance`).
        A chromosome's (:meth:`ContactMatrix.expected`) is less noisy.
    sigma : float
        Gaussian smoothing in bins after the log (:func:`nan_smooth`); 0 for none.
    pseudocount : float
        See :func:`log_transform`.

    Returns
    -------
    np.ndarray, shape (n, n), float32
        NaN wherever the input is NaN, and where O/E + pseudocount <= 0.
    """
    mat = _square(mat, "mat", "contact_target")
    if expected is None:
        expected = expected_by_distance(mat)
    target = log_transform(observed_over_expected(mat, expected), pseudocount)
    target = nan_smooth(target, sigma)
    return target.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Layouts shared with the models
# ---------------------------------------------------------------------------------------------


def upper_triangle(mat: np.ndarray, offset: int = 2) -> np.ndarray:
    """Pixels of the upper triangle at least ``offset`` bins off the diagonal, as a vector.

    The order is a contract with the models: ``np.triu_indices(n, k=offset)``, row-major, i.e.
    ``(0, offset), (0, offset + 1), ..., (0, n - 1), (1, offset + 1), ..., (n - offset - 1,
    n - 1)``.

    Parameters
    ----------
    mat : np.ndarray, shape (..., n, n)
    offset : int
        Diagonals skipped (Akita uses 2).

    Returns
    -------
    np.ndarray, shape (..., n_pairs), n_pairs = (n - offset) * (n - offset + 1) / 2
    """
    mat = np.asarray(mat)
    if mat.ndim < 2 or mat.shape[-1] != mat.shape[-2]:
        raise ConfigError(f"upper_triangle: mat must have shape (..., n, n); got {mat.shape}")
    if offset < 0:
        raise ConfigError(f"upper_triangle: offset must be >= 0; got {offset}")
    rows, cols = np.triu_indices(mat.shape[-1], k=offset)
    return mat[..., rows, cols]


def from_upper_triangle(vec: np.ndarray, n: int, offset: int = 2) -> np.ndarray:
    """Symmetric ``(n, n)`` map from a vector in :func:`upper_triangle` order.

    Parameters
    ----------
    vec : np.ndarray, shape (..., n_pairs)
    n : int
    offset : int

    Returns
    -------
    np.ndarray, shape (..., n, n), float
        ``out[i, j] = out[j, i] = vec[k]`` for the k-th pair of ``np.triu_indices(n, offset)``;
        NaN within ``offset`` of the diagonal.
    """
    vec = np.asarray(vec)
    rows, cols = np.triu_indices(n, k=offset)
    if vec.ndim < 1 or vec.shape[-1] != rows.size:
        raise ConfigError(f"from_upper_triangle: vec must end in n_pairs = {rows.size} "
                          f"(n={n}, offset={offset}); got shape {vec.shape}")
    dtype = np.result_type(vec.dtype, np.float32)
    out = np.full((*vec.shape[:-1], n, n), np.nan, dtype=dtype)
    out[..., rows, cols] = vec
    out[..., cols, rows] = vec
    return out


def zigzag_pairs(centre_bin: int, band_bins: int, n_bins: int | None = None) -> np.ndarray:
    """Bin pairs of deepC's zigzag layout around a centre bin.

    The contract: value ``k`` (0 <= k < band_bins) is the contact at distance ``d = k + 1``
    between bins ``centre - d // 2`` and ``centre - d // 2 + d`` (= ``centre + ceil(d / 2)``),
    so the pairs alternate sides of the centre as they move away from the diagonal.

    Parameters
    ----------
    centre_bin : int
    band_bins : int
        Number of distances.
    n_bins : int, optional
        Bins in the map; every pair must lie inside it.

    Returns
    -------
    np.ndarray, shape (band_bins, 2), int64
        Columns ``(i, j)`` with ``j - i = k + 1``.
    """
    if band_bins < 1:
        raise ConfigError(f"zigzag_pairs: band_bins must be >= 1; got {band_bins}")
    d = np.arange(1, band_bins + 1, dtype=np.int64)
    first = centre_bin - d // 2
    pairs = np.stack([first, first + d], axis=1)
    limit = n_bins if n_bins is not None else None
    if pairs.min() < 0 or (limit is not None and pairs.max() >= limit):
        raise ConfigError(
            f"zigzag_pairs: a band of {band_bins} bins around bin {centre_bin} spans bins "
            f"{int(pairs.min())}..{int(pairs.max())}, outside the map"
            + (f" of {limit} bins" if limit is not None else "")
        )
    return pairs


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def write_cool(
    path: str | Path,
    chrom_sizes: Mapping[str, int],
    resolution: int,
    chrom: str,
    start: int,
    matrix: np.ndarray,
) -> Path:
    """Write one window's symmetric map (a prediction) as a .cool file, atomically.

    Parameters
    ----------
    path : str or Path
    chrom_sizes : mapping
        Chromosome name -> length; every chromosome gets bins of ``resolution``.
    resolution : int
    chrom : str
    start : int
        Window start, a multiple of ``resolution``.
    matrix : np.ndarray, shape (n, n)
        Symmetric; the upper triangle (diagonal included) is stored as float counts, NaN
        pixels are left out (read back as 0 unbalanced, and there is no 'weight' column).

    Returns
    -------
    Path
    """
    cooler = _cooler_module()
    import pandas as pd

    matrix = _square(matrix, "matrix", "write_cool")
    n = matrix.shape[0]
    if chrom not in chrom_sizes:
        raise ContigError(f"{path}: chromosome '{chrom}' is not in chrom_sizes")
    end = start + n * resolution
    n_chrom_bins = -(-int(chrom_sizes[chrom]) // resolution)
    if start < 0 or start % resolution or start // resolution + n > n_chrom_bins:
        raise CoordinateError(
            f"{path}: window {chrom}:{start}-{end} ({n} bins of {resolution:,} bp) must start "
            f"on a bin edge and lie within {chrom} ({chrom_sizes[chrom]:,} bp)"
        )
    bins = cooler.util.binnify(pd.Series(dict(chrom_sizes), dtype="int64"), resolution)
    chrom_first = int(np.flatnonzero(bins["chrom"].to_numpy() == chrom)[0])
    offset = chrom_first + start // resolution
    rows, cols = np.triu_indices(n)
    values = matrix[rows, cols]
    keep = np.isfinite(values)
    pixels = pd.DataFrame({"bin1_id": rows[keep] + offset, "bin2_id": cols[keep] + offset,
                           "count": values[keep]})

    def write(tmp: Path) -> None:
        # triu_indices is row-major, so the pixels are already sorted (ordered=True).
        cooler.create_cooler(str(tmp), bins, pixels, dtypes={"count": float}, ordered=True,
                             mode="w")

    return write_atomic(Path(path), write)
