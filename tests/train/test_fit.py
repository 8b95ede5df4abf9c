"""Training end to end on a tiny planted genome: run folder, resume, ensemble, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dnalens.apply.predict import predict
from dnalens.config import parse_run_config
from dnalens.errors import DnalensError, TrainingError
from dnalens.models.ensemble import Ensemble
from dnalens.models.store import load_model
from dnalens.train.fit import positive_weights, train_run
from dnalens.train.metrics import auroc
from planted import run_dict, write_planted_genome


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path]:
    return write_planted_genome(tmp_path)


def _config(tmp_path: Path, planted, **overrides):
    genome, bed = planted
    return parse_run_config(run_dict(tmp_path, genome, bed, **overrides), tmp_path)


def test_run_folder_holds_model_metrics_checkpoints_and_baseline(tmp_path, planted):
    result = train_run(_config(tmp_path, planted))
    run = result.run_dir
    for name in ("config.yaml", "model.json", "model.safetensors", "metrics.csv",
                 "checkpoints/last.ckpt", "checkpoints/best.ckpt", "baseline/model.json"):
        assert (run / name).exists(), name
    card = json.loads((run / "model.json").read_text())
    assert card["tasks"] == ["motif"] and card["input_length"] == 100
    # The saved model is the best checkpoint's weights, reloaded without pickle.
    reloaded = load_model(run)
    test = result.bundle.datasets["test"]
    np.testing.assert_allclose(predict(reloaded, test), predict(result.model, test), atol=1e-6)


def test_planted_motif_is_learned_on_held_out_chromosome(tmp_path, planted):
    genome, bed = planted
    raw = run_dict(tmp_path, genome, bed)
    raw["data"]["augment"] = {"max_shift": 25, "reverse_complement": True}
    raw["model"] = {"name": "deepsea", "params": {
        "conv_channels": [16, 16], "dropouts": [0.0, 0.0], "hidden": 16, "batch_norm": True}}
    raw["train"] = {"max_epochs": 10, "batch_size": 16, "lr": 0.01, "progress_bar": False,
                    "baseline": "none", "patience": 10}
    result = train_run(parse_run_config(raw, tmp_path))
    test = result.bundle.datasets["test"]
    score = auroc(test.labels.numpy()[:, 0], predict(result.model, test)[:, 0])
    assert score > 0.85


def test_resume_continues_from_last_checkpoint(tmp_path, planted):
    first = _config(tmp_path, planted, train={"max_epochs": 2, "progress_bar": False,
                                              "baseline": "none", "patience": 10})
    train_run(first)
    metrics = (first.run_dir / "metrics.csv").read_text()
    assert "1," in metrics.splitlines()[-1]
    second = _config(tmp_path, planted, train={"max_epochs": 2, "progress_bar": False,
                                               "baseline": "none", "patience": 10})
    # Same config, resumed: nothing left to do, so the epoch count stays at 2.
    train_run(second, resume=True)
    epochs = {line.split(",")[0] for line in
              (first.run_dir / "metrics.csv").read_text().splitlines()[1:]}
    assert epochs == {"0", "1"}


def test_existing_run_folder_needs_resume_or_overwrite(tmp_path, planted):
    config = _config(tmp_path, planted, train={"max_epochs": 1, "progress_bar": False,
                                               "baseline": "none"})
    train_run(config)
    with pytest.raises(DnalensError, match="run folder exists; pass --resume"):
        train_run(config)
    train_run(config, overwrite=True)


def test_ensemble_averages_member_probabilities(tmp_path, planted):
    config = _config(tmp_path, planted, train={"max_epochs": 1, "progress_bar": False,
                                               "baseline": "none", "ensemble": 2})
    result = train_run(config)
    assert isinstance(result.model, Ensemble)
    members = [load_model(result.run_dir / "members" / str(k)) for k in range(2)]
    x = result.bundle.datasets["test"].__getitems__(list(range(8)))[0]
    with torch.no_grad():
        mean = torch.stack([torch.sigmoid(m(x)) for m in members]).mean(0)
        combined = torch.sigmoid(load_model(result.run_dir)(x))
    torch.testing.assert_close(combined, mean, atol=1e-5, rtol=1e-5)


def test_nan_loss_stops_with_a_clear_message(tmp_path, planted):
    config = _config(tmp_path, planted, train={"max_epochs": 1, "progress_bar": False,
                                               "lr": 1e30, "baseline": "none",
                                               "optimizer": "sgd"})
    with pytest.raises(TrainingError, match=r"training loss became (nan|inf).*lower train.lr"):
        train_run(config)


def test_positive_weights_balanced_is_negatives_over_positives():
    labels = np.array([[1, 0], [0, 0], [0, 1], [0, 1]], dtype=np.float32)
    assert positive_weights(labels, "balanced") == [3.0, 1.0]
    assert positive_weights(labels, "none") is None
