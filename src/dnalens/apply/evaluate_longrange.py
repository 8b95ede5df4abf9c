"""Evaluation of coverage and contact-map models on held-out windows: Pearson and Spearman
per track (pooled over every bin of every window), per window, and, for contact maps, by
genomic distance; plus figures of the best-predicted window."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from dnalens.apply.predict import predict
from dnalens.data.datasets import make_loader
from dnalens.files import write_table
from dnalens.train.metrics import pearson, spearman

__all__ = ["RegressionResult", "evaluate_regression", "write_regression_outputs"]

# Spearman ranks at most this many pooled values per task (a random subset beyond).
_MAX_RANKED = 2_000_000


@dataclass
class RegressionResult:
    """Observed and predicted targets of the evaluated windows.

    Attributes
    ----------
    tasks : list of str
    observed, predicted : np.ndarray, shape (n_windows, n_tasks, n_values)
        Coverage bins, or contact-map entries (NaN where the map has no coverage).
    windows : DataFrame with chrom, start, end per window
    table : DataFrame
        task, pearson, spearman, n (pooled over all finite values).
    per_window : DataFrame
        chrom, start, end and ``<task>_pearson`` per window.
    distance : DataFrame or None
        Contact maps: task, distance_bins, distance_bp, pearson, n.
    """

    tasks: list[str]
    observed: np.ndarray
    predicted: np.ndarray
    windows: pd.DataFrame
    table: pd.DataFrame
    per_window: pd.DataFrame
    distance: pd.DataFrame | None = None


def _finite_pair(observed: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(observed)
    return observed[keep], predicted[keep]


def _pooled_table(tasks: list[str], observed: np.ndarray, predicted: np.ndarray,
                  rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for j, task in enumerate(tasks):
        obs, pred = _finite_pair(observed[:, j].ravel(), predicted[:, j].ravel())
        if obs.size > _MAX_RANKED:
            pick = rng.choice(obs.size, _MAX_RANKED, replace=False)
            ranked = spearman(obs[pick], pred[pick])
        else:
            ranked = spearman(obs, pred) if obs.size > 1 else float("nan")
        rows.append({"task": task, "pearson": pearson(obs, pred) if obs.size > 1 else np.nan,
                     "spearman": ranked, "n": int(obs.size)})
    table = pd.DataFrame(rows)
    mean = {"task": "mean", "pearson": table["pearson"].mean(),
            "spearman": table["spearman"].mean(), "n": int(table["n"].sum())}
    return pd.concat([table, pd.DataFrame([mean])], ignore_index=True)


def _per_window(tasks: list[str], observed: np.ndarray, predicted: np.ndarray,
                windows: pd.DataFrame) -> pd.DataFrame:
    frame = windows[["chrom", "start", "end"]].reset_index(drop=True).copy()
    for j, task in enumerate(tasks):
        frame[f"{task}_pearson"] = [
            pearson(*_finite_pair(observed[i, j], predicted[i, j]))
            if np.isfinite(observed[i, j]).sum() > 1 else np.nan
            for i in range(observed.shape[0])
        ]
    return frame


def _distance_table(tasks: list[str], observed: np.ndarray, predicted: np.ndarray,
                    distances: np.ndarray, resolution: int) -> pd.DataFrame:
    rows = []
    for j, task in enumerate(tasks):
        for d in np.unique(distances):
            columns = distances == d
            obs, pred = _finite_pair(observed[:, j, columns].ravel(),
                                     predicted[:, j, columns].ravel())
            r = pearson(obs, pred) if obs.size > 2 else np.nan
            rows.append({"task": task, "distance_bins": int(d),
                         "distance_bp": int(d) * resolution, "pearson": r, "n": int(obs.size)})
    return pd.DataFrame(rows)


@torch.inference_mode()
def evaluate_regression(model: nn.Module, dataset, windows: pd.DataFrame, tasks: list[str], *,
                        batch_size: int = 8, device: str | None = None,
                        seed: int = 0) -> RegressionResult:
    """Predict every window of a coverage or contact dataset and score it.

    Parameters
    ----------
    model : nn.Module
        (batch, 4, L) -> (batch, n_tasks, n_values), the layout of the dataset's targets.
    dataset : dnalens.data.longrange.TargetWindowDataset
    windows : DataFrame of the dataset's windows (chrom, start, end)
    tasks : list of str
    """
    loader = make_loader(dataset, batch_size=batch_size, shuffle=False)
    observed = np.concatenate([y.numpy() for _, y in loader]) if len(dataset) else \
        np.zeros((0, len(tasks), 0), np.float32)
    predicted = predict(model, dataset, batch_size=batch_size, device=device)
    predicted = predicted.reshape(observed.shape)
    rng = np.random.default_rng(seed)
    result = RegressionResult(tasks, observed, predicted, windows,
                              _pooled_table(tasks, observed, predicted, rng),
                              _per_window(tasks, observed, predicted, windows))
    targets = dataset.targets
    if hasattr(targets, "rows"):  # contact maps: entries are (row, col) bin pairs
        distances = np.asarray(targets.cols) - np.asarray(targets.rows)
        result.distance = _distance_table(tasks, observed, predicted, distances,
                                          targets.resolution)
    return result


def write_regression_outputs(result: RegressionResult, dataset, out_dir: Path) -> list[Path]:
    """evaluation.tsv, predictions.tsv (per window), evaluation_distance.tsv and figures:
    tracks.png (coverage) or maps.png and distance.png (contact maps) of the window with the
    best mean correlation."""
    written = [write_table(result.table, out_dir / "evaluation.tsv"),
               write_table(result.per_window, out_dir / "predictions.tsv")]
    if result.distance is not None:
        written.append(write_table(result.distance, out_dir / "evaluation_distance.tsv"))
    if len(result.windows) == 0:
        return written
    best = _window_to_draw(result)
    row = result.windows.iloc[best]
    targets = dataset.targets
    if hasattr(targets, "rows"):
        written += _contact_figures(result, targets, best, row, out_dir)
    else:
        from dnalens.plot.tracks import plot_track_comparison

        starts = int(row["start"]) + targets.crop + np.arange(result.observed.shape[2]) \
            * targets.bin_size
        written.append(plot_track_comparison(
            str(row["chrom"]), starts, result.observed[best], result.predicted[best],
            result.tasks, out_dir / "tracks.png", bin_size=targets.bin_size,
            title=f"held-out window {row['chrom']}:{int(row['start']):,}-{int(row['end']):,}"))
    return written


def _window_to_draw(result: RegressionResult) -> int:
    """The best-predicted window among the quarter with the most signal (a well-predicted
    window with nothing in it says little)."""
    scores = result.per_window[[f"{t}_pearson" for t in result.tasks]].mean(axis=1).to_numpy()
    if not np.isfinite(scores).any():
        return 0
    signal = np.nanstd(result.observed.reshape(len(scores), -1), axis=1)
    rich = signal >= np.nanquantile(signal, 0.75)
    candidates = np.where(rich & np.isfinite(scores), scores, -np.inf)
    if not np.isfinite(candidates).any():
        candidates = np.where(np.isfinite(scores), scores, -np.inf)
    return int(np.argmax(candidates))


def _contact_figures(result: RegressionResult, targets, best: int, row: pd.Series,
                     out_dir: Path) -> list[Path]:
    from dnalens.plot.contacts import plot_contact_maps, plot_distance_correlation

    written = [plot_distance_correlation(result.distance, out_dir / "distance.png",
                                         title="Held-out correlation by distance")]
    if targets.config.layout != "map":
        return written
    size = int(max(targets.rows.max(), targets.cols.max())) + 1
    crop = int(targets.rows.min())
    observed = np.full((size, size), np.nan)
    predicted = np.full((size, size), np.nan)
    for mat, values in ((observed, result.observed[best, 0]),
                        (predicted, result.predicted[best, 0])):
        mat[targets.rows, targets.cols] = values
        mat[targets.cols, targets.rows] = values
    observed, predicted = observed[crop:, crop:], predicted[crop:, crop:]
    start = int(row["start"]) + crop * targets.resolution
    written.append(plot_contact_maps(
        observed, predicted, out_dir / "maps.png", start=start,
        resolution=targets.resolution, chrom=str(row["chrom"]),
        title=f"held-out window {row['chrom']}:{int(row['start']):,}-{int(row['end']):,}"))
    return written
