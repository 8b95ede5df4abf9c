"""Real CTCF model vs the motif scan, on held-out hg38 sequence (issue 12, item 6).

For each seed the script trains ``configs/chr2_ctcf.yaml`` (real hg38 chr2:1-1,750,000;
CTCF ChIP-seq peaks of ENCODE-DREAM, 7 cell lines) through the dnalens Python API, then
scores the held-out test region chr2:1,300,000-1,750,000 (never seen in training: training
bins whose input window reaches it are dropped), tiled in 200 bp bins exactly as
``dnalens evaluate`` tiles it. On the same bins it reports, per seed:

* ``model``: the trained model (``evaluate_run``), for the task ``CTCF``;
* ``kmer``: the k-mer logistic-regression baseline dnalens fits with every run;
* ``scan_1kb``: the JASPAR CTCF scan, i.e. the maximum log-odds of the bundled JASPAR 2024
  CTCF matrix (cluster ``C055:CTCF:C2H2_ZF``, the 12 bp core of MA0139; found with
  ``motif_init.resolve_motifs(["CTCF"])``) over both strands of the 1 kb window centred on
  the bin;
* ``scan_400bp`` / ``scan_200bp``: the same maximum over sites that overlap the central
  400 / 200 bp (the bin itself), which ranks bins better than the whole window does.

The best scan (by AUROC, over seeds' shared bins) is the baseline to beat. Each figure is
one JSON line on stdout; a markdown table (seed | model | k-mer | scans, then the mean)
follows on stdout. Runs go to ``--out`` (a temporary folder by default).

Seeds: run seed ``s`` trains with ``config.seed = s * train.ensemble``, so the ensemble
members of different seeds (``config.seed + k``) never share an initialisation.

Needs ``../shared/data/chr2_hg38`` next to the repository; without it the script prints a
``skipped`` line and exits 0. About 3-6 minutes per seed on 2 cores.

Run: ``.venv/bin/python benchmarks/real_ctcf.py --seeds 0 1 2``
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import emit, machine, note, thread_env

os.environ.update(thread_env(2))  # before numpy / torch size their thread pools

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from sklearn.metrics import average_precision_score, roc_auc_score

from dnalens.apply.evaluate import evaluate_run
from dnalens.config import parse_run_config
from dnalens.data.datasets import GenomeWindowDataset, make_loader
from dnalens.models.motif_init import resolve_motifs
from dnalens.train.fit import train_run

HERE = Path(__file__).resolve().parent
DEFAULT_CONFIG = HERE.parent / "configs" / "chr2_ctcf.yaml"
TASK = "CTCF"
SCAN_WINDOW = 1000
SCAN_CENTRES = (400, 200)
METHODS = ("model", "kmer", "scan_1kb", "scan_400bp", "scan_200bp")


def motif_scan(frame, genome, centre: int | None) -> np.ndarray:
    """Max log-odds of the JASPAR CTCF matrix over both strands, one score per bin.

    Parameters
    ----------
    frame : DataFrame with chrom, start, end: the evaluated bins, in order
    genome : Genome
    centre : int or None
        None: every site inside the 1 kb window centred on the bin; else only sites that
        overlap the central ``centre`` bp.
    """
    motif = resolve_motifs([TASK])[0]
    weights = torch.as_tensor(motif.log_odds(), dtype=torch.float32)
    width = weights.shape[1]
    kernels = torch.stack([weights, weights.flip(0).flip(1)])  # forward, reverse complement
    centres = ((frame["start"] + frame["end"]) // 2).to_numpy()
    windows = GenomeWindowDataset(genome, frame["chrom"].to_numpy(), centres,
                                  np.zeros((len(frame), 1), np.float32), SCAN_WINDOW)
    scores = []
    for x, _ in make_loader(windows, batch_size=512, shuffle=False):
        if centre is not None:
            mid = SCAN_WINDOW // 2
            x = x[:, :, mid - centre // 2 - width + 1 : mid + centre // 2 + width - 1]
        scores.append(torch.nn.functional.conv1d(x, kernels).amax(dim=(1, 2)).numpy())
    return np.concatenate(scores)


def run_config(path: Path, seed: int, out: Path):
    """The config with the benchmark's seed and output folder (no progress bar)."""
    raw = yaml.safe_load(path.read_text())
    ensemble = int(raw.get("train", {}).get("ensemble", 1))
    raw["seed"] = seed * ensemble
    raw["output_dir"] = str(out / f"seed{seed}")
    raw.setdefault("train", {})["progress_bar"] = False
    return parse_run_config(raw, path.parent, str(path))


