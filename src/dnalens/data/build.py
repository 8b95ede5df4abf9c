"""From a data config to train / valid / test datasets (the one data path of a run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dnalens.config import DataConfig, TargetConfig
from dnalens.data import windows as win
from dnalens.data.datasets import GenomeWindowDataset, SequenceDataset
from dnalens.data.splice import SPLICE_CLASSES, SpliceDataset, splice_blocks, transcripts_on_genome
from dnalens.data.tables import random_split, read_fasta_table, read_sequence_table, table_codes
from dnalens.data.targets import peak_labels
from dnalens.errors import ConfigError, DnalensError
from dnalens.io.annotation import read_annotation
from dnalens.io.genome import Genome
from dnalens.io.intervals import read_bed

__all__ = ["DataBundle", "build_data", "read_targets"]

SPLITS = ("train", "valid", "test")


@dataclass
class DataBundle:
    """Datasets of the three splits plus what a model needs to know about them.

    ``frames`` holds, per split, the examples as a DataFrame (chrom/start/end or
    id) with one column per task, for predictions tables. ``kind`` is 'splice' for
    per-base splice labels (:mod:`dnalens.data.splice`; tasks are the 3 classes).
    """

    tasks: list[str]
    input_length: int
    datasets: dict[str, GenomeWindowDataset | SequenceDataset | SpliceDataset]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    genome: Genome | None = None
    kind: str = "windows"

    def summary(self) -> str:
        parts = []
        if self.kind in ("coverage", "contacts"):
            shape = "x".join(str(n) for n in self.datasets["train"].targets.shape)
            counts = ", ".join(f"{split} {len(self.datasets[split]):,}" for split in SPLITS)
            return (f"{self.kind}: windows of {self.input_length:,} bp, targets {shape} "
                    f"({', '.join(self.tasks)}); {counts}")
        if self.kind == "splice":
            for split in SPLITS:
                counts = self.datasets[split].counts()
                parts.append(f"{split} {len(self.datasets[split]):,} blocks ({counts['bases']:,} "
                             f"bases, {counts['acceptors']:,} acceptors, {counts['donors']:,} "
                             "donors)")
            return f"splice sites, input {self.input_length} bp; " + ", ".join(parts)
        for split in SPLITS:
            labels = self.datasets[split].labels.numpy()
            parts.append(f"{split} {labels.shape[0]:,} ({int(labels.sum()):,} positive labels)")
        return f"{len(self.tasks)} task(s), input {self.input_length} bp; " + ", ".join(parts)


def read_targets(config: DataConfig, genome: Genome) -> dict[str, pd.DataFrame]:
    """Each task's peaks, filtered by its ``where`` columns and checked against the genome."""
    peak_sets: dict[str, pd.DataFrame] = {}
    cache: dict[Path, pd.DataFrame] = {}
    for target in config.targets:
        if target.bed not in cache:
            cache[target.bed] = read_bed(target.bed, genome, rename_contigs=config.rename_contigs,
                                         chrom_map=config.chrom_map)
        peak_sets[target.name] = _filter(cache[target.bed], target)
    return peak_sets


def _filter(peaks: pd.DataFrame, target: TargetConfig) -> pd.DataFrame:
    keep = np.ones(len(peaks), dtype=bool)
    for column, value in target.where.items():
        if column not in peaks.columns:
            raise ConfigError(f"targets '{target.name}': {target.bed.name} has no column "
                              f"'{column}' (has {[c for c in peaks.columns if c != 'line']})")
        keep &= peaks[column].astype(str).to_numpy() == str(value)
    if not keep.any():
        raise ConfigError(f"targets '{target.name}': no peak in {target.bed.name} matches "
                          f"{dict(target.where)}")
    return peaks[keep].reset_index(drop=True)


def build_data(config: DataConfig, *, seed: int = 0, splits: tuple[str, ...] = SPLITS,
               all_as_test: bool = False) -> DataBundle:
    """Build the datasets a run config describes.

    Parameters
    ----------
    config : DataConfig
    seed : int
        Seeds negative sampling, random splits and augmentation.
    splits : tuple of str
        Which splits to build (others are empty).
    all_as_test : bool
        Put every example in 'test' (to evaluate a model on a whole new dataset).
    """
    if config.table is not None:
        return _build_table(config, seed, all_as_test)
    if config.splice is not None:
        return _build_splice(config, splits, all_as_test)
    if config.coverage is not None or config.contacts is not None:
        return _build_long_windows(config, seed, splits, all_as_test)
    if config.pairs is not None:
        return _build_pairs(config, seed, all_as_test)
    return _build_genome(config, seed, splits, all_as_test)


