"""One-hot windows per second from a FASTA: dnalens vs a plain numpy lookup vs tangermeme.

All three make the same 1,000 bp windows at the same random centres, on one thread:

* ``dnalens``: ``GenomeWindowDataset`` + ``make_loader`` (batch 256, ``num_workers=0``,
  shuffled), once without augmentation and once with ``reverse_complement=True`` and
  ``max_shift``; a full epoch of float32 (batch, 4, L) tensors.
* ``numpy``: the baseline. The genome is one ``bytes`` object per sequence; each batch slices
  its windows, joins them and one-hot encodes them with a (256, 4) float32 lookup table,
  then transposes to (batch, 4, L).
* ``tangermeme``: ``tangermeme.io.extract_loci(loci, sequences, in_window=1000, n_jobs=1)``
  on the same loci in the same order, once with the uncompressed FASTA path
  (``source="fasta"``: it memory-maps the file and encodes with numba) and once with a
  dict of pre-encoded chromosomes (``source="dict"``, the encoding timed apart as
  ``load_s``). It returns all windows at once as int8 (n, 4, L).

Each figure is the best of ``--repeats`` runs (the runs are interleaved so that noise from
other work on the machine spreads over all implementations); every run is in
``windows_per_s_runs``. One JSON line per figure on stdout, then a ratio line.

Run: ``.venv/bin/python benchmarks/bench_loader.py`` (20-30 s on 2 cores).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import emit, genome_files, machine, note, read_plain_fasta, thread_env

os.environ.update(thread_env(1))  # one thread, set before numpy / torch / numba start

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dnalens.data.datasets import GenomeWindowDataset, make_loader
from dnalens.io.genome import Genome

THREADS = 1
LENGTH = 1000
BATCH = 256

# byte -> one-hot row (A, C, G, T); lowercase like uppercase; anything else all zero.
_LUT = np.zeros((256, 4), dtype=np.float32)
for _i, _base in enumerate("ACGT"):
    _LUT[ord(_base), _i] = _LUT[ord(_base.lower()), _i] = 1.0


def numpy_batches(sequences: dict[str, bytes], chroms: np.ndarray, starts: np.ndarray,
                  order: np.ndarray):
    """Baseline: yield (batch, 4, LENGTH) float32 tensors, slicing windows out of bytes."""
    for b in range(0, len(order), BATCH):
        idx = order[b : b + BATCH]
        raw = b"".join(sequences[c][s : s + LENGTH]
                       for c, s in zip(chroms[idx].tolist(), starts[idx].tolist(), strict=True))
        codes = np.frombuffer(raw, dtype=np.uint8).reshape(len(idx), LENGTH)
        yield torch.from_numpy(np.ascontiguousarray(_LUT[codes].transpose(0, 2, 1)))


def timed(run: Callable[[], int]) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = run()
    return time.perf_counter() - t0, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="windows per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-shift", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    warnings.filterwarnings("ignore", module="tangermeme")

    try:
        import pyfaidx
        import tangermeme
        from tangermeme.io import extract_loci
        from tangermeme.utils import one_hot_encode
    except ImportError as err:
        raise SystemExit(f"bench_loader: {err}; install the peer with "
                         "`.venv/bin/pip install -c constraints/cpu.txt tangermeme`") from None

    with tempfile.TemporaryDirectory(prefix="dnalens-bench-") as tmp:
        files = genome_files(Path(tmp), seed=args.seed)
        note(f"genome: {files.source} ({files.fasta}); {args.n} windows x {args.repeats} runs")

        # Loci: random centres far enough from the ends that no window (shifted or not)
        # is cut, so every implementation keeps every window.
        t0 = time.perf_counter()
        genome = Genome(files.fasta)
        sizes = genome.chrom_sizes
        rng = np.random.default_rng(args.seed)
        names = np.array(list(sizes))
        chroms = names[rng.integers(len(names), size=args.n)]
        margin = LENGTH // 2 + args.max_shift
        size_of = np.array([sizes[c] for c in chroms])
        centres = margin + (rng.random(args.n) * (size_of - 2 * margin)).astype(np.int64)
        starts = centres - LENGTH // 2
        labels = np.zeros((args.n, 1), dtype=np.float32)
        plain = GenomeWindowDataset(genome, chroms, centres, labels, LENGTH)
        dnalens_load = time.perf_counter() - t0  # open, read and encode the FASTA into memory
        augmented = GenomeWindowDataset(genome, chroms, centres, labels, LENGTH,
                                        reverse_complement=True, max_shift=args.max_shift,
                                        seed=args.seed)

        t0 = time.perf_counter()
        sequences = read_plain_fasta(files.plain_fasta)
        numpy_load = time.perf_counter() - t0
        order = rng.permutation(args.n)

        # tangermeme keeps the loci in the order given: give it the same shuffled order.
        loci = pd.DataFrame({"chrom": chroms[order], "start": starts[order],
                             "end": starts[order] + LENGTH})
        pyfaidx.Fasta(str(files.plain_fasta)).close()  # builds the .fai once, untimed
        t0 = time.perf_counter()
        pyfaidx.Fasta(str(files.plain_fasta)).close()
        tangermeme_open = time.perf_counter() - t0  # paid inside every extract_loci call
        t0 = time.perf_counter()
        onehot = {c: one_hot_encode(s.decode("ascii").upper()).numpy()
                  for c, s in sequences.items()}
        tangermeme_load = time.perf_counter() - t0

        def run_dnalens(dataset: GenomeWindowDataset) -> Callable[[], int]:
            loader = make_loader(dataset, batch_size=BATCH, shuffle=True, seed=args.seed,
                                 num_workers=0)

            def run() -> int:
                return sum(x.shape[0] for x, _ in loader)

            return run

        def run_numpy() -> int:
            return sum(x.shape[0] for x in numpy_batches(sequences, chroms, starts, order))

        def run_tangermeme(source) -> Callable[[], int]:
            def run() -> int:
                return extract_loci(loci, source, in_window=LENGTH, n_jobs=1).shape[0]

            return run

        # Same windows from every implementation (first 256 loci, forward strand).
        check_idx = order[:BATCH]
        x_dnalens = plain.__getitems__(check_idx.tolist())[0]
        x_numpy = next(numpy_batches(sequences, chroms, starts, check_idx))
        x_tm = extract_loci(loci.iloc[:BATCH], str(files.plain_fasta), in_window=LENGTH,
                            n_jobs=1)  # also JIT-compiles / loads numba's cache
        x_tm_dict = extract_loci(loci.iloc[:BATCH], onehot, in_window=LENGTH, n_jobs=1)
        for name, x in (("numpy", x_numpy), ("tangermeme", x_tm.float()),
                        ("tangermeme dict", x_tm_dict.float())):
            if not torch.equal(x_dnalens, x):
                raise RuntimeError(f"{name} windows differ from dnalens' windows")

        cases = {
            ("dnalens", False, None): (run_dnalens(plain), dnalens_load, "float32"),
            ("dnalens", True, None): (run_dnalens(augmented), dnalens_load, "float32"),
            ("numpy", False, None): (run_numpy, numpy_load, "float32"),
            ("tangermeme", False, "fasta"): (run_tangermeme(str(files.plain_fasta)),
                                             tangermeme_open, "int8"),
            ("tangermeme", False, "dict"): (run_tangermeme(onehot), tangermeme_load, "int8"),
        }
        runs: dict[tuple, list[float]] = {key: [] for key in cases}
        for r in range(args.repeats):
            for key, (run, _, _) in cases.items():
                seconds, n = timed(run)
                if n != args.n:
                    raise RuntimeError(f"{key}: made {n} windows, expected {args.n}")
                runs[key].append(n / seconds)
            note(f"round {r + 1}/{args.repeats} done")

    best = {key: max(rates) for key, rates in runs.items()}
    for (impl, augment, source), (_, load_s, dtype) in cases.items():
        record = {"bench": "loader", "impl": impl, "augment": augment}
        if augment:
            record.update(reverse_complement=True, max_shift=args.max_shift)
        if source:
            record["source"] = source
        rates = runs[(impl, augment, source)]
        record.update(
            windows_per_s=round(best[(impl, augment, source)]),
            windows_per_s_runs=[round(v) for v in rates],
            spread=round((max(rates) - min(rates)) / max(rates), 3),
            load_s=round(load_s, 4), dtype=dtype, n=args.n, length=LENGTH,
            batch=BATCH if impl != "tangermeme" else args.n, threads=THREADS,
            genome=files.source, machine=machine(),
        )
        if impl == "tangermeme":
            record["version"] = tangermeme.__version__
        emit(record)

    dnalens = best[("dnalens", False, None)]
    emit({
        "bench": "loader",
        "ratio_dnalens_vs_tangermeme": round(dnalens / best[("tangermeme", False, "fasta")], 3),
        "ratio_dnalens_vs_tangermeme_dict": round(dnalens / best[("tangermeme", False, "dict")],
                                                  3),
        "ratio_dnalens_vs_numpy": round(dnalens / best[("numpy", False, None)], 3),
        "ratio_dnalens_augment_vs_plain": round(best[("dnalens", True, None)] / dnalens, 3),
    })


if __name__ == "__main__":
    main()
