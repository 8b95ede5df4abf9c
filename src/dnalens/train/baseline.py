"""The k-mer logistic-regression yardstick, fitted exactly with scikit-learn.

A convex model needs no SGD epochs: k-mer frequencies of every training example
are computed once and a regularised logistic regression is solved per task, its
strength chosen on the validation split. The coefficients go into
:class:`dnalens.models.kmer.KmerLogistic`, so the baseline is saved, loaded and
applied like any other dnalens model.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from dnalens.data.build import DataBundle
from dnalens.data.datasets import make_loader
from dnalens.models.kmer import KmerConfig, KmerLogistic

__all__ = ["fit_kmer_baseline", "kmer_features"]

_STRENGTHS = (0.003, 0.03, 0.3)


@torch.no_grad()
def kmer_features(model: KmerLogistic, dataset, batch_size: int = 512) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """k-mer frequencies and labels of a whole dataset, in order, without augmentation.

    Returns
    -------
    features : np.ndarray, shape (n, 4**k), float32
    labels : np.ndarray, shape (n, n_tasks), float32
    """
    features, labels = [], []
    for x, y in make_loader(dataset, batch_size=batch_size, shuffle=False):
        features.append(model.featurize(x).numpy())
        labels.append(y.numpy())
    n_features = 4 ** model.config.k
    if not features:
        return np.zeros((0, n_features), np.float32), np.zeros((0, 0), np.float32)
    return np.concatenate(features), np.concatenate(labels)


def _fit_task(x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
              seed: int) -> LogisticRegression | float:
    if np.unique(y).size < 2:
        # One class only: a constant logit at the (clipped) base rate.
        rate = float(np.clip(y.mean(), 1e-4, 1 - 1e-4))
        return float(np.log(rate / (1 - rate)))
    best, best_score = None, -np.inf
    can_select = x_val.shape[0] > 0 and np.unique(y_val).size == 2
    for strength in _STRENGTHS if can_select else (1.0,):
        fit = LogisticRegression(C=strength, max_iter=1000, class_weight="balanced",
                                 random_state=seed).fit(x, y)
        score = roc_auc_score(y_val, fit.decision_function(x_val)) if can_select else 0.0
        if score > best_score:
            best, best_score = fit, score
    return best


def fit_kmer_baseline(bundle: DataBundle, *, k: int = 5, seed: int = 0) -> KmerLogistic:
    """Fit one L2-regularised logistic regression per task on k-mer frequencies.

    Parameters
    ----------
    bundle : DataBundle
        Uses the train split to fit and the valid split to choose the strength.
    k : int
    seed : int

    Returns
    -------
    KmerLogistic in eval mode, (batch, 4, L) -> (batch, n_tasks) logits.
    """
    model = KmerLogistic(KmerConfig(input_length=bundle.input_length,
                                    n_tasks=len(bundle.tasks), k=k)).eval()
    x, y = kmer_features(model, bundle.datasets["train"])
    x_val, y_val = kmer_features(model, bundle.datasets["valid"])
    # Standardised features make lbfgs converge in few steps and give the strengths
    # above one meaning whatever k is; the coefficients are mapped back afterwards.
    mean = x.mean(axis=0)
    std = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    weight = torch.zeros_like(model.linear.weight)
    bias = torch.zeros_like(model.linear.bias)
    for j in range(len(bundle.tasks)):
        val_labels = y_val[:, j] if y_val.size else np.zeros(0)
        fit = _fit_task((x - mean) / std, y[:, j], (x_val - mean) / std, val_labels, seed)
        if isinstance(fit, float):
            bias[j] = fit
        else:
            coef = fit.coef_[0] / std
            weight[j] = torch.from_numpy(coef).float()
            bias[j] = float(fit.intercept_[0] - coef @ mean)
    with torch.no_grad():
        model.linear.weight.copy_(weight)
        model.linear.bias.copy_(bias)
    return model
