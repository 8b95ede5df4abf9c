"""Region strings typed by users: 1-based inclusive (samtools), commas allowed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnalens.errors import CoordinateError
from dnalens.regions import (
    check_region_entry,
    format_region,
    is_region,
    looks_like_region,
    parse_region,
)


@pytest.mark.parametrize("text, expected", [
    ("chr2:1,750,001-2,333,275", ("chr2", 1_750_000, 2_333_275)),
    ("chr2:1750000-2333275", ("chr2", 1_749_999, 2_333_275)),   # 1-based: base 1,750,000 too
    ("chr1:1-1", ("chr1", 0, 1)),                                # one base, the first
    ("  chrX:10-20 ", ("chrX", 9, 20)),
    ("HLA-A*01:01:01:01:5-9", ("HLA-A*01:01:01:01", 4, 9)),      # the last ':' splits
])
def test_parse_region_is_one_based_inclusive(text, expected):
    assert parse_region(text) == expected


@pytest.mark.parametrize("text, match", [
    ("chr2:0-10", r"'chr2:0-10': start must be >= 1; region strings are 1-based"),
    ("chr2:10-5", r"'chr2:10-5': end \(5\) is before start \(10\)"),
    ("chr2:1e3-5000", r"'chr2:1e3-5000' is not a region chrom:start-end \(1-based, inclusive"),
    ("chr2:100", r"'chr2:100' is not a region"),
    ("chr2:-5-10", r"is not a region"),
])
def test_parse_region_refuses(text, match):
    with pytest.raises(CoordinateError, match=match):
        parse_region(text)


def test_format_region_inverts_parse():
    assert format_region("chr2", 1_300_000, 1_750_000) == "chr2:1,300,001-1,750,000"
    assert parse_region(format_region("chr2", 1_300_000, 1_750_000)) == (
        "chr2", 1_300_000, 1_750_000)


def test_names_and_regions_told_apart():
    assert not looks_like_region("chr2") and not is_region("chr2")
    assert looks_like_region("chr2:1e3-5") and not is_region("chr2:1e3-5")
    assert looks_like_region("HLA-A*01:01:01:01")   # the genome is asked first
    assert check_region_entry("HLA-A*01:01:01:01") == "HLA-A*01:01:01:01"
    with pytest.raises(ValueError, match="start must be >= 1"):
        check_region_entry("chr2:0-10")


def _with_commas(n: int, commas: bool) -> str:
    return f"{n:,}" if commas else str(n)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="chr0123456789:-, ", max_size=20))
def test_random_strings_parse_right_or_raise_coordinate_error(text):
    try:
        chrom, start, end = parse_region(text)
    except CoordinateError as err:
        assert repr(text)[1:-1] in str(err) or text in str(err)
        return
    assert 0 <= start < end
    body = text.strip()
    assert body.startswith(chrom + ":")
    first, last = body[len(chrom) + 1:].split("-")
    assert (start + 1, end) == (int(first.replace(",", "")), int(last.replace(",", "")))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**9), st.integers(1, 10**6), st.booleans())
def test_written_regions_round_trip(start, length, commas):
    text = f"chr7:{_with_commas(start + 1, commas)}-{_with_commas(start + length, commas)}"
    assert parse_region(text) == ("chr7", start, start + length)