def _build_long_windows(config: DataConfig, seed: int, splits: tuple[str, ...],
                        all_as_test: bool) -> DataBundle:
    """Windows tiled along chromosomes with coverage or contact-map targets."""
    from dnalens.data.longrange import (
        ContactTargets,
        CoverageTargets,
        TargetWindowDataset,
        tile_windows,
    )

    genome = Genome(config.genome)
    block = config.coverage if config.coverage is not None else config.contacts
    names = {"rename_contigs": config.rename_contigs, "chrom_map": config.chrom_map}
    if config.coverage is not None:
        from dnalens.io.tracks import TrackSet, read_track_list

        tracks = TrackSet(read_track_list(block.tracks), genome, **names)
        targets, tasks, kind, align = CoverageTargets(tracks, block), tracks.names, \
            "coverage", block.bin_size
    else:
        from dnalens.io.contacts import ContactMatrix

        matrix = ContactMatrix(block.cool, genome, resolution=block.resolution, **names)
        targets, tasks, kind, align = ContactTargets(matrix, block), ["contacts"], \
            "contacts", matrix.resolution
    chroms = list(block.chroms or genome.chroms)
    for chrom in chroms:
        genome.check_chrom(chrom)
    stride = block.stride or block.input_length // 2
    windows = tile_windows(genome.chrom_sizes, chroms, block.input_length, stride, align=align)
    windows = win.drop_n_rich(windows, genome, block.input_length, block.max_n_fraction)
    split = _split_labels(windows, config, genome, all_as_test, block.input_length).to_numpy()
    datasets, frames = {}, {}
    for name in SPLITS:
        rows = np.flatnonzero(split == name) if name in splits else np.zeros(0, np.int64)
        frames[name] = windows.iloc[rows].reset_index(drop=True)
        augment = config.augment if name == "train" else None
        datasets[name] = TargetWindowDataset(
            genome, frames[name], targets, seed=seed,
            reverse_complement=bool(augment and augment.reverse_complement),
            max_shift=augment.max_shift if augment else 0)
    if all_as_test and len(datasets["test"]) == 0:
        raise DnalensError("no windows to evaluate (check chroms and N content)")
    return DataBundle(list(tasks), block.input_length, datasets, frames, genome, kind)


def _build_pairs(config: DataConfig, seed: int, all_as_test: bool) -> DataBundle:
    """Enhancer-promoter pairs: both anchors' windows end to end, split by anchor 1's
    chromosome (or regions)."""
    from dnalens.data.longrange import pair_codes
    from dnalens.io.pairs import read_bedpe

    genome = Genome(config.genome)
    pairs = read_bedpe(config.pairs.bedpe, genome, rename_contigs=config.rename_contigs,
                       chrom_map=config.chrom_map)
    codes = pair_codes(genome, pairs, config.pairs)
    labels = pairs["label"].to_numpy(np.float32)[:, None]
    anchors = pairs.rename(columns={"chrom1": "chrom", "start1": "start", "end1": "end"})
    split = _split_labels(anchors[["chrom", "start", "end"]], config, genome, all_as_test,
                          config.pairs.anchor_length).to_numpy()
    datasets, frames = {}, {}
    columns = ["chrom1", "start1", "end1", "chrom2", "start2", "end2", "cis"]
    for name in SPLITS:
        rows = np.flatnonzero(split == name)
        datasets[name] = SequenceDataset(codes[rows], labels[rows], seed=seed)
        frames[name] = pairs.iloc[rows][columns].assign(contact=labels[rows, 0]).reset_index(
            drop=True)
    if all_as_test and len(datasets["test"]) == 0:
        raise DnalensError(f"{config.pairs.bedpe}: no pairs to evaluate")
    return DataBundle(["contact"], codes.shape[1], datasets, frames, genome, "pairs")


def _build_table(config: DataConfig, seed: int, all_as_test: bool) -> DataBundle:
    table = config.table
    df = (read_fasta_table(table.path, table.labels) if table.labels is not None
          else read_sequence_table(table.path))
    tasks = [c for c in df.columns if c not in ("id", "sequence", "split")]
    codes = table_codes(df["sequence"], table.length)
    labels = df[tasks].to_numpy(np.float32)
    if all_as_test:
        split = np.full(len(df), "test")
    elif "split" in df.columns:
        split = df["split"].astype(str).to_numpy()
    else:
        split = random_split(labels, config.split.valid_fraction, config.split.test_fraction, seed)
    datasets, frames = {}, {}
    for name in SPLITS:
        rows = np.flatnonzero(split == name)
        augment = config.augment if name == "train" else None
        datasets[name] = SequenceDataset(
            codes[rows], labels[rows], seed=seed,
            reverse_complement=bool(augment and augment.reverse_complement),
            max_shift=augment.max_shift if augment else 0,
        )
        frames[name] = df.iloc[rows][["id", *tasks]].reset_index(drop=True)
    return DataBundle(tasks, codes.shape[1], datasets, frames)


