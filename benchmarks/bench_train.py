"""Training sequences per second of Basset: dnalens' training path vs a plain PyTorch loop.

Both train ``build_model("basset", input_length=1000, n_tasks=8)`` (published layer sizes)
with Adam (lr 1e-3) and BCE-with-logits on batches of 64, on the same number of threads:

* ``dnalens``: ``SequenceTask`` in a ``lightning.Trainer`` (CSVLogger into a temp folder,
  no checkpoints, no progress bar or summary, no sanity validation, fp32 on CPU), fed by
  ``make_loader`` over a ``GenomeWindowDataset`` that one-hot encodes 1,000 bp windows of
  the genome on the fly (shuffled, ``num_workers=0``) -- the path ``dnalens train`` runs.
* ``plain_pytorch``: ``zero_grad / forward / loss / backward / step`` over random one-hot
  tensors built in memory beforehand.

Only steady-state steps are timed: after ``--warmup`` steps, the clock runs from the end of
the last warm-up step to the end of the last timed step, so each timed step includes
fetching its batch. Each run times ``--steps`` steps (default 30) unless that would overrun
its share of ``--budget`` seconds; it then stops early (after at least two timed steps, and
with one warm-up step if a step is too slow for more), and the JSON line lists the steps
each run timed. Runs alternate between the two implementations, ``--repeats`` each; the
best rate is reported, with every run's rate, the rate of the fastest single step and the
process CPU seconds per step (the last two are disturbed less by other work on the machine).

Run: ``.venv/bin/python benchmarks/bench_train.py`` (under 3 minutes).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import emit, genome_files, machine, note, thread_env

os.environ.update(thread_env(2))  # two threads, set before numpy / torch start

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from dnalens.data.datasets import GenomeWindowDataset, make_loader
from dnalens.io.genome import Genome
from dnalens.models.registry import build_model
from dnalens.train.task import SequenceTask

THREADS = 2
LENGTH = 1000
MODEL = "basset"


def fresh_model(n_tasks: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(MODEL, input_length=LENGTH, n_tasks=n_tasks)


class Pacer:
    """Clocks one run's steps and decides after each whether the run goes on.

    The run warms up for ``warmup`` steps (one, if a step is too slow for more to fit in
    ``allotment`` seconds), then times up to ``steps`` steps, stopping early -- after at
    least two -- when the next step would not end within the allotment.
    """

    def __init__(self, *, warmup: int, steps: int, allotment: float) -> None:
        self.max_warmup, self.max_steps, self.allotment = warmup, steps, allotment
        self.warmup: int | None = None
        self.ends = [time.perf_counter()]
        self.cpu = [time.process_time()]

    def step_done(self) -> bool:
        """Record the end of a step; False when the run should stop."""
        now = time.perf_counter()
        self.ends.append(now)
        self.cpu.append(time.process_time())
        done, last, used = len(self.ends) - 1, now - self.ends[-2], now - self.ends[0]
        if self.warmup is None:
            still = self.max_warmup - done  # warm-up steps still to run
            if still <= 0 or used + (still + 2) * last > self.allotment:
                self.warmup = done
            return True
        timed = done - self.warmup
        if timed >= self.max_steps:
            return False
        return timed < 2 or used + 1.05 * last <= self.allotment

    def result(self) -> tuple[int, float, float, float]:
        """Timed steps, their wall seconds, their process CPU seconds, the fastest step."""
        if self.warmup is None or len(self.ends) - 1 - self.warmup < 1:
            raise RuntimeError(f"run stopped after {len(self.ends) - 1} steps, before timing")
        w = self.warmup
        fastest = float(np.diff(self.ends[w:]).min())
        return (len(self.ends) - 1 - w, self.ends[-1] - self.ends[w],
                self.cpu[-1] - self.cpu[w], fastest)


class PacerCallback(L.Callback):
    """Lets a :class:`Pacer` see Lightning's steps and stop the fit."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if not self.pacer.step_done():
            trainer.should_stop = True


def run_dnalens(dataset: GenomeWindowDataset, pacer: Pacer, *, n_tasks: int, batch: int,
                seed: int, logdir: Path) -> None:
    """dnalens' training path: SequenceTask in a Lightning Trainer over make_loader."""
    task = SequenceTask(fresh_model(n_tasks, seed), loss="bce", optimizer="adam", lr=1e-3)
    loader = make_loader(dataset, batch_size=batch, shuffle=True, seed=seed, num_workers=0)
    trainer = L.Trainer(
        accelerator="cpu", devices=1, precision="32-true",
        max_steps=pacer.max_warmup + pacer.max_steps, max_epochs=-1,
        logger=CSVLogger(logdir, name="", version=""), log_every_n_steps=10,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        num_sanity_val_steps=0, callbacks=[PacerCallback(pacer)],
    )
    trainer.fit(task, loader)


