"""`dnalens attribute` and `dnalens motifs` on a small trained CNN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from dnalens.cli.main import main
from planted import run_dict, write_planted_genome


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cnn")
    genome, bed = write_planted_genome(root)
    raw = run_dict(root, genome, bed)
    raw["model"] = {"name": "deepsea", "params": {
        "conv_channels": [8, 8], "dropouts": [0.0, 0.0], "hidden": 8, "batch_norm": True}}
    raw["train"].update({"max_epochs": 3, "baseline": "none"})
    path = root / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["-q", "train", str(path), "--no-evaluate"]) == 0
    return root / "runs" / "tiny", bed


def test_attribute_writes_sequences_and_scores(cnn_run, tmp_path):
    run, bed = cnn_run
    out = tmp_path / "attr.npz"
    assert main(["-q", "attribute", str(run), "--bed", str(bed), "--out", str(out),
                 "--method", "grad_x_input", "--logos", "1"]) == 0
    saved = np.load(out, allow_pickle=False)
    n = len(bed.read_text().splitlines())
    assert saved["attributions"].shape == (n, 4, 100)
    assert saved["one_hot"].shape == (n, 4, 100)
    # Gradient x input is zero wherever the base is absent.
    assert np.all(saved["attributions"][saved["one_hot"] == 0] == 0)
    assert (tmp_path / "attr_0.png").stat().st_size > 0


def test_attribute_unknown_task_is_one_line_error(cnn_run, tmp_path, capsys):
    run, bed = cnn_run
    assert main(["attribute", str(run), "--bed", str(bed), "--task", "nope",
                 "--out", str(tmp_path / "a.npz")]) == 2
    assert "--task 'nope' is not an output of the model" in capsys.readouterr().err


def test_motifs_writes_filter_pwms_and_matches(cnn_run, tmp_path):
    run, bed = cnn_run
    out = tmp_path / "motifs"
    assert main(["-q", "motifs", str(run), "--bed", str(bed), "--out", str(out),
                 "--logos", "2"]) == 0
    assert (out / "filters.meme").read_text().count("MOTIF") == 8
    matches = pd.read_csv(out / "matches.tsv", sep="\t")
    assert {"query", "n_sites", "target", "p_value", "q_value", "rank"} <= set(matches.columns)
    assert len(list(out.glob("filter*.png"))) == 2


def test_ism_writes_deltas_matching_the_naive_path(cnn_run, tmp_path):
    run, bed = cnn_run
    fast, naive = tmp_path / "fast.npz", tmp_path / "naive.npz"
    assert main(["-q", "ism", str(run), "--bed", str(bed), "--out", str(fast),
                 "--heatmaps", "1", "--device", "cpu"]) == 0
    assert main(["-q", "ism", str(run), "--bed", str(bed), "--out", str(naive), "--naive",
                 "--device", "cpu"]) == 0
    a, b = np.load(fast), np.load(naive)
    n = len(bed.read_text().splitlines())
    assert a["delta"].shape == (n, 1, 4, 100)
    np.testing.assert_allclose(a["delta"], b["delta"], atol=1e-5)
    # Zero at the reference base.
    assert np.all(a["delta"][:, 0][a["one_hot"] == 1] == 0)
    assert (tmp_path / "fast_0.png").stat().st_size > 0