def _build_splice(config: DataConfig, splits: tuple[str, ...], all_as_test: bool) -> DataBundle:
    splice = config.splice
    if splice.context is None:
        raise ConfigError("data.splice.context is not set: give the model's context (e.g. 80, "
                          "400, 2000, 10000)")
    genome = Genome(config.genome)
    chroms = splice.chroms
    for chrom in chroms or []:
        genome.check_chrom(chrom)
    transcripts = transcripts_on_genome(read_annotation(splice.annotation), genome,
                                        chroms=chroms, rename=config.rename_contigs,
                                        chrom_map=config.chrom_map)
    blocks, labels = splice_blocks(transcripts, splice.output_length)
    input_length = splice.output_length + splice.context
    split = _split_labels(blocks, config, genome, all_as_test, input_length).to_numpy()
    datasets, frames = {}, {}
    for name in SPLITS:
        rows = np.flatnonzero(split == name) if name in splits else np.zeros(0, np.int64)
        frame = blocks.iloc[rows].reset_index(drop=True)
        datasets[name] = SpliceDataset(genome, frame, labels[rows], splice.context)
        frames[name] = frame
    if all_as_test and len(datasets["test"]) == 0:
        raise DnalensError(f"{splice.annotation}: no transcript blocks to evaluate")
    return DataBundle(list(SPLICE_CLASSES), input_length, datasets, frames, genome, "splice")


def _split_labels(bins: pd.DataFrame, config: DataConfig, genome: Genome,
                  all_as_test: bool, input_length: int | None = None) -> pd.Series:
    split_cfg = config.split
    if all_as_test:
        return pd.Series("test", index=bins.index)
    if split_cfg.valid_regions is not None or split_cfg.test_regions is not None:
        regions = {
            key: read_bed(path, genome, rename_contigs=config.rename_contigs,
                          chrom_map=config.chrom_map) if path is not None else None
            for key, path in (("valid", split_cfg.valid_regions),
                              ("test", split_cfg.test_regions))
        }
        return win.assign_split_by_regions(bins, regions["valid"], regions["test"],
                                           input_length or config.windows.input_length,
                                           split_cfg.region_selection)
    for chrom in [*split_cfg.valid_chroms, *split_cfg.test_chroms]:
        genome.check_chrom(chrom)
    return win.assign_split_by_chroms(bins, split_cfg.valid_chroms, split_cfg.test_chroms)


def _candidate_bins(mode: str, config: DataConfig, genome: Genome, regions: pd.DataFrame,
                    peak_sets: dict[str, pd.DataFrame], rng: np.random.Generator) -> pd.DataFrame:
    """Tiled bins, or peak-centred bins plus random negatives, inside ``regions``
    (:func:`dnalens.data.windows.window_regions`)."""
    w = config.windows
    if mode == "tile":
        return win.tile_regions(regions, w.bin_size, w.stride)
    all_peaks = pd.concat(list(peak_sets.values()), ignore_index=True)
    all_peaks = all_peaks[all_peaks["chrom"].isin(regions["chrom"])]
    positives = win.peak_bins(all_peaks, w.bin_size)
    whole = (regions["start"] == 0) & (regions["end"] == regions["chrom"].map(genome.chrom_sizes))
    if not whole.all():  # only then, so whole-chromosome runs draw the same negatives as before
        positives = positives[win.coverage_fraction(positives, regions) == 1]
    n_neg = round(w.negatives_per_positive * len(positives))
    negatives = win.sample_negative_bins_in(regions, n_neg, w.bin_size, rng)
    return pd.concat([positives, negatives], ignore_index=True)


def _build_genome(config: DataConfig, seed: int, splits: tuple[str, ...],
                  all_as_test: bool) -> DataBundle:
    genome = Genome(config.genome)
    peak_sets = read_targets(config, genome)
    w = config.windows
    regions = win.window_regions(w.chroms or None, genome)
    blacklist = (read_bed(config.blacklist, genome, rename_contigs=config.rename_contigs,
                          chrom_map=config.chrom_map, allow_empty=True)
                 if config.blacklist is not None else None)
    rng = np.random.default_rng(seed)
    datasets, frames = {}, {}
    for split_name in SPLITS:
        mode = w.mode if split_name == "train" else w.eval_mode
        if split_name not in splits:
            bins = win.tile_bins(genome.chrom_sizes, [], w.bin_size)
        else:
            bins = _candidate_bins(mode, config, genome, regions, peak_sets, rng)
            bins = bins[(bins["start"] >= 0) & (bins["end"] <= bins["chrom"].map(
                genome.chrom_sizes))]
            bins = bins[_split_labels(bins, config, genome, all_as_test) == split_name]
            if blacklist is not None:
                bins = win.drop_overlapping(bins, blacklist)
            bins = win.drop_n_rich(bins.reset_index(drop=True), genome, w.input_length,
                                   w.max_n_fraction)
        labels = peak_labels(bins, peak_sets, w.min_overlap)
        augment = config.augment if split_name == "train" else None
        datasets[split_name] = GenomeWindowDataset(
            genome, bins["chrom"].to_numpy(), ((bins["start"] + bins["end"]) // 2).to_numpy(),
            labels, w.input_length, seed=seed,
            reverse_complement=bool(augment and augment.reverse_complement),
            max_shift=augment.max_shift if augment else 0,
        )
        frame = bins[["chrom", "start", "end"]].reset_index(drop=True)
        frames[split_name] = pd.concat(
            [frame, pd.DataFrame(labels, columns=list(peak_sets))], axis=1)
    bundle = DataBundle(list(peak_sets), w.input_length, datasets, frames, genome)
    if all_as_test and len(datasets["test"]) == 0:
        raise DnalensError("no examples: every bin was dropped (check chroms, N content, "
                           "blacklist)")
    return bundle
