"""The run folder of ``dnalens train``: created, reused, resumed, or cleared after a failure.

A run that fails before its first epoch ends has nothing worth keeping; its folder is
removed (or, after a SIGKILL, recognised as *abandoned* on the next start and replaced),
so the retry needs neither ``--resume`` nor ``--overwrite``. A run that finished an epoch
keeps its checkpoints, and ``--resume`` continues it.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pandas as pd
import yaml

from dnalens.config import RunConfig, dump_config
from dnalens.errors import ConfigError, DnalensError
from dnalens.files import write_atomic, write_text_atomic

__all__ = ["is_abandoned", "merge_metrics", "prepare_run_dir", "remove_if_untrained",
           "same_config"]

log = logging.getLogger(__name__)

# What a run writes before its first checkpoint: anything else (a model, a checkpoint, a
# file of the user's) means the folder is kept.
_EARLY_FILES = {"config.yaml", "hparams.yaml", "metrics.csv"}
_TEMPORARY = re.compile(r"^\..+\.tmp$")


def is_abandoned(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds only what a run writes before its first epoch ends."""
    if not (run_dir / "config.yaml").is_file():
        return False
    return all(path.is_dir() or path.name in _EARLY_FILES or _TEMPORARY.match(path.name)
               for path in run_dir.rglob("*"))


def prepare_run_dir(config: RunConfig, resume: bool, overwrite: bool) -> tuple[Path, bool]:
    """Create (or reuse, for ``resume``) the run folder and write ``config.yaml``.

    Returns
    -------
    (Path, bool)
        The folder, and whether this call created it (so a failure may remove it).
    """
    run_dir = config.run_dir
    if run_dir.exists() and any(run_dir.iterdir()):
        if is_abandoned(run_dir):
            log.warning("%s: the earlier attempt finished no epoch; starting again", run_dir)
            shutil.rmtree(run_dir)
        elif not resume:
            if not overwrite:
                raise DnalensError(f"{run_dir}: run folder exists; pass --resume to continue "
                                   "it or --overwrite to start again")
            shutil.rmtree(run_dir)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    text = dump_config(config)
    saved = run_dir / "config.yaml"
    if resume and saved.exists() and not same_config(saved.read_text(), text):
        raise ConfigError(f"{saved}: differs from the config given; resume with the same "
                          "config, or pass --overwrite (without --resume) to start again")
    write_text_atomic(saved, text)
    return run_dir, created


def remove_if_untrained(run_dir: Path, created: bool) -> None:
    """After a failure: drop what a run wrote if no epoch finished (keep checkpoints)."""
    if not run_dir.is_dir() or not is_abandoned(run_dir):
        return
    if created:
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    for child in run_dir.iterdir():  # a folder the user made: empty it, keep it
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def same_config(saved: str, given: str) -> bool:
    """Whether two dumped configs say the same, ignoring keys set to null: options added in
    a later dnalens version (dumped as null when unused) must not block resuming."""
    def drop_nulls(value: object) -> object:
        if isinstance(value, dict):
            return {k: drop_nulls(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [drop_nulls(v) for v in value]
        return value

    return drop_nulls(yaml.safe_load(saved)) == drop_nulls(yaml.safe_load(given))


def merge_metrics(member_dir: Path, previous: pd.DataFrame) -> None:
    """Join the metrics of an interrupted attempt and of its resumed continuation.

    Lightning's CSV logger either starts a new file or appends to the old one (it depends
    on the version); and an epoch interrupted after its validation row was written is run
    again. So rows are keyed by (epoch, step, which columns they fill) and the later
    attempt's row wins: each epoch appears once, none is lost.
    """
    path = member_dir / "metrics.csv"
    new = pd.read_csv(path) if path.exists() and path.stat().st_size else previous.iloc[:0]
    merged = pd.concat([previous, new], ignore_index=True)
    if {"epoch", "step"} <= set(merged.columns):
        filled = merged.notna().apply(lambda row: "".join("1" if v else "0" for v in row),
                                      axis=1)
        key = merged[["epoch", "step"]].astype(str).agg(",".join, axis=1) + ":" + filled
        merged = merged[~key.duplicated(keep="last")]
        merged = merged.sort_values(["epoch", "step"], kind="stable")
    else:
        merged = merged.drop_duplicates(keep="last")
    write_atomic(path, lambda tmp: merged.to_csv(tmp, index=False))
