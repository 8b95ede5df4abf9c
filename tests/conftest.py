"""Shared fixtures: the ../shared data folder and small files written into tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pytest

SHARED_DIR = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder beside the repository; skips the test where it is absent."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"../shared not found at {SHARED_DIR}; tests that read shared data are skipped")
    return SHARED_DIR


def _write_fasta(path: Path, records: Mapping[str, str], width: int = 60) -> Path:
    path = Path(path)
    lines = []
    for name, seq in records.items():
        lines.append(f">{name}")
        lines.extend(seq[i : i + width] for i in range(0, len(seq), width))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def write_fasta() -> Callable[..., Path]:
    """``write_fasta(path, {"chr1": "ACGT..."}, width=60) -> path``: a plain FASTA file."""
    return _write_fasta


@pytest.fixture
def write_text(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write_text(name, text) -> tmp_path / name`` with ``text`` written verbatim."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return write


def random_dna(length: int, seed: int) -> str:
    """Reproducible random ACGT string."""
    rng = np.random.default_rng(seed)
    return "".join(np.array(list("ACGT"))[rng.integers(0, 4, length)])


@pytest.fixture
def dna() -> Callable[[int, int], str]:
    """``dna(length, seed) -> str``: reproducible random ACGT sequence."""
    return random_dna
