"""Assemble and run Lightning training for a run config; write the run folder.

A run folder holds::

    config.yaml               the validated config
    model.json, model.safetensors   the trained model (an ensemble when train.ensemble > 1)
    metrics.csv               per-epoch losses and validation metrics
    checkpoints/last.ckpt     for resuming only (Lightning, pickled); best.ckpt
    members/<k>/              per-seed runs of an ensemble (same layout)
    baseline/                 the k-mer logistic regression yardstick
"""

from __future__ import annotations

import inspect
import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from dnalens.config import RunConfig, TrainConfig
from dnalens.config_checks import check_for_training
from dnalens.data.build import DataBundle, build_data
from dnalens.data.datasets import make_loader
from dnalens.errors import ConfigError, DnalensError, TrainingError
from dnalens.models.ensemble import Ensemble
from dnalens.models.motif_init import init_filters_from_motifs, resolve_motifs
from dnalens.models.registry import build_model
from dnalens.models.store import save_model
from dnalens.models.transfer import transfer_weights
from dnalens.train.baseline import fit_kmer_baseline
from dnalens.train.checkpoints import SafeCheckpointIO, model_state
from dnalens.train.run_folder import merge_metrics, prepare_run_dir, remove_if_untrained
from dnalens.train.task import SequenceTask

__all__ = ["RunResult", "model_params", "positive_weights", "quiet_lightning", "train_run"]

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_dir: Path
    model: torch.nn.Module
    bundle: DataBundle


def positive_weights(labels: np.ndarray, setting: str | list[float]) -> list[float] | None:
    """Per-task BCE positive weights: None, n_neg / n_pos ('balanced'), or given values."""
    if setting == "none":
        return None
    n_tasks = labels.shape[1]
    if isinstance(setting, list):
        if len(setting) != n_tasks:
            raise ConfigError(f"train.pos_weight has {len(setting)} values for {n_tasks} tasks")
        return list(setting)
    positives = labels.sum(axis=0)
    return [float((labels.shape[0] - p) / max(p, 1.0)) for p in positives]


def model_params(config: RunConfig, bundle: DataBundle) -> dict:
    """Model parameters: the config's, plus the input shape the data implies.

    Window data give ``input_length`` and ``n_tasks``; splice data give ``context``,
    ``output_length`` and ``n_tasks`` = 3, and a model parameter that disagrees is an error.
    """
    params = dict(config.model.params)
    implied = _implied_params(config, bundle)
    implied["n_tasks"] = len(bundle.tasks)
    for key, value in implied.items():
        if params.setdefault(key, value) != value:
            raise ConfigError(f"model.params.{key} ({params[key]}) differs from what the data "
                              f"give ({value}); remove it from model.params")
    return params


def _implied_params(config: RunConfig, bundle: DataBundle) -> dict:
    data = config.data
    if bundle.kind == "splice":
        return {"context": data.splice.context, "output_length": data.splice.output_length}
    if bundle.kind == "coverage":
        block = data.coverage
        return {"input_length": block.input_length, "bin_size": block.bin_size,
                "crop_bins": block.crop_bins}
    if bundle.kind == "contacts":
        block = data.contacts
        resolution = bundle.datasets["train"].targets.resolution
        shared = ({"crop_bins": block.crop_bins, "diagonal_offset": block.diagonal_offset}
                  if block.layout == "map" else {"band_bins": block.band_bins})
        return {"input_length": block.input_length, "bin_size": resolution, **shared}
    return {"input_length": bundle.input_length}


def _monitor_mode(monitor: str) -> str:
    return "min" if monitor == "val_loss" else "max"


