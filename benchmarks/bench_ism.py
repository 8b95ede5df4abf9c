"""In-silico saturation mutagenesis, sequences per second: dnalens fast / naive vs tangermeme.

Model: the published Basset, ``build_model("basset", input_length=1000, n_tasks=164)``
(seed 0, eval mode), on 2 threads. Inputs: random one-hot 1,000 bp sequences (seed 0; ISM
costs the same for any sequence). Every implementation scores all 3,000 substitutions of
each sequence, at 1 and at 8 sequences per call:

* ``dnalens_fast``: ``dnalens.apply.mutagenesis.ism(model, x)`` (fast path, batch 256);
  best of several runs, interleaved with the slow ones (see ``--fast-rounds``).
* ``dnalens_naive``: ``ism(model, x, fast=False)``: every mutant through the model, batch 256.
* ``tangermeme_fast``: ``saturation_mutagenesis(model, X, fast=True, raw_outputs=True,
  batch_size=256, device="cpu")``. Its per-call set-up (the timed first batch, and, when it
  decides to use its fast path, the ``torch.export`` capture and the check against
  ``fast=False``) is part of each call and is timed. ``fast_path_used`` says whether it took
  its fast path (it does not when it predicts the job to take under 30 s without it).
* ``tangermeme_naive``: the same with ``fast=False``.

Warm-up calls (not timed) come first. Before timing, the outputs are checked on sequence 0
against a brute-force loop over the first, middle and last positions (dnalens fast; tangermeme
``fast=False`` and, forced onto its fast path, ``fast=True``, on those spans), after the
conventions are aligned: tangermeme's ``y_hat - y0`` is (n, 4, L, tasks); dnalens returns
(n, tasks, 4, L). After timing, the full dnalens naive and fast outputs are compared too.

The naive paths cost the same per sequence at 1 and at 8 sequences per call (they run one
sequence's 3,000 mutants at a time), and 8 sequences take 2-3 minutes each on 2 cores, so by
default their 8-sequence figures are the 1-sequence runs extrapolated: those lines say
``"measured": false``. ``--full`` measures them instead (about 5 more minutes).

Run: ``.venv/bin/python benchmarks/bench_ism.py`` (about 2-3 minutes on 2 cores).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import emit, machine, note, thread_env

os.environ.update(thread_env(2))  # two threads, set before numpy / torch start their pools

import argparse
import time
import warnings

import tangermeme
import tangermeme.saturation_mutagenesis as tm_sm
import torch

from dnalens.apply.mutagenesis import ism
from dnalens.models import build_model

THREADS = 2
LENGTH = 1000
N_TASKS = 164
BATCH = 256
CHECK_SPANS = ((0, 8), (496, 504), (992, 1000))


def random_one_hot(n: int, length: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (n, length), generator=gen)
    return torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).float().contiguous()


def brute_force(model: torch.nn.Module, x: torch.Tensor, start: int, end: int) -> torch.Tensor:
    """(tasks, 4, end - start) for one sequence x (4, L), by building each mutant."""
    with torch.inference_mode():
        ref = model(x[None])[0]
        out = torch.zeros(ref.shape[0], 4, end - start)
        for pos in range(start, end):
            mutants = x.expand(4, -1, -1).clone()
            mutants[:, :, pos] = torch.eye(4)
            out[:, :, pos - start] = (model(mutants) - ref).T
    return out


class FastUse:
    """Counts the times tangermeme builds its fast path (its _FastISM class)."""

    def __init__(self) -> None:
        self.count = 0
        self.original = tm_sm._FastISM

    def __call__(self, *args, **kwargs):
        self.count += 1
        return self.original(*args, **kwargs)


FAST_USE = FastUse()
tm_sm._FastISM = FAST_USE


def tangermeme_ism(model, x, *, fast: bool, start: int = 0, end: int = -1) -> torch.Tensor:
    """tangermeme's raw outputs in dnalens' convention: (n, tasks, 4, span)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y0, y_hat = tm_sm.saturation_mutagenesis(
            model, x, fast=fast, raw_outputs=True, batch_size=BATCH, device="cpu",
            start=start, end=end,
        )
    for w in caught:
        note(f"  tangermeme warning: {str(w.message)[:200]}")
    return (y_hat - y0[:, None, None, :]).permute(0, 3, 1, 2)


