"""Helpers shared by the benchmark scripts: thread pinning, the genome, JSON output.

Only the standard library is imported at module level, so a script can apply
:func:`thread_env` before numpy, torch or numba start their thread pools.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import random
import sys
from dataclasses import dataclass
from pathlib import Path

REAL_GENOME = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "chr2_hg38"
    / "chr2_1-1750000.hg38.fa.gz"
).resolve()
RANDOM_GENOME_LENGTH = 2_000_000
_LINE = 60

_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def thread_env(n: int) -> dict[str, str]:
    """Every thread-count variable the numeric libraries read, set to ``n``.

    Apply with ``os.environ.update`` before importing numpy, torch or numba: they size
    their pools at import. ``torch.set_num_threads(n)`` is still needed once torch is in.
    """
    return dict.fromkeys(_THREAD_VARIABLES, str(n))


@dataclass(frozen=True)
class GenomeFiles:
    """The FASTA files a benchmark reads.

    Attributes
    ----------
    fasta : Path
        What dnalens reads: the bgzipped, indexed real genome, or the random one.
    plain_fasta : Path
        The same sequence uncompressed (60 bases a line), for readers that need it.
    source : str
        ``"chr2_hg38"`` (the real file) or ``"random"``.
    """

    fasta: Path
    plain_fasta: Path
    source: str


def genome_files(workdir: Path, *, seed: int = 0) -> GenomeFiles:
    """The real chr2 excerpt when it is present (decompressed into ``workdir``), else a
    random 2 Mb single-sequence FASTA written into ``workdir``."""
    plain = workdir / "genome.fa"
    if REAL_GENOME.exists():
        with gzip.open(REAL_GENOME, "rb") as src, open(plain, "wb") as dst:
            while chunk := src.read(1 << 22):
                dst.write(chunk)
        return GenomeFiles(REAL_GENOME, plain, "chr2_hg38")
    rng = random.Random(seed)
    seq = "".join(rng.choices("ACGT", k=RANDOM_GENOME_LENGTH))
    lines = [seq[i : i + _LINE] for i in range(0, len(seq), _LINE)]
    plain.write_text(">chrR\n" + "\n".join(lines) + "\n")
    return GenomeFiles(plain, plain, "random")


def read_plain_fasta(path: Path) -> dict[str, bytes]:
    """Every record of an uncompressed FASTA as ``{name: sequence bytes}``."""
    records: dict[str, list[bytes]] = {}
    current: list[bytes] = []
    with open(path, "rb") as handle:
        for line in handle:
            if line.startswith(b">"):
                current = records.setdefault(line[1:].split()[0].decode(), [])
            else:
                current.append(line.rstrip(b"\r\n"))
    return {name: b"".join(parts) for name, parts in records.items()}


def emit(record: dict) -> None:
    """Print one figure as a JSON line on stdout (progress notes go to stderr)."""
    print(json.dumps(record), flush=True)


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs"
