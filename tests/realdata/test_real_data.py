"""Train on real sequence from ../shared/data and assert on splits the model never saw.

Each test trains the example config of configs/ (so the configs are tested too)
for a few minutes on 2 CPU cores; bars are set where a working model clears them
with margin (figures measured when written: see the README's results table).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dnalens.config import load_run_config
from dnalens.report.evaluation import write_evaluation
from dnalens.train.fit import train_run

pytestmark = pytest.mark.slow

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _train_and_evaluate(name: str, tmp_path: Path, shared_dir: Path, needs: str):
    if not (shared_dir / "data" / needs).exists():
        pytest.skip(f"../shared/data/{needs} is absent")
    config = load_run_config(CONFIGS / f"{name}.yaml")
    config = config.model_copy(update={
        "output_dir": tmp_path,
        "train": config.train.model_copy(update={"progress_bar": False}),
    })
    result = train_run(config)
    evaluation, _ = write_evaluation(result.run_dir)
    return evaluation.table.iloc[0], evaluation.baseline_table.iloc[0]


def test_oct4_vs_mafk_beats_098_and_the_kmer_baseline(tmp_path, shared_dir):
    model, kmer = _train_and_evaluate("oct4_vs_mafk", tmp_path, shared_dir, "tf_oct4_vs_mafk")
    print(f"oct4_vs_mafk test AUROC {model.auroc:.4f} (k-mer {kmer.auroc:.4f})")
    assert model.n_pos > 500 and model.n_neg > 500
    assert model.auroc >= 0.98
    assert model.auroc > kmer.auroc


def test_mouse_promoters_reach_085(tmp_path, shared_dir):
    model, kmer = _train_and_evaluate("mouse_promoters", tmp_path, shared_dir,
                                      "mouse_tata_promoters")
    print(f"mouse_promoters test AUROC {model.auroc:.4f} (k-mer {kmer.auroc:.4f})")
    assert model.auroc >= 0.85


def test_pooled_ctcf_on_held_out_chr2_interval(tmp_path, shared_dir):
    model, kmer = _train_and_evaluate("chr2_ctcf", tmp_path, shared_dir, "chr2_hg38")
    print(f"chr2_ctcf test AUROC {model.auroc:.4f} (k-mer {kmer.auroc:.4f})")
    assert model.n_pos >= 30
    assert model.auroc > 0.6
