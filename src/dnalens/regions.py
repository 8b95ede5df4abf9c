"""Region strings typed by users: ``chr2:1,750,001-2,333,275``.

Such strings follow samtools, IGV and the UCSC browser: **1-based, both ends inclusive**,
commas allowed in the numbers. Everywhere else in dnalens (the API, BED files, frames)
coordinates are 0-based half-open, so the conversion happens here, once:
``chr2:1,750,001-2,333,275`` is ``("chr2", 1750000, 2333275)``, 583,275 bp.
"""

from __future__ import annotations

import re

from dnalens.errors import CoordinateError

__all__ = ["check_region_entry", "format_region", "is_region", "looks_like_region",
           "parse_region"]

_REGION = re.compile(r"^(?P<chrom>\S+):(?P<start>[0-9][0-9,]*)-(?P<end>[0-9][0-9,]*)$")
# Anything after the last ':' that starts with a digit was meant as coordinates.
_LOOKS_LIKE = re.compile(r":\s*[0-9]")


def is_region(text: str) -> bool:
    """Whether ``text`` has the shape ``chrom:start-end`` (numbers not yet checked)."""
    return bool(_REGION.match(text.strip()))


def looks_like_region(text: str) -> bool:
    """Whether ``text`` was meant as a region, well formed or not (a ':' then a digit).

    Some contig names hold such a colon (hg38's ``HLA-A*01:01:01:01``): ask the genome
    first, as samtools does.
    """
    return bool(_LOOKS_LIKE.search(text))


def parse_region(text: str) -> tuple[str, int, int]:
    """``(chrom, start, end)``, 0-based half-open, of a 1-based inclusive region string.

    Parameters
    ----------
    text : str
        ``chrom:start-end``, 1-based inclusive as in samtools; commas in the numbers are
        ignored (``chr2:1,750,001-2,333,275``).

    Returns
    -------
    tuple of (str, int, int)
        ``(chrom, start - 1, end)``.

    Raises
    ------
    CoordinateError
        Not of that shape, a start of 0, or an end before the start.
    """
    found = _REGION.match(text.strip())
    if found is None:
        raise CoordinateError(f"'{text}' is not a region chrom:start-end (1-based, inclusive, "
                              "as in samtools; e.g. chr2:1,750,001-2,333,275)")
    start, end = (int(found[key].replace(",", "")) for key in ("start", "end"))
    if start < 1:
        raise CoordinateError(f"'{text}': start must be >= 1; region strings are 1-based "
                              "(the first base is 1)")
    if end < start:
        raise CoordinateError(f"'{text}': end ({end:,}) is before start ({start:,})")
    return found["chrom"], start - 1, end


def check_region_entry(entry: str) -> str:
    """``entry`` unchanged if it is a chromosome name or a well-formed region.

    For config validators: a region whose numbers are wrong raises ValueError, which
    pydantic reports with the key's dotted path and the file. Other malformed strings may
    be contig names; :func:`dnalens.data.windows.window_regions` checks them on the genome.
    """
    if is_region(entry):
        try:
            parse_region(entry)
        except CoordinateError as err:
            raise ValueError(str(err)) from None
    return entry


def format_region(chrom: str, start: int, end: int) -> str:
    """The 1-based inclusive string of the 0-based half-open ``[start, end)``."""
    return f"{chrom}:{start + 1:,}-{end:,}"
