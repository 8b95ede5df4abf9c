"""Random access to a reference genome in an indexed FASTA file.

`Genome` wraps pysam's faidx reader for string access and keeps, on demand, the
chromosomes a dataset uses as one concatenated array of base codes in memory:
gathering a batch of windows is then a single strided copy, which is what makes
on-the-fly one-hot encoding faster than reading pre-encoded matrices.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from dnalens.alphabet import N_CODE, describe_byte, encode_codes, first_invalid_base
from dnalens.errors import ContigError, CoordinateError, FastaError, InputFileError
from dnalens.io.contigs import describe_missing_contig
from dnalens.io.fasta_check import EXPECTED_LETTERS, check_fasta, fai_location

__all__ = ["Genome"]


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _is_bgzf(path: Path) -> bool:
    """BGZF blocks are gzip members with a 'BC' extra subfield (SAM spec 4.1)."""
    with open(path, "rb") as handle:
        head = handle.read(18)
    return len(head) >= 16 and head[3] & 4 != 0 and head[12:14] == b"BC"


@contextmanager
def _quiet_htslib() -> Iterator[None]:
    """Silence htslib's own stderr lines ([E::fai_build_core] ...); our errors say it in one."""
    import pysam

    previous = pysam.set_verbosity(0)
    try:
        yield
    finally:
        pysam.set_verbosity(previous)


def _open_fasta(path: Path):
    import pysam

    if not path.exists():
        raise InputFileError(f"{path}: no such FASTA file")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder; expected a FASTA file")
    if _is_gzip(path) and not _is_bgzf(path):
        raise FastaError(
            f"{path}: gzip-compressed but not bgzip; random access needs bgzip: "
            f"`zcat {path} | bgzip > {path.with_suffix('.bgz')}` (or store it uncompressed)"
        )
    fai = Path(f"{path}.fai")
    if not fai.exists():
        if not os.access(path.parent, os.W_OK):
            raise FastaError(
                f"{path}: no index {fai.name} and the folder is read-only; "
                f"run `samtools faidx {path}` where you can write"
            )
        # htslib would index invalid letters, drop duplicate and empty records silently
        # and name other faults badly; check the text first, once, as the index is made.
        check_fasta(path)
        try:
            with _quiet_htslib():
                pysam.faidx(str(path))
        except pysam.SamtoolsError as err:
            lines = [ln for ln in str(getattr(err, "value", err)).splitlines() if ln.strip()]
            reason = lines[-1].strip() if lines else "unknown error"
            raise FastaError(f"{path}: cannot build the FASTA index: {reason}") from None
    try:
        with _quiet_htslib():
            return pysam.FastaFile(str(path))
    except (OSError, ValueError) as err:
        raise FastaError(f"{path}: cannot open as indexed FASTA ({err})") from None


