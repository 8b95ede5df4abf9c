"""Variant scoring on several devices: Lightning's predict loop under a DDP strategy.

Every process reads the whole VCF as a stream (reading is cheap next to the model) and
scores the batches whose number ``b`` has ``b % world_size == rank``, appending its rows to
its own part file. When all processes are done, rank 0 merges the parts by variant number
into the one table :func:`dnalens.apply.variants.score_variants` would have written (same
columns, same order, same numbers), then deletes them.

Running it
----------
One machine, N GPUs, from the command line::

    dnalens variants RUN --vcf in.vcf.gz --out effects.tsv --devices 4

Lightning's default launcher starts one process per GPU by re-running that command
(``strategy="ddp"``). Several nodes: start the same command on each node under SLURM
(``srun``) or ``torchrun --nnodes ... --nproc-per-node ...`` with ``--num-nodes``; Lightning
reads the rank from the environment. The output path must be on a file system every node
sees. From Python inside a notebook or a test, use ``strategy="ddp_spawn"``, which starts
the processes itself (the model is then pickled to them; it never is with ``"ddp"``).
"""

from __future__ import annotations

import heapq
import os
import warnings
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset

from dnalens.apply.variant_scoring import PairScorer
from dnalens.apply.variant_vcf import check_info_tasks
from dnalens.errors import ConfigError, DnalensError
from dnalens.io.genome import Genome
from dnalens.io.variants import VariantRecord, read_vcf
from dnalens.train.fit import quiet_lightning

__all__ = ["LAUNCHING_STRATEGIES", "rank_and_world", "score_variants_distributed", "whole_batch"]

# Strategies whose processes are started by (and return to) the calling process.
LAUNCHING_STRATEGIES = ("ddp_spawn", "ddp_fork", "ddp_notebook")


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (0 and 1 outside a process group)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _VcfBatches(IterableDataset):
    """Yields ``(first, records)``: this process's share of the VCF's batches."""

    def __init__(self, vcf: Path, genome: Path, batch_size: int) -> None:
        self.vcf, self.genome, self.batch_size = vcf, genome, batch_size

    def __iter__(self) -> Iterator[tuple[int, list[VariantRecord]]]:
        rank, world = rank_and_world()
        stream = iter(read_vcf(self.vcf, Genome(self.genome)))
        number = 0
        while batch := list(islice(stream, self.batch_size)):
            if number % world == rank:
                yield number * self.batch_size, batch
            number += 1


class _VariantWriter(L.LightningModule):
    """predict_step scores one batch and appends its rows to this rank's part file."""

    def __init__(self, model: nn.Module, genome: Path, out_tsv: Path, *, input_length: int,
                 tasks: Sequence[str], probabilities: bool, both_strands: bool,
                 fast: bool | str) -> None:
        super().__init__()
        self.model = model
        self.genome_path, self.out_tsv = genome, out_tsv
        self.input_length, self.tasks = input_length, list(tasks)
        self.probabilities, self.both_strands, self.fast = probabilities, both_strands, fast

    def transfer_batch_to_device(self, batch: object, device: torch.device,
                                 dataloader_idx: int) -> object:
        return batch  # records, not tensors: windows are built and moved in predict_step

    def on_predict_start(self) -> None:
        self.genome = Genome(self.genome_path)
        self.scorer = PairScorer(self.model, device=self.device,
                                 probabilities=self.probabilities,
                                 both_strands=self.both_strands, fast=self.fast)
        self.part = open(_part_path(self.out_tsv, self.global_rank), "w")  # noqa: SIM115

    def predict_step(self, batch: tuple[int, list[VariantRecord]]) -> None:
        from dnalens.apply.variants import effect_rows, variant_windows

        first, records = batch
        windows = [variant_windows(self.genome, r, self.input_length) for r in records]
        ref, alt = self.scorer(records, [w[0] for w in windows], [w[1] for w in windows])
        self.part.write(effect_rows(records, first, [w[2] for w in windows], ref, alt,
                                    self.tasks, self.probabilities))
        self.part.flush()

    def on_predict_end(self) -> None:
        self.part.close()


def whole_batch(batch: object) -> object:
    """The loader's collate function: a batch of records is already whole."""
    return batch


def _part_path(out_tsv: Path, rank: int) -> Path:
    return out_tsv.with_name(f"{out_tsv.name}.rank{rank}.part")


