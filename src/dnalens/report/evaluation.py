"""Write a run's evaluation: tables, ROC/PR curves and training curves."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dnalens.apply.evaluate import EvaluationResult, evaluate_run, write_table
from dnalens.config import DataConfig
from dnalens.plot.curves import plot_roc_pr, plot_training_curves

__all__ = ["comparison_table", "write_evaluation"]


def comparison_table(result: EvaluationResult) -> pd.DataFrame:
    """Model and k-mer baseline side by side: task, auroc, auprc, kmer_auroc, kmer_auprc
    (splice runs: task, top_k, auprc, auroc, n_pos, n_neg)."""
    table = result.table.copy()
    if result.baseline_table is not None:
        table["kmer_auroc"] = result.baseline_table["auroc"].to_numpy()
        table["kmer_auprc"] = result.baseline_table["auprc"].to_numpy()
    return table


def write_evaluation(run_dir: str | Path, data: DataConfig | None = None, *,
                     out_dir: str | Path | None = None, split: str = "auto",
                     device: str | None = None) -> tuple[EvaluationResult, list[Path]]:
    """Evaluate a run and write ``evaluation.tsv`` (task, auroc, auprc, n_pos, n_neg),
    ``evaluation_baseline.tsv``, ``predictions.tsv``, ``roc.png``, ``pr.png`` and
    ``training.png``. Splice runs write per-class top-k accuracy and average precision
    (task, top_k, auprc, auroc, n_pos, n_neg), and ``predictions.tsv`` lists annotated and
    predicted sites (see :func:`dnalens.apply.evaluate.evaluate_splice`). Coverage and
    contact-map runs write Pearson and Spearman per track (task, pearson, spearman, n),
    per-window correlations in ``predictions.tsv``, correlation by distance
    (``evaluation_distance.tsv``, contact maps) and ``tracks.png`` / ``maps.png`` /
    ``distance.png`` (see :mod:`dnalens.apply.evaluate_longrange`).

    Parameters
    ----------
    run_dir : run folder
    data : another dataset, optional (see :func:`dnalens.apply.evaluate.evaluate_run`)
    out_dir : where to write; default the run folder
    """
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    result = evaluate_run(run_dir, data, split=split, device=device)
    if result.regression is not None:
        from dnalens.apply.evaluate_longrange import write_regression_outputs

        written = write_regression_outputs(result.regression, result.dataset, out_dir)
        curves = plot_training_curves(run_dir / "metrics.csv", out_dir / "training.png")
        return result, written + ([curves] if curves is not None else [])
    written = [write_table(result.table, out_dir / "evaluation.tsv")]
    if result.baseline_table is not None:
        written.append(write_table(result.baseline_table, out_dir / "evaluation_baseline.tsv"))
    predictions = result.examples.copy()
    if result.kind != "splice":
        for j, task in enumerate(result.tasks):
            predictions[f"{task}_score"] = result.scores[:, j]
    written.append(write_table(predictions, out_dir / "predictions.tsv"))
    written += plot_roc_pr(result.labels, result.scores, result.tasks, out_dir,
                           baseline=result.baseline_scores)
    curves = plot_training_curves(run_dir / "metrics.csv", out_dir / "training.png")
    if curves is not None:
        written.append(curves)
    return result, written
