"""ROC / precision-recall curves and training curves as PNG files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from dnalens.plot.figures import save_figure

__all__ = ["plot_roc_pr", "plot_training_curves"]


def _curve_axes(title: str, xlabel: str, ylabel: str) -> tuple[plt.Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(0, 1), ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    return fig, ax


def plot_roc_pr(y_true: np.ndarray, scores: np.ndarray, tasks: Sequence[str], out_dir: Path,
                baseline: np.ndarray | None = None, label: str = "model",
                baseline_label: str = "k-mer baseline") -> list[Path]:
    """Write ``roc.png`` and ``pr.png``: one curve per task (baseline dashed, same colour).

    Parameters
    ----------
    y_true, scores : np.ndarray, shape (n, n_tasks)
    tasks : task names
    out_dir : folder to write into
    baseline : np.ndarray, shape (n, n_tasks), optional
    """
    out_dir = Path(out_dir)
    roc_fig, roc_ax = _curve_axes("ROC", "false positive rate", "true positive rate")
    pr_fig, pr_ax = _curve_axes("Precision-recall", "recall", "precision")
    roc_ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    colours = plt.cm.tab10.colors
    for j, task in enumerate(tasks):
        if np.unique(y_true[:, j]).size < 2:
            continue
        colour = colours[j % len(colours)]
        for values, style, name in ((scores, "-", label), (baseline, "--", baseline_label)):
            if values is None:
                continue
            fpr, tpr, _ = roc_curve(y_true[:, j], values[:, j])
            precision, recall, _ = precision_recall_curve(y_true[:, j], values[:, j])
            roc_ax.plot(fpr, tpr, style, color=colour, lw=1.4, label=f"{task} ({name})")
            pr_ax.plot(recall, precision, style, color=colour, lw=1.4, label=f"{task} ({name})")
    for ax in (roc_ax, pr_ax):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right" if ax is roc_ax else "upper right")
    return [save_figure(roc_fig, out_dir / "roc.png"), save_figure(pr_fig, out_dir / "pr.png")]


def plot_training_curves(metrics_csv: Path, out_path: Path) -> Path | None:
    """Training and validation loss (and validation AUROC/AUPRC) per epoch from metrics.csv."""
    metrics_csv = Path(metrics_csv)
    if not metrics_csv.exists():
        return None
    table = pd.read_csv(metrics_csv)
    if "epoch" not in table.columns:
        return None
    per_epoch = table.groupby("epoch").first()
    fig, (loss_ax, score_ax) = plt.subplots(1, 2, figsize=(9, 3.6))
    for column in ("train_loss", "val_loss"):
        if column in per_epoch.columns:
            series = per_epoch[column].dropna()
            loss_ax.plot(series.index, series.values, marker="o", ms=3, label=column)
    loss_ax.set(title="Loss", xlabel="epoch")
    for column in ("val_auroc", "val_auprc", "val_topk", "val_pearson"):
        if column in per_epoch.columns:
            series = per_epoch[column].dropna()
            score_ax.plot(series.index, series.values, marker="o", ms=3, label=column)
    # Pearson can be negative early in training; the other scores live in [0, 1].
    low = min(0.0, float(per_epoch["val_pearson"].min())) if "val_pearson" in per_epoch \
        and per_epoch["val_pearson"].notna().any() else 0.0
    score_ax.set(title="Validation", xlabel="epoch", ylim=(low, 1.02))
    for ax in (loss_ax, score_ax):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    return save_figure(fig, Path(out_path))
