"""Long-input coverage models (Basenji, a small Enformer): training bp/s, peak memory, how
both grow with input length, and whole-chromosome prediction bp/s.

Every configuration runs in a fresh subprocess (this script re-invoked with ``--single``),
so its peak memory is its own: peak RSS (``ru_maxrss``) on CPU,
``torch.cuda.max_memory_allocated`` on CUDA (RSS is reported there too). ``base_*`` is the
same reading taken before the first run (imports and the data pool; for training the model
is built in each run, so on CUDA ``base_gpu_mb`` is 0), so ``peak - base`` is what the
model and its training or prediction add.

1. Training throughput, ``bp/s = batch * input_length * timed_steps / seconds``, of
   ``basenji`` (registry defaults: 64 channels, 4 dilated blocks, bin 128) and a small
   ``enformer`` (64 channels, depth 2, 4 heads, key size 16) at two input lengths
   (``--lengths``; CPU 16,384 and 65,536, CUDA 131,072 and 196,608), 16 coverage tracks:

   * ``dnalens``: ``SequenceTask(model, loss="poisson", optimizer="adam", lr=1e-3)`` fitted
     by ``lightning.Trainer(max_steps=warmup + steps, logger=False,
     enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
     num_sanity_val_steps=0)`` on a ``DataLoader`` (``TensorDataset``, shuffled,
     ``num_workers=0``) of random one-hot inputs and Poisson targets (rate 2).
   * ``plain_pytorch``: ``zero_grad / forward / PoissonNLLLoss(log_input=False) / backward
     / step`` with Adam (lr 1e-3) on the same module, seed and tensors (batches sliced from
     the same in-memory pool and moved to the device each step, as Lightning does).

   The JSON line records which loss ``SequenceTask`` really built (``dnalens_loss``): its
   ``"poisson"`` is moving to ``log_input=False`` for coverage models; with
   ``log_input=True`` the arithmetic per step is the same, so throughput is unaffected.
   Each run builds a fresh model (and Trainer), does ``--warmup`` steps, then ``--steps``
   timed ones (the clock runs from the end of the last warm-up step to the end of the last
   step, each step's end taken in ``on_train_batch_end`` / after ``optimizer.step()``, with
   ``cuda.synchronize`` on CUDA); best of ``--repeats`` runs, each in its own process,
   the two implementations alternating so that other work on the machine hits both alike
   (peak memory: the highest of the runs).
2. Peak memory of each configuration (see above).
3. Growth with input length: ``--sweep-lengths`` (CPU 8k, 16k, 32k, 64k, 128k), both models,
   both implementations (``--sweep-impls``; ``--quick``: dnalens only), ``--sweep-warmup``
   warm-up step(s) then ``--sweep-steps`` timed step(s) (fastest reported), seconds per
   step and peak memory. A markdown table of every figure goes to stderr at the end (and
   to ``--markdown FILE``).
4. Whole-chromosome prediction bp/s: a random ``--chrom-mb`` Mb chromosome (seeded)
   written to a temporary FASTA and opened with ``dnalens.io.genome.Genome``; basenji at
   ``--predict-length`` (16,384) bp, batch ``--predict-batch`` (8), eval mode:

   * ``dnalens``: ``predict_track(model, genome, chrom, 0, size, batch_size=8)``, i.e.
     fetching windows from the FASTA, one-hot encoding, forward, stitching.
   * ``plain_pytorch``: the chromosome read into memory beforehand (``load_s``, not in the
     rate), the same windows (output spans meeting end to end, N-padded past the ends) cut
     from a numpy code array, one-hot by a lookup table, ``model(x)`` under
     ``inference_mode``, outputs concatenated.

   Each run is its own subprocess (peak memory as above), the two alternating: one
   warm-up batch, then the whole chromosome; best of ``--repeats``. The ``agreement``
   line compares their tracks (max absolute difference).

Flags: ``--device cpu|cuda``, ``--threads`` (default 2: thread variables set before torch is
imported, then ``torch.set_num_threads``), ``--quick`` (tiny sizes, a smoke test in under
2 minutes), ``--out FILE`` (JSON lines appended). One JSON line per figure on stdout, notes
on stderr; every line carries the load average when it was measured (the machine may be
shared). Seeds: ``--seed`` (0) for weights, data and the chromosome.

Run: ``.venv/bin/python benchmarks/bench_longrange.py`` (about 13 minutes on 2 shared cores);
``--quick`` for a smoke test; ``--device cuda`` on a GPU.
"""

