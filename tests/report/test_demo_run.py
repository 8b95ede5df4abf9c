"""`dnalens demo` end to end: the planted structure is learned (test AUROC > 0.9)."""

from __future__ import annotations

import pandas as pd
import pytest

from dnalens.cli.main import main

pytestmark = pytest.mark.slow


def test_demo_learns_the_planted_motifs_on_a_held_out_chromosome(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["-q", "demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    run = out / "runs" / "demo"
    assert str(run) in printed.replace("\n", "")
    table = pd.read_csv(run / "evaluation.tsv", sep="\t").set_index("task")
    baseline = pd.read_csv(run / "evaluation_baseline.tsv", sep="\t").set_index("task")
    print(table.round(3).to_string(), baseline.round(3).to_string(), sep="\n")
    assert list(table.index) == ["cell_a", "cell_b", "cell_c", "cell_d", "mean"]
    assert table.loc["mean", "auroc"] > 0.9
    assert (table["auroc"] > 0.8).all()
    # The network learns more than a bag of k-mers.
    assert table.loc["mean", "auroc"] > baseline.loc["mean", "auroc"]
    for name in ("model.safetensors", "model.json", "metrics.csv", "roc.png", "pr.png",
                 "training.png"):
        assert (run / name).exists(), name
