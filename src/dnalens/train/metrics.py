"""Evaluation metrics: AUROC, AUPRC, Pearson, Spearman, top-k accuracy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import average_precision_score, roc_auc_score

from dnalens.errors import DnalensError

__all__ = ["auprc", "auroc", "classification_table", "pearson", "spearman", "splice_table",
           "top_k_accuracy"]


def _check(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_score = np.asarray(y_true, dtype=np.float64), np.asarray(y_score, np.float64)
    if y_true.shape != y_score.shape:
        raise DnalensError(f"labels and scores differ in shape: {y_true.shape} vs "
                           f"{y_score.shape}")
    return y_true, y_score


def auroc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the ROC curve of one task; NaN when only one class is present.

    Parameters
    ----------
    y_true, y_score : np.ndarray, shape (n,)
    """
    y_true, y_score = _check(y_true, y_score)
    if np.unique(y_true).size < 2:
        return float("nan")
    return float(roc_auc_score(y_true, y_score))


def auprc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the precision-recall curve (average precision); NaN without positives."""
    y_true, y_score = _check(y_true, y_score)
    if y_true.sum() == 0:
        return float("nan")
    return float(average_precision_score(y_true, y_score))


def classification_table(y_true: np.ndarray, y_score: np.ndarray,
                         tasks: Sequence[str]) -> pd.DataFrame:
    """Per-task AUROC and AUPRC plus a final 'mean' row.

    Parameters
    ----------
    y_true, y_score : np.ndarray, shape (n, n_tasks)
    tasks : sequence of str, length n_tasks

    Returns
    -------
    DataFrame with columns task, auroc, auprc, n_pos, n_neg.
    """
    y_true, y_score = _check(y_true, y_score)
    rows = []
    for j, task in enumerate(tasks):
        positives = int(y_true[:, j].sum())
        rows.append({"task": task, "auroc": auroc(y_true[:, j], y_score[:, j]),
                     "auprc": auprc(y_true[:, j], y_score[:, j]),
                     "n_pos": positives, "n_neg": int(y_true.shape[0] - positives)})
    table = pd.DataFrame(rows, columns=["task", "auroc", "auprc", "n_pos", "n_neg"])
    if len(tasks) > 1:
        mean = {"task": "mean", "auroc": table["auroc"].mean(), "auprc": table["auprc"].mean(),
                "n_pos": int(table["n_pos"].sum()), "n_neg": int(table["n_neg"].sum())}
        table = pd.concat([table, pd.DataFrame([mean])], ignore_index=True)
    return table


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two 1-D arrays (NaN when either is constant)."""
    x, y = _check(x, y)
    if x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation of two 1-D arrays."""
    x, y = _check(x, y)
    return pearson(stats.rankdata(x), stats.rankdata(y))


def top_k_accuracy(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """SpliceAI's top-k accuracy: of the k top-scored positions, the fraction truly positive,
    with k the number of positives."""
    y_true, y_score = _check(y_true, y_score)
    k = int(y_true.sum())
    if k == 0:
        return float("nan")
    top = np.argpartition(-y_score, k - 1)[:k]
    return float(y_true[top].mean())


def splice_table(y_true: np.ndarray, y_score: np.ndarray,
                 classes: Sequence[str] = ("acceptor", "donor")) -> pd.DataFrame:
    """Per-class splice-site metrics over every labelled base, SpliceAI style.

    ``top_k`` is SpliceAI's top-k accuracy: with k the number of true sites of the class,
    the fraction of the k highest-scoring bases that are true sites. ``auprc`` is average
    precision; ``auroc`` is given for comparison (it is near 1 for any useful model, as
    almost every base is 'neither').

    Parameters
    ----------
    y_true : np.ndarray, shape (n_bases, n_classes)
        1 where the base is a site of the class.
    y_score : np.ndarray, shape (n_bases, n_classes)
        The model's probability of the class.
    classes : names, default acceptor and donor

    Returns
    -------
    DataFrame with columns task, top_k, auprc, auroc, n_pos, n_neg; a final 'mean' row.
    """
    y_true, y_score = _check(y_true, y_score)
    rows = []
    for j, name in enumerate(classes):
        positives = int(y_true[:, j].sum())
        rows.append({"task": name, "top_k": top_k_accuracy(y_true[:, j], y_score[:, j]),
                     "auprc": auprc(y_true[:, j], y_score[:, j]),
                     "auroc": auroc(y_true[:, j], y_score[:, j]),
                     "n_pos": positives, "n_neg": int(y_true.shape[0] - positives)})
    table = pd.DataFrame(rows, columns=["task", "top_k", "auprc", "auroc", "n_pos", "n_neg"])
    sites = int(table["n_pos"].sum())
    mean = {"task": "mean", **{c: table[c].mean() for c in ("top_k", "auprc", "auroc")},
            "n_pos": sites, "n_neg": int(y_true.shape[0] - sites)}
    return pd.concat([table, pd.DataFrame([mean])], ignore_index=True)