from __future__ import annotations

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import emit, machine, note, thread_env

THREADS = int((re.findall(r"--threads[= ](\d+)", " ".join(sys.argv[1:])) or ["2"])[-1])
os.environ.update(thread_env(THREADS))  # before numpy / torch start their pools

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve()
N_TASKS = 16
MODELS = {
    "basenji": {},
    "enformer": {"channels": 64, "depth": 2, "heads": 4, "key_size": 16},
}
IMPLS = ("plain_pytorch", "dnalens")
DEFAULTS = {  # (device, quick) -> sizes
    ("cpu", False): {"lengths": [16_384, 65_536],
                     "sweep_lengths": [8_192, 16_384, 32_768, 65_536, 131_072],
                     "batch": 4, "steps": 8, "warmup": 2, "repeats": 2, "chrom_mb": 4.0},
    ("cuda", False): {"lengths": [131_072, 196_608],
                      "sweep_lengths": [32_768, 65_536, 131_072, 196_608, 393_216],
                      "batch": 8, "steps": 20, "warmup": 3, "repeats": 3, "chrom_mb": 16.0},
    ("cpu", True): {"lengths": [4_096, 8_192], "sweep_lengths": [3_072, 4_096, 6_144, 8_192],
                    "batch": 2, "steps": 2, "warmup": 1, "repeats": 1, "chrom_mb": 0.2},
}
DEFAULTS[("cuda", True)] = DEFAULTS[("cpu", True)]


def load_avg() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ----------------------------------------------------------------------------------------
# Child side: one configuration per process.


def _child_setup(spec: dict):
    import logging
    import warnings

    import torch

    torch.set_num_threads(spec["threads"])
    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    device = torch.device(spec["device"])
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda but torch sees no CUDA device")
    return torch, device


def _build(name: str, length: int, seed: int):
    import torch

    from dnalens.models.registry import build_model

    torch.manual_seed(seed)
    return build_model(name, input_length=length, n_tasks=N_TASKS, **MODELS[name])