def one_seed(path: Path, seed: int, out: Path) -> dict[str, tuple[float, float]]:
    """Train, evaluate and scan for one seed; emits and returns method -> (AUROC, AUPRC)."""
    config = run_config(path, seed, out)
    started = time.perf_counter()
    trained = train_run(config, overwrite=True, source=str(path))
    minutes = (time.perf_counter() - started) / 60
    result = evaluate_run(trained.run_dir)
    column = result.tasks.index(TASK)
    labels = result.labels[:, column]
    frame = result.examples
    scores = {"model": result.scores[:, column]}
    if result.baseline_scores is not None:
        scores["kmer"] = result.baseline_scores[:, column]
    genome = trained.bundle.genome
    scores["scan_1kb"] = motif_scan(frame, genome, None)
    for centre in SCAN_CENTRES:
        scores[f"scan_{centre}bp"] = motif_scan(frame, genome, centre)
    figures = {}
    for method, score in scores.items():
        figures[method] = (float(roc_auc_score(labels, score)),
                           float(average_precision_score(labels, score)))
        emit({"bench": "real_ctcf", "seed": seed, "method": method, "task": TASK,
              "auroc": round(figures[method][0], 4), "auprc": round(figures[method][1], 4),
              "n_bins": len(labels), "n_pos": int(labels.sum()),
              "train_minutes": round(minutes, 2) if method == "model" else None,
              "machine": machine()})
    return figures


def table(per_seed: dict[int, dict[str, tuple[float, float]]]) -> str:
    """Markdown: seed | each method's AUROC / AUPRC, then the mean over seeds."""
    methods = [m for m in METHODS if all(m in figs for figs in per_seed.values())]
    lines = ["| seed | " + " | ".join(f"{m} AUROC / AUPRC" for m in methods) + " |",
             "|---" * (len(methods) + 1) + "|"]

    def cells(values: list[tuple[float, float]]) -> str:
        return " | ".join(f"{a:.3f} / {p:.3f}" for a, p in values)

    for seed, figs in per_seed.items():
        lines.append(f"| {seed} | {cells([figs[m] for m in methods])} |")
    means = [tuple(float(np.mean([figs[m][i] for figs in per_seed.values()])) for i in (0, 1))
             for m in methods]
    lines.append(f"| mean | {cells(means)} |")
    return "\n".join(lines)


def summarise(per_seed: dict[int, dict[str, tuple[float, float]]]) -> None:
    """Mean and spread per method, and the model's margin over the best scan."""
    methods = [m for m in METHODS if all(m in figs for figs in per_seed.values())]
    mean = {}
    for method in methods:
        values = np.array([figs[method] for figs in per_seed.values()])
        mean[method] = values.mean(axis=0)
        emit({"bench": "real_ctcf", "seed": "mean", "method": method, "task": TASK,
              "auroc": round(float(mean[method][0]), 4),
              "auprc": round(float(mean[method][1]), 4),
              "auroc_sd": round(float(values[:, 0].std()), 4),
              "auprc_sd": round(float(values[:, 1].std()), 4), "seeds": list(per_seed)})
    scans = [m for m in methods if m.startswith("scan")]
    best = max(scans, key=lambda m: tuple(mean[m]))
    emit({"bench": "real_ctcf", "best_scan": best,
          "model_minus_best_scan_auroc": round(float(mean["model"][0] - mean[best][0]), 4),
          "model_minus_best_scan_auprc": round(float(mean["model"][1] - mean[best][1]), 4)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the run folders (default: a temporary one)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    path = args.config.resolve()
    genome = (path.parent / yaml.safe_load(path.read_text())["data"]["genome"]).resolve()
    if not genome.exists():
        note(f"skipped: the real data are absent ({genome} not found; it comes with "
             "../shared/data/chr2_hg38)")
        emit({"bench": "real_ctcf", "status": "skipped", "reason": f"{genome} not found"})
        return
    with tempfile.TemporaryDirectory(prefix="real_ctcf_") as scratch:
        out = args.out.resolve() if args.out is not None else Path(scratch)
        per_seed = {}
        for seed in args.seeds:
            note(f"seed {seed}: training {path.name} into {out}")
            per_seed[seed] = one_seed(path, seed, out)
        summarise(per_seed)
        print(table(per_seed), flush=True)


if __name__ == "__main__":
    main()
