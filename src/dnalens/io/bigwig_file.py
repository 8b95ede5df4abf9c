"""Opening and reading bigWig files through pyBigWig with every fault as one line.

libBigWig prints its own complaints (``[bwHdrRead] There was an error ...``) straight to the
process's stderr and pyBigWig then raises a bare ``RuntimeError``; here the C library's
stderr is silenced for the call and the failure becomes an
:class:`~dnalens.errors.InputFileError` naming the file (and the region read). Used by
:mod:`dnalens.io.tracks`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from dnalens.errors import InputFileError
from dnalens.io.track_list import bigwig_kind, not_bigwig_message

__all__ = ["bigwig_max", "bigwig_values", "open_bigwig"]


@contextlib.contextmanager
def _quiet_c_stderr() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null while a C call runs (Python's own stderr too)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded, closed): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def open_bigwig(path: Path):
    """A pyBigWig handle for ``path``.

    Raises
    ------
    InputFileError
        No such file, not a bigWig (another format), or a bigWig whose header or index
        cannot be read (truncated or corrupt).
    """
    import pyBigWig

    if not path.is_file():
        raise InputFileError(f"{path}: no such bigWig file")
    if bigwig_kind(path) != "bigwig":
        raise InputFileError(not_bigwig_message(path))
    try:
        with _quiet_c_stderr():
            handle = pyBigWig.open(str(path))
    except RuntimeError:
        handle = None
    if handle is None or not handle.isBigWig():
        raise InputFileError(f"{path}: truncated or corrupt bigWig file (its header or index "
                             "cannot be read); write it again")
    return handle


def _read_fault(path: Path, what: str) -> InputFileError:
    return InputFileError(f"{path}: cannot read {what} (truncated or corrupt bigWig file); "
                          "write it again")


def bigwig_values(handle, path: Path, chrom: str, start: int, end: int) -> np.ndarray:
    """Per-base values of ``chrom:start-end`` (file names, within the chromosome)."""
    try:
        with _quiet_c_stderr():
            return handle.values(chrom, start, end, numpy=True)
    except RuntimeError:
        raise _read_fault(path, f"{chrom}:{start}-{end}") from None


def bigwig_max(handle, path: Path, chrom: str) -> float | None:
    """The largest value on ``chrom`` from the file's index; None when it has none."""
    try:
        with _quiet_c_stderr():
            return handle.stats(chrom, type="max")[0]
    except RuntimeError:
        raise _read_fault(path, f"the summary of {chrom}") from None
