"""Evaluate a trained run on its own test split or on another dataset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from torch import nn

from dnalens.apply.predict import predict
from dnalens.config import DataConfig, RunConfig, parse_run_config
from dnalens.data.build import build_data
from dnalens.errors import ConfigError, DnalensError, InputFileError
from dnalens.files import write_atomic
from dnalens.models.store import load_model, read_model_card
from dnalens.train.metrics import classification_table

__all__ = ["EvaluationResult", "evaluate_run", "load_run_config_of", "write_table"]


@dataclass
class EvaluationResult:
    """Labels and scores of the evaluated examples and the metric tables.

    ``labels``/``scores``/``baseline_scores`` have shape (n, n_tasks); scores are
    probabilities. ``table`` has columns task, auroc, auprc, n_pos, n_neg.
    """

    tasks: list[str]
    labels: np.ndarray
    scores: np.ndarray
    table: pd.DataFrame
    examples: pd.DataFrame
    baseline_scores: np.ndarray | None = None
    baseline_table: pd.DataFrame | None = None


def load_run_config_of(run_dir: Path) -> RunConfig:
    """The validated config.yaml saved in a run folder."""
    path = Path(run_dir) / "config.yaml"
    if not path.exists():
        raise InputFileError(f"{run_dir}: no config.yaml; is this a dnalens run folder?")
    return parse_run_config(yaml.safe_load(path.read_text()), Path(run_dir), str(path))


def _align_tasks(model_tasks: list[str], data_tasks: list[str], source: str) -> list[int]:
    """Column of each data task in the model's outputs; every data task must be known."""
    missing = [t for t in data_tasks if t not in model_tasks]
    if missing:
        raise ConfigError(f"{source}: task(s) {missing} are not outputs of the model "
                          f"(it predicts {model_tasks})")
    return [model_tasks.index(t) for t in data_tasks]


def evaluate_run(run_dir: str | Path, data: DataConfig | None = None, *,
                 split: str = "auto", batch_size: int = 256,
                 device: str | None = None) -> EvaluationResult:
    """Score a run's model (and its k-mer baseline, if trained) on labelled examples.

    Parameters
    ----------
    run_dir : folder written by ``dnalens train``
    data : DataConfig, optional
        Another dataset in the run-config schema; its task names must be
        outputs of the model. Default: the run's own data.
    split : {'auto', 'train', 'valid', 'test', 'all'}
        'auto' is the test split of the run's own data, and of ``data`` when it
        defines held-out chromosomes or regions; otherwise all of ``data``.
    """
    run_dir = Path(run_dir)
    card = read_model_card(run_dir)
    model = load_model(run_dir)
    config = load_run_config_of(run_dir)
    own = data is None
    data = config.data if own else data
    if split == "auto":
        has_test = bool(data.split.test_chroms or data.split.test_regions or data.table)
        split = "test" if own or has_test else "all"
    if split not in ("train", "valid", "test", "all"):
        raise ConfigError(f"split must be auto, train, valid, test or all; got '{split}'")
    bundle = build_data(data, seed=config.seed, all_as_test=split == "all")
    split_name = "test" if split == "all" else split
    dataset = bundle.datasets[split_name]
    if len(dataset) == 0:
        raise DnalensError(f"no examples in the '{split_name}' split to evaluate")
    if bundle.input_length != card.input_length:
        raise ConfigError(f"data windows are {bundle.input_length} bp but the model takes "
                          f"{card.input_length} bp (set data.windows.input_length)")
    columns = _align_tasks(list(card.tasks), bundle.tasks, "data")
    labels = dataset.labels.numpy()

    def score(m: nn.Module) -> np.ndarray:
        return predict(m, dataset, batch_size=batch_size, device=device,
                       probabilities=True)[:, columns]

    scores = score(model)
    result = EvaluationResult(bundle.tasks, labels, scores,
                              classification_table(labels, scores, bundle.tasks),
                              bundle.frames[split_name])
    if (run_dir / "baseline" / "model.json").exists():
        result.baseline_scores = score(load_model(run_dir / "baseline"))
        result.baseline_table = classification_table(labels, result.baseline_scores,
                                                     bundle.tasks)
    return result


def write_table(table: pd.DataFrame, path: Path) -> Path:
    """Tab-separated, 4 decimals, written atomically."""
    return write_atomic(path, lambda tmp: table.to_csv(tmp, sep="\t", index=False,
                                                       float_format="%.4f"))
