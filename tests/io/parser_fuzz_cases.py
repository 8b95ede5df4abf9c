"""Hypothesis strategies shared by the parser property tests and benchmarks/fuzz_parsers.py.

``mutated(text)`` draws one damaged (or harmlessly re-encoded) version of a valid file, and
``check_refusal`` states what every parser must do with it: return, or raise a DnalensError
of one line that names the file. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from dnalens.errors import DnalensError

# Values a damaged or hand-edited file holds where a number or a name should be.
JUNK_FIELDS = ["", "x", "-1", "0", "1e3", "1_0", "NaN", "inf", "\u0661\u0662", " 5", "+5",
               "5 ", "\x00", "\udcff", '"', ";", "#", "=", "9" * 25, "0.5", "chr99", "\t"]

# Re-encodings a parser must read to the same values as the original.
BENIGN = ("crlf", "bom", "gzip", "blank_lines_at_end")
DAMAGING = ("delete_column", "extra_column", "replace_field", "junk_bytes", "truncate",
            "empty", "delete_line", "duplicate_line", "latin1", "utf16", "truncated_gzip",
            "swap_lines")


def _encode(text: str) -> bytes:
    # surrogateescape turns the "\udcff" junk field into a raw 0xff byte.
    return text.encode("utf-8", "surrogateescape")


@st.composite
def mutated(draw: st.DrawFn, text: str, kinds: tuple[str, ...] = BENIGN + DAMAGING
            ) -> tuple[str, bytes]:
    """(kind, bytes): ``text`` changed in one way drawn from ``kinds``."""
    kind = draw(st.sampled_from(kinds))
    lines = text.split("\n")
    i = draw(st.integers(0, max(len(lines) - 2, 0)))
    fields = lines[i].split("\t")
    j = draw(st.integers(0, len(fields) - 1))
    junk = draw(st.sampled_from(JUNK_FIELDS))
    if kind == "crlf":
        return kind, _encode(text.replace("\n", "\r\n"))
    if kind == "bom":
        return kind, b"\xef\xbb\xbf" + _encode(text)
    if kind == "gzip":
        return kind, gzip.compress(_encode(text), mtime=0)
    if kind == "blank_lines_at_end":
        return kind, _encode(text + "\n\n")
    if kind == "delete_column":
        del fields[j]
    elif kind == "extra_column":
        fields.insert(j, junk)
    elif kind == "replace_field":
        fields[j] = junk
    elif kind == "latin1":
        fields[j] = fields[j] + "\u00e9"
        lines[i] = "\t".join(fields)
        return kind, "\n".join(lines).encode("latin-1", "replace")
    elif kind == "utf16":
        return kind, text.encode("utf-16")
    elif kind == "empty":
        return kind, b""
    elif kind in ("junk_bytes", "truncate", "truncated_gzip"):
        data = _encode(text)
        if kind == "truncated_gzip":
            data = gzip.compress(data, mtime=0)
        cut = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "junk_bytes":
            return kind, data[:cut] + draw(st.binary(min_size=1, max_size=12)) + data[cut:]
        return kind, data[:cut]
    elif kind == "delete_line":
        del lines[i]
        return kind, _encode("\n".join(lines))
    elif kind == "duplicate_line":
        lines.insert(i, lines[i])
        return kind, _encode("\n".join(lines))
    elif kind == "swap_lines":
        k = draw(st.integers(0, max(len(lines) - 1, 0)))
        lines[i], lines[k] = lines[k], lines[i]
        return kind, _encode("\n".join(lines))
    lines[i] = "\t".join(fields)
    return kind, _encode("\n".join(lines))


def check_refusal(read: Callable[[Path], Any], path: Path) -> Any:
    """``read(path)``'s value, or None when it raised a one-line DnalensError naming the file;
    any other exception fails the test."""
    try:
        return read(path)
    except DnalensError as err:
        message = str(err)
        assert path.name in message, f"the error does not name {path.name}: {message}"
        assert "\n" not in message and "Traceback" not in message, message
        return None
    except Exception as err:  # the property: nothing but a DnalensError escapes
        pytest.fail(f"{type(err).__name__} escaped for {path.name}: {err}")


# Names as GTF attributes, gene tables, track lists and MEME ids write them.
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_.\-]{0,11}", fullmatch=True)
