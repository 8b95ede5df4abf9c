"""What an evaluation scores: the split it picks, and a one-line account of what it scored.

``--split auto`` means the examples the model was not trained on:

- the run's own data: its test split, as training made it (held-out chromosomes or regions,
  a table's ``split`` column or its random ``test_fraction``);
- a new dataset (``--data``): the model saw none of it, so all of it, unless the data name
  a test part themselves (``split.test_chroms``, ``split.test_regions``, or a ``split``
  column in the table); a random ``test_fraction`` is not such a part.

``--split all`` scores every example and refuses data with ``split.test_regions`` (it
would silently score the training part too): use ``--split test`` for those regions, or
tile a region directly with ``windows.chroms: ["chr2:1,300,001-1,750,000"]``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from dnalens.config import DataConfig
from dnalens.errors import ConfigError
from dnalens.regions import format_region, is_region, parse_region

__all__ = ["SPLIT_CHOICES", "describe_evaluation", "names_test_part", "resolve_split"]

SPLIT_CHOICES = ("auto", "train", "valid", "test", "all")


def resolve_split(split: str, data: DataConfig, *, own: bool, source: str = "data") -> str:
    """The split ``split`` stands for: 'train', 'valid', 'test' or 'all'.

    Parameters
    ----------
    split : {'auto', 'train', 'valid', 'test', 'all'}
    data : the data to evaluate
    own : whether ``data`` is the run's own training data
    source : the file ``data`` came from, for messages

    Raises
    ------
    ConfigError
        An unknown ``split``, or 'all' with ``split.test_regions``.
    """
    if split not in SPLIT_CHOICES:
        raise ConfigError(f"--split must be one of {', '.join(SPLIT_CHOICES)}; got '{split}'")
    regions = data.split.test_regions
    if split == "all" and regions is not None:
        raise ConfigError(
            f"{source}: --split all scores every example and would ignore "
            f"split.test_regions ({regions.name}); use --split test to score the bins in those "
            "regions, or tile a region directly with windows.chroms "
            "(e.g. ['chr2:1,300,001-1,750,000'])")
    if split != "auto":
        return split
    return "test" if own or names_test_part(data) else "all"


def names_test_part(data: DataConfig) -> bool:
    """Whether ``data`` name their own test examples (chromosomes, regions, a table column)."""
    return bool(data.split.test_chroms or data.split.test_regions
                or (data.table is not None and _table_has_split_column(data)))


def _table_has_split_column(data: DataConfig) -> bool:
    """Whether the table's header has a 'split' column (unreadable: no; the build says why)."""
    table = data.table
    header_file = table.labels if table.labels is not None else table.path
    try:
        columns = pd.read_csv(header_file, sep="\t", nrows=0, compression="infer").columns
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError):
        return False
    return "split" in columns


def describe_evaluation(data: DataConfig, split: str, n_examples: int,
                        positives: Mapping[str, int] | None = None, *,
                        n_blocks: int | None = None) -> str:
    """One line: how many examples were scored, which, and the positives of each task.

    E.g. ``evaluated 2,250 windows (chr2:1,300,001-1,750,000 tiled at 200 bp), positives per
    task: CTCF 83``. Regions are written 1-based inclusive, as samtools does.

    Parameters
    ----------
    data : the data evaluated
    split : the resolved split ('train', 'valid', 'test' or 'all')
    n_examples : windows, sequences, pairs or (splice) labelled bases scored
    positives : task -> number of positive examples (None for coverage and contact maps)
    n_blocks : splice only, the number of transcript blocks
    """
    kind = data.kind
    if kind == "table":
        unit, what = "sequences", _table_scope(data, split)
    elif kind == "splice":
        unit = "labelled bases"
        what = f"in {n_blocks:,} blocks of {data.splice.annotation.name}{_held_out(data, split)}"
    elif kind == "peaks":
        unit, what = "windows", _windows_scope(data, split)
    else:
        block = getattr(data, kind)
        unit = "pairs" if kind == "pairs" else f"windows of {block.input_length:,} bp"
        source = block.bedpe if kind == "pairs" else data.genome
        what = f"{source.name}{_held_out(data, split)}"
    line = f"evaluated {n_examples:,} {unit} ({what})"
    if positives is not None:
        counts = ", ".join(f"{task} {count:,}" for task, count in positives.items())
        line += f", positives per task: {counts}"
    return line


def _table_scope(data: DataConfig, split: str) -> str:
    name = data.table.path.name
    if split == "all":
        return f"all of {name}"
    if _table_has_split_column(data):
        return f"the '{split}' rows of {name}"
    fraction = {"valid": data.split.valid_fraction, "test": data.split.test_fraction}
    if split in fraction:
        return f"the random {fraction[split]:.0%} {split} split of {name}"
    return f"the random train split of {name}"


def _windows_scope(data: DataConfig, split: str) -> str:
    w = data.windows
    if w.chroms:
        where = ", ".join(format_region(*parse_region(entry)) if is_region(entry) else entry
                          for entry in w.chroms)
    else:
        where = data.genome.name
    mode = w.mode if split == "train" else w.eval_mode
    how = (f" tiled at {w.bin_size:,} bp" if mode == "tile"
           else f": peak-centred {w.bin_size:,} bp bins plus random negatives")
    return f"{where}{how}{_held_out(data, split)}"


def _held_out(data: DataConfig, split: str) -> str:
    """'; test split: ...' saying which part of a genome the split is."""
    if split == "all":
        return ""
    cfg = data.split
    regions = {"valid": cfg.valid_regions, "test": cfg.test_regions}.get(split)
    chroms = {"valid": cfg.valid_chroms, "test": cfg.test_chroms}.get(split)
    if regions is not None:
        rule = "centre" if cfg.region_selection == "centre" else "whole input window"
        return f"; {split} split: bins whose {rule} lies in {regions.name}"
    if chroms:
        return f"; {split} split: {', '.join(chroms)}"
    return f"; {split} split"