def quiet_lightning() -> None:
    """Keep Lightning's start-up chatter (device lines, tips) out of the user's terminal."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # The run folder holds config.yaml before the CSV logger starts; that is expected.
    warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*limit_train_batches=1.0.*")


def _trainer(train: TrainConfig, member_dir: Path, has_valid: bool) -> L.Trainer:
    quiet_lightning()
    monitor = train.monitor if has_valid else "train_loss"
    callbacks = [
        ModelCheckpoint(dirpath=member_dir / "checkpoints", filename="best", monitor=monitor,
                        mode=_monitor_mode(monitor), save_last=True, save_top_k=1,
                        enable_version_counter=False),
        EarlyStopping(monitor=monitor, mode=_monitor_mode(monitor), patience=train.patience),
    ]
    if train.checkpoint_minutes is not None:
        # Long epochs (days of training on large genomes): also write last.ckpt every few
        # minutes, so an interrupted run loses at most that much.
        callbacks.append(ModelCheckpoint(
            dirpath=member_dir / "checkpoints", filename="last", save_top_k=0, save_last=True,
            train_time_interval=timedelta(minutes=train.checkpoint_minutes),
            enable_version_counter=False))
    return L.Trainer(
        default_root_dir=member_dir, max_epochs=train.max_epochs,
        accelerator=train.accelerator, devices=train.devices, strategy=train.strategy,
        precision=train.precision, callbacks=callbacks, num_nodes=train.num_nodes,
        accumulate_grad_batches=train.accumulate_grad_batches,
        gradient_clip_val=train.gradient_clip,
        logger=CSVLogger(member_dir, name="", version=""),
        enable_progress_bar=train.progress_bar, enable_model_summary=False,
        limit_train_batches=train.limit_train_batches,
        log_every_n_steps=1, num_sanity_val_steps=0,
        plugins=[SafeCheckpointIO()],  # weights_only loads (resume too), atomic saves
    )


def _best_state(member_dir: Path) -> dict[str, torch.Tensor]:
    # Read with weights_only=True: on --resume this file may come from anyone.
    return model_state(member_dir / "checkpoints" / "best.ckpt")


# Lightning >= 2.5 takes weights_only in fit(); SafeCheckpointIO enforces it on older ones.
_WEIGHTS_ONLY = ({"weights_only": True}
                 if "weights_only" in inspect.signature(L.Trainer.fit).parameters else {})


def _fit_member(config: RunConfig, bundle: DataBundle, member_dir: Path, seed: int,
                resume: bool) -> torch.nn.Module:
    train = config.train
    L.seed_everything(seed, workers=True, verbose=False)
    model = build_model(config.model.name, **model_params(config, bundle))
    if config.model.init is not None:
        init = config.model.init
        transfer_weights(model, init.model, init.layers, freeze=init.freeze)
    if config.model.motifs is not None:
        motifs = config.model.motifs
        init_filters_from_motifs(model, resolve_motifs(motifs.names, motifs.database),
                                 scale=motifs.scale)
    if bundle.kind == "splice" and train.pos_weight != "none":
        raise ConfigError("train.pos_weight applies to the 'bce' loss only; splice data uses "
                          "the 'categorical' loss")
    if train.pos_weight != "none" and train.loss != "bce":
        raise ConfigError(f"train.pos_weight applies to the 'bce' loss only; loss is "
                          f"'{train.loss}'")
    weights = (None if train.loss != "bce" else
               positive_weights(bundle.datasets["train"].labels.numpy(), train.pos_weight))
    task = SequenceTask(model, loss=train.loss, optimizer=train.optimizer, lr=train.lr,
                        momentum=train.momentum, l2=train.l2, l1=train.l1, pos_weight=weights)
    has_valid = len(bundle.datasets["valid"]) > 0
    loaders = {
        split: make_loader(bundle.datasets[split], batch_size=train.batch_size,
                           shuffle=split == "train", seed=seed, num_workers=train.num_workers,
                           pin_memory=torch.cuda.is_available())
        for split in ("train", "valid")
    }
    last = member_dir / "checkpoints" / "last.ckpt"
    ckpt_path = str(last) if resume and last.exists() else None
    if ckpt_path:
        log.info("resuming %s from %s", member_dir, last)
    trainer = _trainer(train, member_dir, has_valid)
    previous = _stash_metrics(member_dir) if ckpt_path else None
    try:
        trainer.fit(task, loaders["train"], loaders["valid"] if has_valid else None,
                    ckpt_path=ckpt_path, **_WEIGHTS_ONLY)
    finally:
        if previous is not None:
            merge_metrics(member_dir, previous)
    model.load_state_dict(_best_state(member_dir))
    return model.eval()


def _stash_metrics(member_dir: Path) -> pd.DataFrame | None:
    """Keep the metrics of the interrupted run: Lightning's CSV logger may start a new file."""
    path = member_dir / "metrics.csv"
    return pd.read_csv(path) if path.exists() and path.stat().st_size else None


def train_run(config: RunConfig, *, resume: bool = False, overwrite: bool = False,
              source: str = "config") -> RunResult:
    """Train the model (or ensemble) a config describes and save it in the run folder.

    The model name, its parameters and the input files are checked before any data are
    built; a run that fails before its first epoch ends leaves no run folder behind.

    Parameters
    ----------
    config : RunConfig
    resume : bool
        Continue an interrupted run from each member's last checkpoint; members
        already finished are loaded, not retrained.
    overwrite : bool
        Delete an existing run folder first.
    source : str
        Where the config came from (its YAML file), named in config errors.

    Returns
    -------
    RunResult with the run folder, the trained model (eval mode) and the data.
    """
    check_for_training(config, source)
    run_dir, created = prepare_run_dir(config, resume, overwrite)
    try:
        return _train_in(config, run_dir, resume)
    except BaseException:
        remove_if_untrained(run_dir, created)
        raise


def _train_in(config: RunConfig, run_dir: Path, resume: bool) -> RunResult:
    bundle = build_data(config.data, seed=config.seed)
    if len(bundle.datasets["train"]) == 0:
        raise DnalensError("no training examples: check data.split and data.windows")
    check_finite_labels(bundle)
    log.info("data: %s", bundle.summary())
    n = config.train.ensemble
    members = []
    for k in range(n):
        member_dir = run_dir if n == 1 else run_dir / "members" / str(k)
        members.append(_fit_member(config, bundle, member_dir, config.seed + k, resume))
        if n > 1:
            save_model(members[-1], member_dir, tasks=bundle.tasks, extra={"seed": config.seed + k})
    average = {"bce": "probability", "categorical": "softmax"}.get(config.train.loss, "output")
    model = members[0] if n == 1 else Ensemble.from_models(members, average=average)
    save_model(model, run_dir, tasks=bundle.tasks,
               extra={"run": config.name, "seed": config.seed, "loss": config.train.loss})
    if config.train.baseline == "kmer" and config.train.loss == "bce":
        baseline = fit_kmer_baseline(bundle, k=config.train.kmer_k, seed=config.seed)
        save_model(baseline, run_dir / "baseline", tasks=bundle.tasks, extra={"baseline": True})
    return RunResult(run_dir, model, bundle)


def check_finite_labels(bundle: DataBundle) -> None:
    """Refuse NaN or infinite labels before training starts (targets read per batch, as
    coverage and contact maps are, are checked by the loss instead)."""
    for split, dataset in bundle.datasets.items():
        if not hasattr(dataset, "labels"):
            continue
        if not torch.isfinite(dataset.labels).all():
            raise TrainingError(f"{split} labels contain NaN or infinite values")