def _memory(torch, device) -> dict:
    out = {"rss_mb": rss_mb()}
    if device.type == "cuda":
        out["gpu_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        out["gpu_reserved_mb"] = round(torch.cuda.max_memory_reserved(device) / 2**20, 1)
    return out


def child_train(spec: dict) -> dict:
    """Train one (model, length, impl) for ``repeats`` runs; step ends and memory."""
    torch, device = _child_setup(spec)
    import numpy as np

    length, batch, seed = spec["length"], spec["batch"], spec["seed"]
    n_pool = 4  # batches in the in-memory pool
    rng = np.random.default_rng(seed)
    codes = torch.from_numpy(rng.integers(4, size=(n_pool * batch, length)))
    x_pool = torch.nn.functional.one_hot(codes, 4).permute(0, 2, 1).float().contiguous()
    del codes
    probe = _build(spec["model"], length, seed)
    bins = probe.output_bins
    params = sum(p.numel() for p in probe.parameters())
    del probe
    y_pool = torch.poisson(torch.full((n_pool * batch, N_TASKS, bins), 2.0),
                           generator=torch.Generator().manual_seed(seed))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    n_steps = spec["warmup"] + spec["steps"]
    info: dict = {"params": params, "output_bins": bins}
    if spec["impl"] == "dnalens":
        import lightning as L
        from torch.utils.data import DataLoader, TensorDataset

        from dnalens.train.task import SequenceTask

        class Clock(L.Callback):
            def __init__(self, ends: list) -> None:
                self.ends = ends

            def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
                sync()
                self.ends.append((time.perf_counter(), time.process_time()))

        def run(ends: list) -> None:
            task = SequenceTask(_build(spec["model"], length, seed), loss="poisson",
                                optimizer="adam", lr=1e-3)
            info["dnalens_loss"] = repr(task.loss_fn)
            loader = DataLoader(TensorDataset(x_pool, y_pool), batch_size=batch, shuffle=True,
                                num_workers=0, generator=torch.Generator().manual_seed(seed))
            trainer = L.Trainer(
                accelerator="gpu" if device.type == "cuda" else "cpu", devices=1,
                precision="32-true", max_steps=n_steps, max_epochs=-1, logger=False,
                enable_checkpointing=False, enable_progress_bar=False,
                enable_model_summary=False, num_sanity_val_steps=0, callbacks=[Clock(ends)],
            )
            ends.append((time.perf_counter(), time.process_time()))
            trainer.fit(task, loader)
    else:
        def run(ends: list) -> None:
            model = _build(spec["model"], length, seed).to(device).train()
            optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
            loss_fn = torch.nn.PoissonNLLLoss(log_input=False)
            order = torch.randperm(n_pool, generator=torch.Generator().manual_seed(seed))
            ends.append((time.perf_counter(), time.process_time()))
            for step in range(n_steps):
                i = int(order[step % n_pool])
                xb = x_pool[i * batch : (i + 1) * batch].to(device)
                yb = y_pool[i * batch : (i + 1) * batch].to(device)
                optimiser.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimiser.step()
                sync()
                ends.append((time.perf_counter(), time.process_time()))

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    base = _memory(torch, device)
    runs = []
    for _ in range(spec["repeats"]):
        ends: list = []
        run(ends)
        if len(ends) != n_steps + 1:
            raise RuntimeError(f"expected {n_steps} steps, clocked {len(ends) - 1}")
        w = spec["warmup"]
        wall = ends[-1][0] - ends[w][0]
        cpu = ends[-1][1] - ends[w][1]
        steps = [b[0] - a[0] for a, b in zip(ends[w:-1], ends[w + 1 :], strict=True)]
        runs.append({"wall_s": wall, "cpu_s": cpu, "fastest_step_s": min(steps),
                     "first_step_s": ends[1][0] - ends[0][0]})
    return {**info, "runs": runs, "base": base, "peak": _memory(torch, device)}


def child_predict(spec: dict) -> dict:
    """Whole-chromosome prediction, dnalens ``predict_track`` or the plain loop."""
    torch, device = _child_setup(spec)
    import numpy as np

    from dnalens.apply.tiling import predict_track, track_layout
    from dnalens.io.genome import Genome

    model = _build("basenji", spec["length"], spec["seed"]).to(device).eval()
    layout = track_layout(model)
    fasta = Path(spec["fasta"])
    t0 = time.perf_counter()
    if spec["impl"] == "dnalens":
        genome = Genome(fasta)
        chrom = genome.chroms[0]
        size = genome.chrom_sizes[chrom]

        def predict(end: int) -> np.ndarray:
            return predict_track(model, genome, chrom, 0, end, batch_size=spec["batch"],
                                 device=device).values
    else:
        from common import read_plain_fasta

        (chrom, seq), = read_plain_fasta(fasta).items()
        size = len(seq)
        table = np.zeros((256, 4), dtype=np.float32)
        for j, base in enumerate(b"ACGT"):
            table[base, j] = table[base + 32, j] = 1.0  # lower case like upper case
        span, offset = layout.span, layout.offset
        n_windows = math.ceil(math.ceil(size / layout.bin_size) / layout.output_bins)
        padded = np.full(offset + n_windows * span + (layout.input_length - span - offset),
                         ord("N"), dtype=np.uint8)
        padded[offset : offset + size] = np.frombuffer(seq, dtype=np.uint8)
        starts = np.arange(n_windows) * span  # window starts in `padded`
        cols = np.arange(layout.input_length)

        @torch.inference_mode()
        def predict(end: int) -> np.ndarray:
            n = math.ceil(math.ceil(end / layout.bin_size) / layout.output_bins)
            pieces = []
            for i in range(0, n, spec["batch"]):
                windows = padded[starts[i : min(i + spec["batch"], n), None] + cols]
                x = torch.from_numpy(table[windows]).permute(0, 2, 1).contiguous()
                out = model(x.to(device)).float()
                pieces.append(out.permute(1, 0, 2).reshape(out.shape[1], -1).cpu().numpy())
            values = np.concatenate(pieces, axis=1)
            return values[:, : math.ceil(end / layout.bin_size)]
    load_s = time.perf_counter() - t0
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    predict(min(size, spec["batch"] * layout.span))  # warm-up: one batch of windows
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    base = _memory(torch, device)
    runs = []
    for _ in range(spec["repeats"]):
        start, cpu0 = time.perf_counter(), time.process_time()
        values = predict(size)
        sync()
        runs.append({"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu0})
    np.save(spec["save"], values)
    return {"runs": runs, "base": base, "peak": _memory(torch, device), "load_s": load_s,
            "chrom_length": size, "windows": math.ceil(math.ceil(size / layout.bin_size)
                                                       / layout.output_bins),
            "output_bins": layout.output_bins, "bin_size": layout.bin_size}


# ----------------------------------------------------------------------------------------
# Parent side.


def run_child(spec: dict, timeout: float) -> dict:
    cmd = [sys.executable, str(HERE), "--single", json.dumps(spec), "--threads",
           str(spec["threads"])]
    began = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "reason": f"timed out after {timeout:.0f} s"}
    took = time.perf_counter() - began
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"status": "failed", "reason": f"exit {done.returncode}: {' | '.join(tail)}"}
    return {**json.loads(lines[-1]), "process_s": round(took, 1)}


def measure(specs: dict[str, dict], rounds: int, timeout: float) -> dict[str, dict]:
    """Run each implementation's spec ``rounds`` times, one process each, alternating the
    implementations so that other work on the machine hits them alike; merge the runs
    (memory: the highest peak, the lowest base)."""
    merged: dict[str, dict] = {}
    for _ in range(rounds):
        for impl, spec in specs.items():
            if merged.get(impl, {}).get("status") == "failed":
                continue
            res = run_child(spec, timeout)
            if res.get("status") == "failed" or impl not in merged:
                merged[impl] = res
                continue
            have = merged[impl]
            have["runs"] += res["runs"]
            have["process_s"] = round(have["process_s"] + res["process_s"], 1)
            have["base"] = {k: min(v, res["base"][k]) for k, v in have["base"].items()}
            have["peak"] = {k: max(v, res["peak"][k]) for k, v in have["peak"].items()}
    return merged


def mem_fields(result: dict, device: str) -> dict:
    base, peak = result["base"], result["peak"]
    out = {"peak_rss_mb": peak["rss_mb"], "base_rss_mb": base["rss_mb"],
           "train_rss_mb": round(peak["rss_mb"] - base["rss_mb"], 1)}
    if device == "cuda":
        out.update(peak_gpu_mb=peak["gpu_mb"], base_gpu_mb=base["gpu_mb"],
                   peak_gpu_reserved_mb=peak["gpu_reserved_mb"])
    return out


def peak_of(line: dict, device: str) -> float:
    return line["peak_gpu_mb"] if device == "cuda" else line["peak_rss_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    parser.add_argument("--out", type=Path, help="append the JSON lines to this file")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    parser.add_argument("--lengths", type=int, nargs="+", help="training input lengths")
    parser.add_argument("--sweep-lengths", type=int, nargs="+")
    parser.add_argument("--batch", type=int)
    parser.add_argument("--steps", type=int, help="timed steps per run")
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--sweep-steps", type=int, default=3)
    parser.add_argument("--sweep-warmup", type=int, default=1)
    parser.add_argument("--sweep-impls", nargs="+", choices=IMPLS,
                        help="default both (--quick: dnalens only)")
    parser.add_argument("--chrom-mb", type=float, help="random chromosome length, Mb")
    parser.add_argument("--predict-length", type=int)
    parser.add_argument("--predict-batch", type=int, default=8)
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    parser.add_argument("--skip", nargs="+", default=[], choices=("train", "sweep", "predict"))
    parser.add_argument("--child-timeout", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--single", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.single:
        spec = json.loads(args.single)
        fn = child_predict if spec["kind"] == "predict" else child_train
        print(json.dumps(fn(spec)), flush=True)
        return

    sizes = DEFAULTS[(args.device, args.quick)]
    for key in ("lengths", "sweep_lengths", "batch", "steps", "warmup", "repeats", "chrom_mb"):
        if getattr(args, key) is None:
            setattr(args, key, sizes[key])
    if args.sweep_impls is None:
        args.sweep_impls = ["dnalens"] if args.quick else list(IMPLS)
    if args.predict_length is None:
        args.predict_length = 4_096 if args.quick else 16_384
    began = time.perf_counter()
    meta = {"device": args.device, "threads": args.threads, "machine": machine(),
              "quick": args.quick}
    versions = subprocess.run(
        [sys.executable, "-c", "import torch, lightning; print(torch.__version__, "
         "lightning.__version__)"], capture_output=True, text=True).stdout.split()
    if len(versions) == 2:
        meta.update(torch=versions[0], lightning=versions[1])
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)

    def out(record: dict) -> None:
        emit(record)
        if args.out:
            with open(args.out, "a") as handle:
                handle.write(json.dumps(record) + "\n")

    note(f"bench_longrange: {args.device}, {args.threads} threads, load {load_avg()}")
    tables: list[str] = []

    def spec_for(kind, model, length, impl, **kw) -> dict:
        return {"kind": kind, "model": model, "length": length, "impl": impl,
                "device": args.device, "threads": args.threads, "seed": args.seed, **kw}

    # 1 + 2: training throughput and peak memory, each configuration in its own process.
    if "train" not in args.skip:
        rows = ["| model | input bp | implementation | bp/s (best) | runs bp/s | s/step "
                "| peak mem MB | base MB |", "|---|---:|---|---:|---|---:|---:|---:|"]
        for model in args.models:
            for length in args.lengths:
                lines = {}
                load = load_avg()
                note(f"train {model} {length} ...")
                merged = measure({impl: spec_for("train", model, length, impl,
                                                 batch=args.batch, steps=args.steps,
                                                 warmup=args.warmup, repeats=1)
                                  for impl in IMPLS}, args.repeats, args.child_timeout)
                for impl, res in merged.items():
                    base = {"bench": "longrange_train", "impl": impl, "model": model,
                            "input_length": length, "batch": args.batch, **meta}
                    if res.get("status") == "failed":
                        out({**base, **res})
                        continue
                    rates = [args.batch * length * args.steps / r["wall_s"] for r in res["runs"]]
                    best = max(rates)
                    line = {**base, "bp_per_s": round(best),
                            "bp_per_s_runs": [round(v) for v in rates],
                            "s_per_step": round(args.batch * length / best, 4),
                            "fastest_step_s": round(min(r["fastest_step_s"]
                                                        for r in res["runs"]), 4),
                            "cpu_s_per_step": round(min(r["cpu_s"] for r in res["runs"])
                                                    / args.steps, 4),
                            "first_step_s": round(res["runs"][0]["first_step_s"], 3),
                            "steps": args.steps, "warmup": args.warmup,
                            "repeats": args.repeats, **mem_fields(res, args.device),
                            "params": res["params"], "output_bins": res["output_bins"],
                            "n_tasks": N_TASKS,
                            "loss": res.get("dnalens_loss", "PoissonNLLLoss(log_input=False)"),
                            "process_s": res["process_s"], "load_avg_before": load,
                            "load_avg_after": load_avg()}
                    if model == "enformer":
                        line["model_config"] = MODELS[model]
                    out(line)
                    lines[impl] = line
                    rows.append(f"| {model} | {length:,} | {impl} | {line['bp_per_s']:,} | "
                                f"{' / '.join(f'{v:,}' for v in line['bp_per_s_runs'])} | "
                                f"{line['s_per_step']:.3f} | {peak_of(line, args.device):,.0f}"
                                f" | {line['base_rss_mb']:,.0f} |")
                if len(lines) == 2:
                    d, p = lines["dnalens"], lines["plain_pytorch"]
                    out({"bench": "longrange_train", "model": model, "input_length": length,
                         "ratio_bp_per_s_dnalens_vs_plain": round(d["bp_per_s"]
                                                                  / p["bp_per_s"], 3),
                         "ratio_peak_mem_dnalens_vs_plain": round(
                             peak_of(d, args.device) / peak_of(p, args.device), 3),
                         **meta})
        tables.append(f"Training, batch {args.batch}, {args.threads} threads, "
                      f"{args.device}, best of {args.repeats} runs of {args.steps} timed "
                      f"steps after {args.warmup} warm-up\n\n" + "\n".join(rows))

    # 3: growth with input length.
    if "sweep" not in args.skip:
        rows = ["| model | input bp | output bins | implementation | s/step | bp/s "
                "| peak mem MB | mem over base MB |", "|---|---:|---:|---|---:|---:|---:|---:|"]
        for model in args.models:
            for length in args.sweep_lengths:
                load = load_avg()
                note(f"sweep {model} {length} ...")
                merged = measure({impl: spec_for("train", model, length, impl,
                                                 batch=args.batch, steps=args.sweep_steps,
                                                 warmup=args.sweep_warmup, repeats=1)
                                  for impl in args.sweep_impls}, 1, args.child_timeout)
                for impl, res in merged.items():
                    base = {"bench": "longrange_sweep", "impl": impl, "model": model,
                            "input_length": length, "batch": args.batch, **meta}
                    if res.get("status") == "failed":
                        out({**base, **res})
                        rows.append(f"| {model} | {length:,} | | {impl} | failed | | | |")
                        continue
                    step = min(r["fastest_step_s"] for r in res["runs"])
                    mem = mem_fields(res, args.device)
                    line = {**base, "s_per_step": round(step, 4),
                            "bp_per_s": round(args.batch * length / step),
                            "timed_steps": args.sweep_steps, "warmup": args.sweep_warmup,
                            **mem, "output_bins": res["output_bins"],
                            "load_avg_before": load, "load_avg_after": load_avg()}
                    out(line)
                    over = (mem["peak_gpu_mb"] - mem["base_gpu_mb"] if args.device == "cuda"
                            else mem["train_rss_mb"])
                    rows.append(f"| {model} | {length:,} | {res['output_bins']} | {impl} | "
                                f"{step:.3f} | {line['bp_per_s']:,} | "
                                f"{peak_of(line, args.device):,.0f} | {over:,.0f} |")
        tables.append(f"Growth with input length, batch {args.batch}, {args.threads} "
                      f"threads, {args.device}, fastest of {args.sweep_steps} step(s) after "
                      f"{args.sweep_warmup} warm-up\n\n" + "\n".join(rows))

    # 4: whole-chromosome prediction.
    if "predict" not in args.skip:
        import random

        with tempfile.TemporaryDirectory(prefix="dnalens-longrange-") as tmp:
            size = int(args.chrom_mb * 1e6)
            rng = random.Random(args.seed)
            seq = "".join(rng.choices("ACGT", k=size))
            fasta = Path(tmp) / "chrom.fa"
            with open(fasta, "w") as handle:
                handle.write(">chrR\n")
                for i in range(0, size, 60):
                    handle.write(seq[i : i + 60] + "\n")
            del seq
            results = {}
            rows = ["| implementation | bp/s (best) | runs (s) | peak mem MB |",
                    "|---|---:|---|---:|"]
            load = load_avg()
            note(f"predict over {size:,} bp ...")
            merged = measure({impl: spec_for("predict", "basenji", args.predict_length, impl,
                                             batch=args.predict_batch, repeats=1,
                                             fasta=str(fasta), save=f"{tmp}/{impl}.npy")
                              for impl in IMPLS}, args.repeats, args.child_timeout)
            for impl, res in merged.items():
                base = {"bench": "longrange_predict", "impl": impl, "model": "basenji",
                        "input_length": args.predict_length, "batch": args.predict_batch,
                        "chrom_length": size, **meta}
                if res.get("status") == "failed":
                    out({**base, **res})
                    continue
                walls = [r["wall_s"] for r in res["runs"]]
                line = {**base, "bp_per_s": round(size / min(walls)),
                        "seconds_runs": [round(w, 2) for w in walls],
                        "cpu_s": round(min(r["cpu_s"] for r in res["runs"]), 2),
                        "windows": res["windows"], "output_bins": res["output_bins"],
                        "load_s": round(res["load_s"], 3), **mem_fields(res, args.device),
                        "load_avg_before": load, "load_avg_after": load_avg()}
                out(line)
                results[impl] = line
                rows.append(f"| {impl} | {line['bp_per_s']:,} | "
                            f"{' / '.join(f'{w:.2f}' for w in walls)} | "
                            f"{peak_of(line, args.device):,.0f} |")
            if len(results) == 2:
                import numpy as np

                a, b = (np.load(f"{tmp}/{impl}.npy") for impl in IMPLS)
                diff = float(np.abs(a - b).max()) if a.shape == b.shape else None
                out({"bench": "longrange_predict", "agreement": "dnalens_vs_plain",
                     "shape": list(a.shape), "same_shape": a.shape == b.shape,
                     "max_abs_diff": diff, "ok": diff is not None and diff < 1e-4, **meta})
                out({"bench": "longrange_predict", "ratio_bp_per_s_dnalens_vs_plain": round(
                    results["dnalens"]["bp_per_s"] / results["plain_pytorch"]["bp_per_s"], 3),
                    **meta})
            tables.append(f"Whole-chromosome prediction, basenji {args.predict_length:,} bp "
                          f"input, batch {args.predict_batch}, random {size:,} bp chromosome, "
                          f"best of {args.repeats}\n\n" + "\n".join(rows))

    took = time.perf_counter() - began
    out({"bench": "longrange", "total_s": round(took, 1), "load_avg_end": load_avg(),
         **meta})
    text = "\n\n".join(tables) + f"\n\nLoad average at the end: {load_avg()}; {took:.0f} s.\n"
    note("\n" + text)
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
