"""Property tests: MEME motif files and bigWig track lists, random and damaged.

Random valid files parse to the values they were written from; every damaged version either
parses (to the same values, for CRLF, a BOM or gzip) or raises a one-line DnalensError
naming the file. ``CASES`` counts the examples for benchmarks/fuzz_parsers.py.
"""

from __future__ import annotations

import collections
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parser_fuzz_cases import BENIGN, check_refusal, mutated, names

from dnalens.io.meme import read_meme
from dnalens.io.tracks import TrackSpec, read_track_list, write_bigwig

CASES: collections.Counter[str] = collections.Counter()
# benchmarks/fuzz_parsers.py raises the count through DNALENS_FUZZ_EXAMPLES.
SETTINGS = settings(max_examples=int(os.environ.get("DNALENS_FUZZ_EXAMPLES", "80")),
                    deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@st.composite
def motifs(draw: st.DrawFn) -> dict[str, tuple[str | None, np.ndarray]]:
    """1 to 3 motifs: name -> (alt name, (4, width) probabilities rounded to 4 decimals)."""
    out = {}
    for k in range(draw(st.integers(1, 3))):
        width = draw(st.integers(1, 6))
        weights = np.array(draw(st.lists(st.integers(1, 100), min_size=4 * width,
                                         max_size=4 * width)), float).reshape(width, 4)
        rows = np.round(weights / weights.sum(axis=1, keepdims=True), 4)
        alt = draw(st.none() | names)
        out[f"m{k}_{draw(names)}"] = (alt, rows.T)
    return out


def _meme_text(found: dict, *, w: bool, log_odds: bool) -> str:
    parts = ["MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
             "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n"]
    for name, (alt, pwm) in found.items():
        title = name if alt is None else f"{name} {alt}"
        width = f" w= {pwm.shape[1]}" if w else ""
        rows = "".join("  ".join(f"{p:.4f}" for p in col) + "\n" for col in pwm.T)
        parts.append(f"\nMOTIF {title}\nletter-probability matrix: alength= 4{width} "
                     f"nsites= 20 E= 0\n{rows}")
        if log_odds:
            parts.append(f"\nlog-odds matrix: alength= 4{width}\n"
                         + "".join(" -1.2 0.5 3 -4\n" for _ in range(pwm.shape[1])))
        parts.append("URL http://example.org/motif\n")
    return "".join(parts)


def _same_motifs(got: dict, expected: dict) -> bool:
    return list(got) == list(expected) and all(
        got[n].alt_name == alt and np.allclose(got[n].pwm, pwm / pwm.sum(axis=0), atol=1e-9)
        for n, (alt, pwm) in expected.items())


def _write(folder: str, name: str, data: bytes | str) -> Path:
    path = Path(folder) / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


@SETTINGS
@given(found=motifs(), w=st.booleans(), log_odds=st.booleans())
def test_random_meme_parses(found, w, log_odds):
    CASES["meme valid"] += 1
    with tempfile.TemporaryDirectory() as folder:
        got = read_meme(_write(folder, "m.meme", _meme_text(found, w=w, log_odds=log_odds)))
    assert _same_motifs(got, found)


@SETTINGS
@given(found=motifs(), w=st.booleans(), data=st.data())
def test_damaged_meme_parses_or_names_the_file(found, w, data):
    kind, damaged = data.draw(mutated(_meme_text(found, w=w, log_odds=False)))
    CASES["meme mutated"] += 1
    with tempfile.TemporaryDirectory() as folder:
        got = check_refusal(read_meme, _write(folder, "damaged.meme", damaged))
    if kind in BENIGN:
        assert got is not None and _same_motifs(got, found)


@pytest.fixture(scope="module")
def bigwig():
    with tempfile.TemporaryDirectory() as folder:
        yield write_bigwig(Path(folder) / "cov.bw", {"chr1": 100},
                           [("chr1", [0], [10], [1.0])])


@st.composite
def track_rows(draw: st.DrawFn) -> list[dict]:
    """1 to 4 tracks with unique names and every optional column drawn."""
    rows = []
    for k in range(draw(st.integers(1, 4))):
        rows.append({
            "name": f"t{k}{draw(names)}",
            "summary": draw(st.sampled_from(["", "sum", "mean"])),
            "transform": draw(st.sampled_from(["", "none", "log1p", "sqrt"])),
            "clip": draw(st.sampled_from(["", "0", "32", "2.5", "1e3"])),
            "scale": draw(st.sampled_from(["", "1", "0.5", "2e-1", "10"])),
            "relative": draw(st.booleans()),
        })
    return rows


def _track_text(rows: list[dict], bw: Path) -> str:
    columns = ["name", "file", "summary", "transform", "clip", "scale"]
    lines = ["\t".join(columns), "# a comment line"]
    for r in rows:
        file = "cov.bw" if r["relative"] else str(bw)
        lines.append("\t".join([r["name"], file, r["summary"], r["transform"], r["clip"],
                                r["scale"]]))
    return "\n".join(lines) + "\n"


def _expected_specs(rows: list[dict], folder: Path, bw: Path) -> list[TrackSpec]:
    return [TrackSpec(r["name"], folder / "cov.bw" if r["relative"] else bw,
                      summary=r["summary"] or "sum", transform=r["transform"] or "none",
                      clip=float(r["clip"]) if r["clip"] else None,
                      scale=float(r["scale"]) if r["scale"] else 1.0) for r in rows]


@SETTINGS
@given(rows=track_rows())
def test_random_track_list_parses(bigwig, rows):
    CASES["track list valid"] += 1
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(bigwig, Path(folder) / "cov.bw")
        got = read_track_list(_write(folder, "tracks.tsv", _track_text(rows, bigwig)))
        assert got == _expected_specs(rows, Path(folder), bigwig)


@SETTINGS
@given(rows=track_rows(), data=st.data())
def test_damaged_track_list_parses_or_names_the_file(bigwig, rows, data):
    kind, damaged = data.draw(mutated(_track_text(rows, bigwig)))
    CASES["track list mutated"] += 1
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(bigwig, Path(folder) / "cov.bw")
        got = check_refusal(read_track_list, _write(folder, "damaged_tracks.tsv", damaged))
        if kind in BENIGN:
            assert got == _expected_specs(rows, Path(folder), bigwig)
