"""Atomic file output: every file dnalens writes appears whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dnalens.errors import DnalensError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["write_atomic", "write_table", "write_text_atomic"]


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Run ``write(tmp)`` on a temporary file next to ``path``, then rename it into place.

    Same folder, so ``os.replace`` is a rename on one filesystem (atomic on POSIX and
    Windows); a failed write leaves no temporary file behind.
    """
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise DnalensError(f"{path}: cannot write ({err.strerror})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes files private; outputs are for sharing
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8, ``\n`` line ends on every platform) to ``path`` atomically."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"))


def write_table(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``table`` tab-separated, without its index, floats to 4 decimals, atomically."""
    return write_atomic(path, lambda tmp: table.to_csv(tmp, sep="\t", index=False,
                                                       float_format="%.4f"))


def complete_lines(path: str | os.PathLike[str]) -> list[str]:
    """The whole lines of a partial output, after cutting off a half-written last line.

    A process killed in the middle of a write leaves the end of its last line unwritten;
    resuming appends after the last newline, so the file is truncated there first.
    """
    with open(path, "rb+") as handle:
        data = handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):
            handle.seek(len(complete))
            handle.truncate()
    return complete.decode("utf-8", "replace").splitlines()