def run_plain(x: torch.Tensor, y: torch.Tensor, pacer: Pacer, *, n_tasks: int, batch: int,
              seed: int) -> None:
    """The plain loop over in-memory tensors."""
    model = fresh_model(n_tasks, seed).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    n_batches = x.shape[0] // batch
    step, going = 0, True
    while going:
        i = step % n_batches
        xb, yb = x[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch]
        optimiser.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimiser.step()
        step += 1
        going = pacer.step_done()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps (at most)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--budget", type=float, default=140.0,
                        help="seconds all runs may take; runs stop early to fit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    began = time.perf_counter()
    torch.set_num_threads(THREADS)
    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)

    rng = np.random.default_rng(args.seed)
    pool = args.batch * 8
    codes = rng.integers(4, size=(pool, LENGTH))
    x_mem = torch.nn.functional.one_hot(torch.from_numpy(codes), 4).permute(0, 2, 1)
    x_mem = x_mem.float().contiguous()
    y_mem = torch.from_numpy(rng.integers(2, size=(pool, args.tasks)).astype(np.float32))

    with tempfile.TemporaryDirectory(prefix="dnalens-bench-") as tmp:
        files = genome_files(Path(tmp), seed=args.seed)
        genome = Genome(files.fasta)
        chrom = max(genome.chrom_sizes, key=genome.chrom_sizes.get)
        size = genome.chrom_sizes[chrom]
        n = 20_000
        centres = rng.integers(LENGTH, size - LENGTH, size=n)
        labels = rng.integers(2, size=(n, args.tasks)).astype(np.float32)
        dataset = GenomeWindowDataset(genome, np.full(n, chrom), centres, labels, LENGTH)

        impls = ("plain_pytorch", "dnalens")
        runs: dict[str, list[tuple[int, float, float, float]]] = {impl: [] for impl in impls}
        warmups: dict[str, list[int]] = {impl: [] for impl in impls}
        n_runs = len(impls) * args.repeats
        for r in range(args.repeats):
            for impl in impls:
                left = args.budget - (time.perf_counter() - began)
                done = len(impls) * r + impls.index(impl)
                pacer = Pacer(warmup=args.warmup, steps=args.steps,
                              allotment=left / (n_runs - done))
                if impl == "dnalens":
                    run_dnalens(dataset, pacer, n_tasks=args.tasks, batch=args.batch,
                                seed=args.seed, logdir=Path(tmp) / f"logs{r}")
                else:
                    run_plain(x_mem, y_mem, pacer, n_tasks=args.tasks, batch=args.batch,
                              seed=args.seed)
                runs[impl].append(pacer.result())
                warmups[impl].append(pacer.warmup)
                note(f"{impl}: {pacer.warmup} warm-up + {pacer.result()[0]} timed steps, "
                     f"{pacer.result()[1]:.1f} s")
            note(f"round {r + 1}/{args.repeats} done ({time.perf_counter() - began:.0f} s)")

    rates = {impl: [steps * args.batch / wall for steps, wall, _, _ in rs]
             for impl, rs in runs.items()}
    best = {impl: max(r) for impl, r in rates.items()}
    # batch / fastest single step: the least disturbed by other work on the machine.
    peak = {impl: args.batch / min(fastest for *_, fastest in rs) for impl, rs in runs.items()}
    for impl in ("dnalens", "plain_pytorch"):
        r = rates[impl]
        emit({
            "bench": "train", "impl": impl, "model": MODEL,
            "seq_per_s": round(best[impl], 2),
            "seq_per_s_runs": [round(v, 2) for v in r],
            "spread": round((max(r) - min(r)) / max(r), 3),
            "seq_per_s_fastest_step": round(peak[impl], 2),
            "steps_runs": [steps for steps, *_ in runs[impl]],
            "warmup_runs": warmups[impl],
            "cpu_s_per_step": round(min(cpu / steps for steps, _, cpu, _ in runs[impl]), 3),
            "batch": args.batch, "threads": THREADS, "input_length": LENGTH,
            "n_tasks": args.tasks,
            "data": "genome windows, on the fly" if impl == "dnalens" else "in-memory tensors",
            "genome": files.source, "machine": machine(),
        })
    emit({"bench": "train",
          "ratio_dnalens_vs_plain_pytorch": round(best["dnalens"] / best["plain_pytorch"], 3),
          "ratio_fastest_step": round(peak["dnalens"] / peak["plain_pytorch"], 3)})


if __name__ == "__main__":
    main()
