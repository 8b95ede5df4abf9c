"""Metrics with hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dnalens.errors import DnalensError
from dnalens.train.metrics import (
    auprc,
    auroc,
    classification_table,
    pearson,
    spearman,
    splice_table,
    top_k_accuracy,
)


def test_auroc_counts_correctly_ordered_pairs():
    # Pairs (pos, neg): (0.8 > 0.1), (0.8 > 0.4), (0.3 > 0.1), (0.3 < 0.4): 3 of 4.
    assert auroc(np.array([1, 0, 1, 0]), np.array([0.8, 0.1, 0.3, 0.4])) == pytest.approx(0.75)


def test_auprc_is_average_precision():
    # Ranked: pos (P=1/1), neg, pos (P=2/3): AP = (1 + 2/3) / 2.
    assert auprc(np.array([1, 0, 1]), np.array([0.9, 0.5, 0.2])) == pytest.approx(5 / 6)


def test_one_class_gives_nan_not_an_exception():
    assert math.isnan(auroc(np.zeros(4), np.arange(4.0)))
    assert math.isnan(auprc(np.zeros(4), np.arange(4.0)))


def test_classification_table_has_the_promised_columns_and_mean_row():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=float)
    s = np.array([[0.9, 0.2], [0.1, 0.8], [0.7, 0.6], [0.2, 0.1]])
    table = classification_table(y, s, ["a", "b"])
    assert list(table.columns) == ["task", "auroc", "auprc", "n_pos", "n_neg"]
    assert table["task"].tolist() == ["a", "b", "mean"]
    assert table["auroc"].tolist() == [1.0, 1.0, 1.0]
    assert table["n_pos"].tolist() == [2, 2, 4]


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(DnalensError, match=r"differ in shape: \(3,\) vs \(2,\)"):
        auroc(np.zeros(3), np.zeros(2))


def test_correlations_and_top_k():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert pearson(x, 2 * x + 1) == pytest.approx(1.0)
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert math.isnan(pearson(x, np.ones(4)))
    # Two positives; the two top scores are one positive and one negative.
    assert top_k_accuracy(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.1, 0.0])) == 0.5


def test_splice_table_top_k_and_average_precision_by_hand():
    # acceptor: k = 2 true sites; the 2 best-scored bases hold 1 of them -> top-k 0.5.
    # Ranked 0.9 (site), 0.8, 0.2, 0.1 (site): AP = 0.5 * 1 + 0.5 * 2/4 = 0.75.
    # donor: the single site scores highest -> top-k 1, AP 1.
    y_true = np.array([[1, 0], [0, 0], [1, 0], [0, 1], [0, 0]])
    y_score = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.0], [0.2, 0.7], [0.0, 0.3]])
    table = splice_table(y_true, y_score).set_index("task")
    assert list(table.index) == ["acceptor", "donor", "mean"]
    assert table.loc["acceptor", "top_k"] == pytest.approx(0.5)
    assert table.loc["acceptor", "auprc"] == pytest.approx(0.75)
    assert table.loc["donor", "top_k"] == pytest.approx(1.0)
    assert table.loc["donor", "auprc"] == pytest.approx(1.0)
    assert table.loc["mean", "top_k"] == pytest.approx(0.75)
    assert table.loc["mean", ["n_pos", "n_neg"]].tolist() == [3, 2]


def test_resume_ignores_options_dumped_as_null_by_a_newer_version():
    from dnalens.train.run_folder import same_config as _same_config

    old = "name: a\ndata:\n  genome: g.fa\n  targets: []\n"
    new = "name: a\ndata:\n  genome: g.fa\n  targets: []\n  splice: null\n"
    assert _same_config(old, new)
    assert not _same_config(old, new.replace("g.fa", "h.fa"))