class Genome:
    """An indexed FASTA genome with chromosome sizes and N-padded fetches.

    Parameters
    ----------
    path : str or Path
        FASTA, plain or bgzip-compressed. The ``.fai`` (and ``.gzi``) index is
        built next to it when missing.

    Notes
    -----
    Coordinates are 0-based, half-open. Fetches reaching past either end of a
    chromosome are padded with N, so windows near telomeres keep their length.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fasta = _open_fasta(self.path)
        self.chrom_sizes: dict[str, int] = dict(
            zip(self._fasta.references, self._fasta.lengths, strict=True)
        )
        if not self.chrom_sizes:
            raise FastaError(f"{self.path}: no sequences in the FASTA file")
        self._store = np.zeros(0, dtype=np.uint8)
        self._offsets: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"Genome({str(self.path)!r}, {len(self.chrom_sizes)} sequences)"

    def __getstate__(self) -> dict:
        # pysam handles cannot cross process boundaries (DataLoader workers);
        # reopen from the path, keep the in-memory codes.
        state = self.__dict__.copy()
        state["_fasta"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._fasta = _open_fasta(self.path)

    @property
    def chroms(self) -> list[str]:
        """Sequence names in FASTA order."""
        return list(self.chrom_sizes)

    def check_chrom(self, chrom: str) -> int:
        """Length of ``chrom``; a ContigError naming what the genome has otherwise."""
        try:
            return self.chrom_sizes[chrom]
        except KeyError:
            raise ContigError(describe_missing_contig(chrom, self)) from None

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Sequence of ``chrom:start-end`` (upper case), padded with N past the ends.

        Parameters
        ----------
        chrom : str
        start, end : int
            0-based half-open; ``start`` may be negative and ``end`` past the
            chromosome's end (the excess is N).

        Returns
        -------
        str of length ``end - start``
        """
        size = self.check_chrom(chrom)
        if end < start:
            raise CoordinateError(
                f"{chrom}:{start}-{end}: end ({end}) must be >= start ({start}); "
                "coordinates are 0-based, half-open"
            )
        left = max(0, -start)
        right = max(0, end - size)
        lo, hi = max(start, 0), min(end, size)
        if hi <= lo:
            return "N" * (end - start)
        core = self._read(chrom, lo, hi).decode("ascii").upper()
        return "N" * left + core + "N" * right

    def _read(self, chrom: str, lo: int, hi: int) -> bytes:
        """Bytes of ``chrom[lo:hi]`` from the file, checked to be IUPAC letters.

        The check runs at every read, not only when the index is built, so a genome
        indexed elsewhere (a read-only shared folder) is still checked where it is used.
        """
        try:
            raw = self._fasta.fetch(chrom, lo, hi).encode("utf-8")
        except UnicodeDecodeError as err:  # pysam decodes as UTF-8; binary bytes fail
            raise self._bad_base(chrom, lo + err.start, err.object[err.start]) from None
        bad = first_invalid_base(raw)
        if bad >= 0:
            raise self._bad_base(chrom, lo + bad, raw[bad])
        return raw

    def _bad_base(self, chrom: str, pos: int, value: int) -> FastaError:
        where = fai_location(Path(f"{self.path}.fai"), chrom, pos)
        line = f":{where[0]}" if where else ""
        column = f", column {where[1]}" if where else ""
        return FastaError(
            f"{self.path}{line}: invalid character {describe_byte(value)} in record '{chrom}' "
            f"at position {pos:,} (0-based{column}); expected {EXPECTED_LETTERS}"
        )

    def codes(self, chrom: str) -> np.ndarray:
        """Whole chromosome as base codes (A=0, C=1, G=2, T=3, other=4), kept in memory.

        Returns
        -------
        np.ndarray, shape (chrom_length,), uint8 (a read-only view)
        """
        self.load([chrom])
        offset = self._offsets[chrom]
        view = self._store[offset : offset + self.chrom_sizes[chrom]]
        view.flags.writeable = False
        return view

    def load(self, chroms: Iterable[str]) -> None:
        """Read ``chroms`` into memory as codes (once); later gathers are copies.

        Loading every needed chromosome in one call avoids re-concatenating.
        """
        missing = [c for c in dict.fromkeys(chroms) if c not in self._offsets]
        if not missing:
            return
        parts = [self._store]
        offset = self._store.size
        for chrom in missing:
            size = self.check_chrom(chrom)
            parts.append(encode_codes(self._read(chrom, 0, size)))
            self._offsets[chrom] = offset
            offset += size
        self._store = np.concatenate(parts)

    def fetch_codes(
        self, chroms: Sequence[str] | np.ndarray, starts: np.ndarray, length: int
    ) -> np.ndarray:
        """Base codes of many windows of one length, N-padded past chromosome ends.

        Parameters
        ----------
        chroms : sequence of str, length n
        starts : np.ndarray, shape (n,), int
            0-based window starts (may be negative or run past the end).
        length : int

        Returns
        -------
        np.ndarray, shape (n, length), uint8
        """
        offsets, sizes = self.locate(chroms)
        return gather_windows(self._store, offsets, sizes, np.asarray(starts, np.int64), length)

    def locate(self, chroms: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Offsets in the in-memory store and lengths of each named chromosome (loading them).

        Returns
        -------
        offsets, sizes : np.ndarray, shape (n,), int64
        """
        unique, inverse = np.unique(np.asarray(chroms), return_inverse=True)
        self.load(unique.tolist())
        offsets = np.array([self._offsets[c] for c in unique], dtype=np.int64)[inverse]
        sizes = np.array([self.chrom_sizes[c] for c in unique], dtype=np.int64)[inverse]
        return offsets, sizes

    @property
    def store(self) -> np.ndarray:
        """The loaded chromosomes' codes laid end to end (see :meth:`locate`)."""
        return self._store


def gather_windows(
    store: np.ndarray, offsets: np.ndarray, sizes: np.ndarray, starts: np.ndarray, length: int
) -> np.ndarray:
    """Copy windows out of a concatenated code array, padding with N outside each chromosome.

    Parameters
    ----------
    store : np.ndarray, shape (total,), uint8
        Chromosomes' codes laid end to end.
    offsets, sizes : np.ndarray, shape (n,), int64
        Each window's chromosome offset in ``store`` and chromosome length.
    starts : np.ndarray, shape (n,), int64
        Window starts within the chromosome.
    length : int

    Returns
    -------
    np.ndarray, shape (n, length), uint8
    """
    n = starts.shape[0]
    inside = (starts >= 0) & (starts + length <= sizes)
    if store.size >= length and inside.all():
        # Fast path: rows of a strided view, one memcpy per window.
        view = np.lib.stride_tricks.sliding_window_view(store, length)
        return view[offsets + starts]
    out = np.full((n, length), N_CODE, dtype=np.uint8)
    if store.size >= length and inside.any():
        view = np.lib.stride_tricks.sliding_window_view(store, length)
        out[inside] = view[offsets[inside] + starts[inside]]
    for i in np.flatnonzero(~inside):
        lo = max(int(starts[i]), 0)
        hi = min(int(starts[i]) + length, int(sizes[i]))
        if hi > lo:
            out[i, lo - starts[i] : hi - starts[i]] = store[offsets[i] + lo : offsets[i] + hi]
    return out

