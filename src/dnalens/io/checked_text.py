"""Lines of a plain or gzipped text file, read so that every fault is one line naming the file.

The line parsers of annotations, pairs, track lists and motif files read through
:func:`text_lines`; it turns what Python and zlib raise for a missing file, a folder, a
truncated or corrupt gzip stream, bytes that are not UTF-8 and binary (NUL) bytes into an
:class:`~dnalens.errors.InputFileError` (or the subclass the caller names) that gives the
file and the line. Gzip is told by its magic bytes, not by the name, so ``x.gtf.gz`` that is
plain text and ``x.gtf`` that is gzipped both read. A UTF-8 byte-order mark on the first line
and the ``\\r`` of Windows line ends are removed.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path

from dnalens.errors import InputFileError

__all__ = ["is_gzip", "strict_int", "text_lines"]

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = "\ufeff"
_ASCII_DIGITS = frozenset("0123456789")
_LARGEST = 2**62


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes."""
    with open(path, "rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def _open_binary(path: Path, what: str, error: type[InputFileError]):
    if path.is_dir():
        raise error(f"{path}: is a folder, not a {what}")
    try:
        return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except OSError as err:
        raise error(f"{path}: cannot read the {what} ({err.strerror or err})") from None


def _decoded(raw: bytes, number: int, where: str, what: str,
             error: type[InputFileError]) -> str:
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise error(f"{where}:{number}: not a text {what} (NUL byte at column {nul + 1}; "
                    "is it a binary file?)")
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{where}:{number}: not a text {what} (byte 0x{raw[err.start]:02x} at "
                    f"column {err.start + 1} is not UTF-8; is it a binary file?)") from None
    if number == 1 and line.startswith(_BOM):
        line = line[1:]
    return line.rstrip("\r\n")


def text_lines(path: str | Path, what: str,
               error: type[InputFileError] = InputFileError) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, text)`` for each line, 1-based, without its line end.

    Parameters
    ----------
    path : str or Path
        Plain or gzipped (told by content) UTF-8 text.
    what : str
        What the file is, for messages ("GTF/GFF file").
    error : subclass of InputFileError
        Raised for every fault.

    Raises
    ------
    InputFileError (or ``error``)
        Missing file, a folder, unreadable, a truncated or corrupt gzip stream, or a line
        holding a NUL byte or bytes that are not UTF-8 (``file:line: ...``).
    """
    path = Path(path)
    number = 0
    with _open_binary(path, what, error) as handle:
        try:
            for number, raw in enumerate(handle, start=1):
                yield number, _decoded(raw, number, str(path), what, error)
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise error(f"{path}:{number + 1}: truncated or corrupt gzip file ({err}); "
                        "expected a complete gzip stream") from None
        except OSError as err:
            raise error(f"{path}:{number + 1}: cannot read the {what} "
                        f"({err.strerror or err})") from None


def strict_int(text: str) -> int | None:
    """``int(text)`` for optional ``-`` then ASCII digits only; None for anything else.

    Python's ``int`` also takes ``"1_000"``, ``" 5"``, ``"+5"`` and non-ASCII digits, which
    no genomics format writes; reading them would hide a damaged file. Values beyond
    +-2**62 are None too: no genome is that long, and int64 arrays could not hold them.
    """
    digits = text[1:] if text.startswith("-") else text
    if not digits or len(digits) > 19 or not set(digits) <= _ASCII_DIGITS:
        return None
    value = int(text)
    return value if abs(value) <= _LARGEST else None