def timed(fn) -> tuple[object, float]:
    tic = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - tic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast-rounds", type=int, default=2,
                        help="dnalens_fast rounds (1 and 8 sequences) before the slow runs; "
                             "one more follows each slow run")
    parser.add_argument("--full", action="store_true",
                        help="measure the naive paths at 8 sequences instead of extrapolating")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)

    torch.manual_seed(0)
    model = build_model("basset", input_length=LENGTH, n_tasks=N_TASKS).eval()
    x8 = random_one_hot(8, LENGTH, seed=0)
    x1 = x8[:1]
    common = {"bench": "ism", "length": LENGTH, "threads": THREADS, "model": "basset",
              "n_tasks": N_TASKS, "batch_size": BATCH, "machine": machine(),
              "torch": torch.__version__, "tangermeme": tangermeme.__version__,
              "load_average_at_start": round(os.getloadavg()[0], 2)}

    # ---- warm-up and agreement on sequence 0 --------------------------------------------
    note("warm-up and output check on sequence 0 ...")
    fast0 = ism(model, x1)[0]  # warm-up of the fast path
    with torch.inference_mode():
        model(x8[:1].expand(BATCH, -1, -1).contiguous())  # warm-up of a full-model batch
    scale = float(fast0.abs().max())
    errors: dict[str, float] = {"dnalens_fast": 0.0, "tangermeme_naive": 0.0,
                                "tangermeme_fast": 0.0}
    for start, end in CHECK_SPANS:
        truth = brute_force(model, x1[0], start, end)
        errors["dnalens_fast"] = max(errors["dnalens_fast"],
                                     float((fast0[:, :, start:end] - truth).abs().max()))
        tm = tangermeme_ism(model, x1, fast=False, start=start, end=end)[0]
        errors["tangermeme_naive"] = max(errors["tangermeme_naive"],
                                         float((tm - truth).abs().max()))
    # tangermeme takes its fast path only for jobs it predicts to take over 30 s; force it
    # here (a warm-up of torch.export too) to check its output on a short span.
    saved, tm_sm._FAST_MIN_SECONDS = tm_sm._FAST_MIN_SECONDS, 0.0
    try:
        used = FAST_USE.count
        tm = tangermeme_ism(model, x1, fast=True, start=0, end=40)[0]
        forced = FAST_USE.count > used
    finally:
        tm_sm._FAST_MIN_SECONDS = saved
    errors["tangermeme_fast"] = float((tm - fast0[:, :, 0:40]).abs().max())
    tolerance = 1e-4 * max(scale, 1e-3)
    emit({**common, "check": "agreement", "max_abs_error": errors,
          "max_abs_output": scale, "tolerance": tolerance,
          "tangermeme_fast_path_forced": forced,
          "ok": all(e <= tolerance for e in errors.values())})
    if not all(e <= tolerance for e in errors.values()):
        note(f"outputs disagree: {errors}")
        sys.exit(1)

    # ---- timing ---------------------------------------------------------------------------
    rates: dict[tuple[str, int], float] = {}

    def record(impl: str, n: int, seconds: list[float], **extra) -> None:
        best = min(seconds)
        rates[impl, n] = n / best
        emit({**common, "impl": impl, "seqs_per_call": n, "seq_per_s": n / best,
              "seconds_per_call": best, "seconds_runs": seconds, "measured": True, **extra})

    # The slow implementations run once each; a dnalens_fast run at 1 and at 8 sequences
    # follows each of them, so that its best-of figure samples the same stretch of time
    # (other work on a shared machine hurts the many small ops of the fast path most).
    fast_outputs: dict[int, torch.Tensor] = {}
    fast_runs: dict[int, list[float]] = {1: [], 8: []}

    def fast_round() -> None:
        for n in (1, 8):
            fast_outputs[n], dt = timed(lambda n=n: ism(model, x8[:n]))
            fast_runs[n].append(dt)

    for _ in range(args.fast_rounds):
        fast_round()
    naive_ns = (1, 8) if args.full else (1,)
    naive_outputs = {}
    for n in naive_ns:
        naive_outputs[n], dt = timed(lambda n=n: ism(model, x8[:n], fast=False))
        note(f"dnalens_naive n={n}: {dt:.2f} s")
        record("dnalens_naive", n, [dt])
        fast_round()
    for n in naive_ns:
        used = FAST_USE.count
        _, dt = timed(lambda n=n: tangermeme_ism(model, x8[:n], fast=False))
        note(f"tangermeme_naive n={n}: {dt:.2f} s")
        record("tangermeme_naive", n, [dt], fast_path_used=FAST_USE.count > used)
        fast_round()
    for n in (1, 8):
        used = FAST_USE.count
        _, dt = timed(lambda n=n: tangermeme_ism(model, x8[:n], fast=True))
        note(f"tangermeme_fast n={n}: {dt:.2f} s")
        record("tangermeme_fast", n, [dt], fast_path_used=FAST_USE.count > used)
        fast_round()
    for n in (1, 8):
        note(f"dnalens_fast n={n}: best {min(fast_runs[n]):.2f} s of {len(fast_runs[n])}")
        record("dnalens_fast", n, fast_runs[n])
    if not args.full:
        # One sequence's 3,000 mutants at a time: the rate does not depend on the call size.
        for impl in ("dnalens_naive", "tangermeme_naive"):
            rates[impl, 8] = rates[impl, 1]
            emit({**common, "impl": impl, "seqs_per_call": 8, "seq_per_s": rates[impl, 1],
                  "measured": False,
                  "extrapolated_from": "the 1-sequence run (rate per sequence is the same)"})

    full_error = float((naive_outputs[1][0] - fast_outputs[8][0]).abs().max())
    common["load_average_at_end"] = round(os.getloadavg()[0], 2)
    emit({**common, "check": "dnalens_fast_vs_naive_full_sequence",
          "max_abs_error": full_error, "ok": full_error <= tolerance})

    for n in (1, 8):
        fast = rates["dnalens_fast", n]
        emit({**common, "ratio": "dnalens_fast", "seqs_per_call": n,
              "vs_dnalens_naive": fast / rates["dnalens_naive", n],
              "vs_tangermeme_fast": fast / rates["tangermeme_fast", n],
              "vs_tangermeme_naive": fast / rates["tangermeme_naive", n],
              "naive_measured": args.full or n == 1})


if __name__ == "__main__":
    main()