def _merge_parts(parts: list[Path], out_tsv: Path, header: str) -> int:
    """Rows of every part, in variant order, into ``out_tsv`` (atomically); the row count."""
    handles = [open(p) for p in parts]  # noqa: SIM115 - closed below
    tmp = out_tsv.with_name(f"{out_tsv.name}.tmp")
    rows = 0
    try:
        with open(tmp, "w") as out:
            out.write(header)
            for line in heapq.merge(*handles, key=lambda row: int(row.split("\t", 1)[0])):
                out.write(line)
                rows += 1
    finally:
        for handle in handles:
            handle.close()
    os.replace(tmp, out_tsv)
    return rows


def score_variants_distributed(
    model: nn.Module,
    genome: str | Path,
    vcf: str | Path,
    *,
    input_length: int,
    tasks: Sequence[str],
    out_tsv: str | Path,
    out_vcf: str | Path | None = None,
    batch_size: int = 128,
    both_strands: bool = False,
    probabilities: bool = True,
    fast: bool | str = "auto",
    devices: int | str = "auto",
    accelerator: str = "auto",
    strategy: str = "ddp",
    num_nodes: int = 1,
) -> int | None:
    """Score a VCF like :func:`dnalens.apply.variants.score_variants`, on several devices.

    Parameters
    ----------
    model, input_length, tasks, out_tsv, out_vcf, batch_size, both_strands, probabilities, fast
        As for :func:`dnalens.apply.variants.score_variants`; the output is the same.
    genome, vcf : path
        Files, not objects: each process opens its own.
    devices, accelerator, strategy, num_nodes
        Passed to ``lightning.Trainer``; see the module docstring for launching.

    Returns
    -------
    int or None
        On rank 0, the number of variants written; None on the other ranks.
    """
    if batch_size < 1:
        raise ConfigError(f"score_variants: batch_size must be >= 1; got {batch_size}")
    genome, vcf, out_tsv = Path(genome), Path(vcf), Path(out_tsv)
    out_tsv.parent.mkdir(parents=True, exist_ok=True)
    from dnalens.apply.variants import score_columns, write_variant_vcf

    read_vcf(vcf)  # a file that is not a VCF fails here, once, not in every process
    if out_vcf is not None:
        check_info_tasks(list(tasks), out_vcf)

    quiet_lightning()
    module = _VariantWriter(model, genome, out_tsv, input_length=input_length, tasks=tasks,
                            probabilities=probabilities, both_strands=both_strands, fast=fast)
    loader = DataLoader(_VcfBatches(vcf, genome, batch_size), batch_size=None,
                        collate_fn=whole_batch)
    trainer = L.Trainer(accelerator=accelerator, devices=devices, strategy=strategy,
                        num_nodes=num_nodes, logger=False, enable_checkpointing=False,
                        enable_model_summary=False, enable_progress_bar=False,
                        use_distributed_sampler=False)
    with warnings.catch_warnings():
        # predict_step returns None on purpose: rows go to the part files, not to memory.
        warnings.filterwarnings("ignore", message=".*predict returned None.*")
        try:
            trainer.predict(module, loader, return_predictions=False)
        except DnalensError:
            # Bad input met while scoring (a corrupt VCF): no part file is worth keeping.
            for part in out_tsv.parent.glob(f"{out_tsv.name}.rank*.part"):
                part.unlink(missing_ok=True)
            raise
    world = trainer.world_size
    if strategy in LAUNCHING_STRATEGIES:
        # The started processes are gone; this is the process that launched them: it merges.
        rank = 0
    else:
        trainer.strategy.barrier()
        rank = trainer.global_rank
        # Rank 0 needs no more collectives; free the group (and its port) so that a second
        # call from the same Python session can start one.
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if rank != 0:
        return None
    header = "\t".join(score_columns(list(tasks), probabilities=probabilities)) + "\n"
    parts = [_part_path(out_tsv, r) for r in range(world)]
    missing = [p for p in parts if not p.exists()]
    if missing:
        raise ConfigError(f"score_variants: the part file {missing[0]} of a process is "
                          "missing; is the output on a file system every node sees?")
    rows = _merge_parts(parts, out_tsv, header)
    for part in parts:
        part.unlink()
    if out_vcf is not None:
        reference = Genome(genome)
        sites = read_vcf(vcf, reference)  # QUAL and FILTER of every row's record
        write_variant_vcf(out_tsv, Path(out_vcf), reference, list(tasks), sites=sites,
                          meta=sites.meta)
    return rows
