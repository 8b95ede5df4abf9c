"""Evaluate a trained run on its own test split or on another dataset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from torch import nn

from dnalens.apply.evaluate_longrange import evaluate_regression
from dnalens.apply.evaluate_scope import describe_evaluation, resolve_split
from dnalens.apply.predict import default_device, predict
from dnalens.config import DataConfig, RunConfig, parse_run_config
from dnalens.data.build import build_data
from dnalens.data.datasets import make_loader
from dnalens.data.splice import SpliceDataset, site_scores
from dnalens.errors import ConfigError, DnalensError, InputFileError
from dnalens.files import write_table  # re-exported: callers import it from here
from dnalens.models.store import load_model, read_model_card
from dnalens.train.metrics import classification_table, splice_table

__all__ = ["EvaluationResult", "evaluate_run", "evaluate_splice", "load_run_config_of",
           "write_table"]

# Splice evaluation lists, besides annotated sites, the bases scored at least this high.
SITE_LISTING_THRESHOLD = 0.1


@dataclass
class EvaluationResult:
    """Labels and scores of the evaluated examples and the metric tables.

    ``labels``/``scores``/``baseline_scores`` have shape (n, n_tasks); scores are
    probabilities. ``table`` has columns task, auroc, auprc, n_pos, n_neg.

    Splice runs (``kind`` 'splice'): one row of ``labels``/``scores`` per labelled base,
    columns acceptor and donor (``tasks``); ``table`` has columns task, top_k, auprc, auroc,
    n_pos, n_neg; ``examples`` lists, with their genome position (0-based) and scores, the
    annotated sites and the bases scored >= 0.1 for either class.
    """

    tasks: list[str]
    labels: np.ndarray
    scores: np.ndarray
    table: pd.DataFrame
    examples: pd.DataFrame
    baseline_scores: np.ndarray | None = None
    baseline_table: pd.DataFrame | None = None
    kind: str = "windows"
    regression: object | None = None  # RegressionResult for 'coverage' and 'contacts'
    dataset: object | None = None
    summary: str = ""  # what was scored, e.g. "evaluated 2,250 windows (...), positives ..."


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
        'auto' is the test split of the run's own data (held-out chromosomes or regions,
        a table's ``split`` column or random ``test_fraction``); for ``data``, its test
        split when it names one (``split.test_chroms``, ``split.test_regions`` or a
        ``split`` column in its table), otherwise all of it: a new table is scored whole.
        'all' scores every example and refuses data with ``split.test_regions`` (use
        'test', or tile the region with ``windows.chroms``); see
        :mod:`dnalens.apply.evaluate_scope`.

    The result's ``summary`` says how many examples were scored, which, and how many were
    positive per task.

    Splice data (``data.splice``) are scored per base: see :func:`evaluate_splice` and
    :func:`dnalens.train.metrics.splice_table`.
    """
    run_dir = Path(run_dir)
    card = read_model_card(run_dir)
    model = load_model(run_dir)
    config = load_run_config_of(run_dir)
    own = data is None
    data = config.data if own else data
    if data.splice is not None and data.splice.context is None:
        data = data.model_copy(update={"splice": data.splice.model_copy(
            update={"context": card.input_length - data.splice.output_length})})
    split = resolve_split(split, data, own=own,
                          source=str(run_dir / "config.yaml") if own else "data")
    bundle = build_data(data, seed=config.seed, all_as_test=split == "all")
    split_name = "test" if split == "all" else split
    dataset = bundle.datasets[split_name]
    if len(dataset) == 0:
        raise DnalensError(f"no examples in the {'run' if own else 'data'}'s '{split_name}' "
                           "split to evaluate; choose another with --split (all: every "
                           "example)")
    if bundle.kind in ("coverage", "contacts"):
        if bundle.input_length != card.input_length:
            raise ConfigError(f"data windows are {bundle.input_length:,} bp but the model "
                              f"takes {card.input_length:,} bp")
        found = evaluate_regression(model, dataset, bundle.frames[split_name],
                                    list(card.tasks), batch_size=max(1, batch_size // 32),
                                    device=device, seed=config.seed)
        return EvaluationResult(found.tasks, found.observed, found.predicted, found.table,
                                found.per_window, kind=bundle.kind, regression=found,
                                dataset=dataset,
                                summary=describe_evaluation(data, split, len(dataset)))
    if bundle.input_length != card.input_length:
        raise ConfigError(f"data windows are {bundle.input_length} bp but the model takes "
                          f"{card.input_length} bp (set data.windows.input_length)")
    columns = _align_tasks(list(card.tasks), bundle.tasks, "data")
    if bundle.kind == "splice":
        labels, scores, examples = evaluate_splice(model, dataset, bundle.frames[split_name],
                                                   batch_size=batch_size, device=device)
        table = splice_table(labels, scores)
        return EvaluationResult(["acceptor", "donor"], labels, scores, table, examples,
                                kind="splice", summary=describe_evaluation(
                                    data, split, len(labels), _positives(table, 2),
                                    n_blocks=len(dataset)))
    labels = dataset.labels.numpy()

    def score(m: nn.Module) -> np.ndarray:
        return predict(m, dataset, batch_size=batch_size, device=device,
                       probabilities=True)[:, columns]

    scores = score(model)
    table = classification_table(labels, scores, bundle.tasks)
    result = EvaluationResult(bundle.tasks, labels, scores, table, bundle.frames[split_name],
                              summary=describe_evaluation(data, split, len(labels),
                                                          _positives(table, len(bundle.tasks))))
    if (run_dir / "baseline" / "model.json").exists():
        result.baseline_scores = score(load_model(run_dir / "baseline"))
        result.baseline_table = classification_table(labels, result.baseline_scores,
                                                     bundle.tasks)
    return result


def _positives(table: pd.DataFrame, n_tasks: int) -> dict[str, int]:
    """Task -> positives of a metric table (its first ``n_tasks`` rows; not the 'mean' row)."""
    rows = table.iloc[:n_tasks]
    return {str(task): int(n) for task, n in zip(rows["task"], rows["n_pos"], strict=True)}


@torch.inference_mode()
def evaluate_splice(model: nn.Module, dataset: SpliceDataset, blocks: pd.DataFrame, *,
                    batch_size: int = 32, device: str | None = None
                    ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Acceptor/donor labels and probabilities at every labelled base of splice blocks.

    Parameters
    ----------
    model : nn.Module
        (batch, 4, L + context) -> (batch, 3, L) logits (neither, acceptor, donor).
    dataset : SpliceDataset
    blocks : DataFrame of the dataset's blocks (chrom, start, end, strand, name)

    Returns
    -------
    labels : np.ndarray, shape (m, 2), uint8
    scores : np.ndarray, shape (m, 2), float32
        softmax probabilities of acceptor and donor.
    sites : DataFrame
        chrom, pos, strand, name, acceptor, donor, acceptor_score, donor_score for the
        annotated sites and the bases scored >= ``SITE_LISTING_THRESHOLD``.
    """
    device = torch.device(device) if device is not None else default_device()
    model = model.to(device).eval()
    labels, scores, listed = [], [], []
    first = 0
    for x, y in make_loader(dataset, batch_size=batch_size, shuffle=False):
        probabilities = torch.softmax(model(x.to(device)).float(), dim=1).cpu().numpy()
        y_true, y_score = site_scores(probabilities, y.numpy())
        labels.append(y_true)
        scores.append(y_score)
        listed.append(_listed_sites(blocks.iloc[first : first + len(y)], y.numpy(),
                                    y_true, y_score))
        first += len(y)
    if not labels:
        raise DnalensError("no splice blocks to evaluate")
    return np.concatenate(labels), np.concatenate(scores), pd.concat(listed, ignore_index=True)


def _listed_sites(blocks: pd.DataFrame, y: np.ndarray, y_true: np.ndarray,
                  y_score: np.ndarray) -> pd.DataFrame:
    """Rows of :func:`evaluate_splice`'s ``sites`` for one batch (bases in site_scores order)."""
    block, offset = np.nonzero(y >= 0)
    start = blocks["start"].to_numpy(np.int64)[block]
    end = blocks["end"].to_numpy(np.int64)[block]
    minus = blocks["strand"].to_numpy()[block] == "-"
    keep = (y_true.any(axis=1)) | (y_score.max(axis=1) >= SITE_LISTING_THRESHOLD)
    return pd.DataFrame({
        "chrom": blocks["chrom"].to_numpy()[block][keep],
        "pos": np.where(minus, end - 1 - offset, start + offset)[keep],
        "strand": blocks["strand"].to_numpy()[block][keep],
        "name": blocks["name"].to_numpy()[block][keep],
        "acceptor": y_true[keep, 0], "donor": y_true[keep, 1],
        "acceptor_score": y_score[keep, 0], "donor_score": y_score[keep, 1],
    })
