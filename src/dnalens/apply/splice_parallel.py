"""Splice-variant scoring on several devices: Lightning's predict loop under a DDP strategy.

The same division of work as :mod:`dnalens.apply.variant_parallel`: every process reads the
whole VCF as a stream and scores the batches of records whose number ``b`` has
``b % world_size == rank``, writing one JSON line per record (its number, INFO entries with
and without masking, TSV rows, skip counts: :mod:`dnalens.apply.splice_part`) to its own part
file. Rank 0 then copies the VCF once more, attaching each record's entries from the parts
merged by record number, so the output VCF and TSV are exactly those of
:func:`dnalens.apply.splice_vcf.score_splice_variants` on one device.

Running it::

    dnalens splice score --vcf in.vcf.gz --genome hg38.fa --annotation grch38 \\
        --out scored.vcf.gz --devices 4

starts one process per GPU (Lightning's ``ddp`` launcher re-runs the command). Several
nodes: the same command on each node under SLURM (``srun``) or ``torchrun`` with
``--num-nodes``; the output must be on a file system every node sees. From Python in a
notebook or a test use ``strategy="ddp_spawn"``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset

from dnalens.apply.splice_part import merged_parts
from dnalens.apply.splice_vcf import _score_batch, check_splice_inputs, write_splice_outputs
from dnalens.apply.splicing import SpliceSummary, model_context
from dnalens.apply.variant_parallel import LAUNCHING_STRATEGIES, rank_and_world, whole_batch
from dnalens.errors import ConfigError, DnalensError
from dnalens.io.annotation import GeneTable
from dnalens.io.genome import Genome
from dnalens.io.vcf_text import VcfFault, VcfLine, VcfText
from dnalens.train.fit import quiet_lightning

__all__ = ["score_splice_variants_distributed"]

class _RecordBatches(IterableDataset):
    """Yields ``(first, records)``: this process's share of the VCF's batches of records."""

    def __init__(self, vcf: Path, batch_size: int) -> None:
        self.vcf, self.batch_size = vcf, batch_size

    def __iter__(self) -> Iterator[tuple[int, list[VcfLine | VcfFault]]]:
        rank, world = rank_and_world()
        batch: list[VcfLine | VcfFault] = []
        number = first = 0
        for index, record in enumerate(VcfText(self.vcf).records()):
            if not batch:
                first = index
            batch.append(record)
            if len(batch) == self.batch_size:
                if number % world == rank:
                    yield first, batch
                number += 1
                batch = []
        if batch and number % world == rank:
            yield first, batch


class _SpliceWriter(L.LightningModule):
    """predict_step scores a batch of records and appends them to this rank's part file."""

    def __init__(self, model: nn.Module, genome: Path, genes: GeneTable, vcf: Path,
                 out_vcf: Path, distance: int) -> None:
        super().__init__()
        self.model = model
        self.genome_path, self.genes, self.vcf = genome, genes, vcf
        self.out_vcf, self.distance = out_vcf, distance

    def transfer_batch_to_device(self, batch: object, device: torch.device,
                                 dataloader_idx: int) -> object:
        return batch  # VCF records: windows are built and moved in predict_step

    def on_predict_start(self) -> None:
        self.genome = Genome(self.genome_path)
        self.model.eval()
        self.context = model_context(self.model)
        self.summary = SpliceSummary(self.out_vcf)
        self.names: dict[str, str | None] = {}
        self.part = open(_part_path(self.out_vcf, self.global_rank), "w")  # noqa: SIM115

    def predict_step(self, batch: tuple[int, list[VcfLine | VcfFault]]) -> None:
        first, records = batch
        results = _score_batch(records, self.names, self.model, self.genome, self.genes,
                               self.distance, self.context, self.device, self.summary,
                               str(self.vcf))
        self.part.write("".join(r.to_json(first + k) for k, r in enumerate(results)))
        self.part.flush()

    def on_predict_end(self) -> None:
        self.part.close()


def _part_path(out_vcf: Path, rank: int) -> Path:
    return out_vcf.with_name(f"{out_vcf.name}.rank{rank}.part")


def score_splice_variants_distributed(
    model: nn.Module,
    genome: str | Path,
    genes: GeneTable,
    vcf: str | Path,
    out_vcf: str | Path,
    *,
    distance: int = 50,
    mask: bool = False,
    out_tsv: str | Path | None = None,
    batch_size: int = 16,
    devices: int | str = "auto",
    accelerator: str = "auto",
    strategy: str = "ddp",
    num_nodes: int = 1,
) -> SpliceSummary | None:
    """Score a VCF like :func:`~dnalens.apply.splice_vcf.score_splice_variants`, on several
    devices (see the module docstring for launching).

    Parameters
    ----------
    model, genes, distance, mask, out_tsv, batch_size
        As for ``score_splice_variants``; the outputs are the same.
    genome, vcf, out_vcf : path
        Files, not objects: each process opens its own.
    devices, accelerator, strategy, num_nodes
        Passed to ``lightning.Trainer``.

    Returns
    -------
    SpliceSummary or None
        On rank 0, the counts of all processes together; None on the other ranks.
    """
    if batch_size < 1:
        raise ConfigError(f"splice score: batch_size must be >= 1; got {batch_size}")
    genome, vcf, out_vcf = Path(genome), Path(vcf), Path(out_vcf)
    check_splice_inputs(vcf, distance)
    text = VcfText(vcf)  # not a VCF: fail before starting processes
    model_context(model)  # not a SpliceAI model: the same
    out_vcf.parent.mkdir(parents=True, exist_ok=True)
    quiet_lightning()
    module = _SpliceWriter(model, genome, genes, vcf, out_vcf, distance)
    loader = DataLoader(_RecordBatches(vcf, batch_size), batch_size=None, collate_fn=whole_batch)
    trainer = L.Trainer(accelerator=accelerator, devices=devices, strategy=strategy,
                        num_nodes=num_nodes, logger=False, enable_checkpointing=False,
                        enable_model_summary=False, enable_progress_bar=False,
                        use_distributed_sampler=False)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*predict returned None.*")
            trainer.predict(module, loader, return_predictions=False)
    except DnalensError:
        # Bad input met while scoring (a corrupt VCF): no part file is worth keeping.
        for part in out_vcf.parent.glob(f"{out_vcf.name}.rank*.part"):
            part.unlink(missing_ok=True)
        raise
    world = trainer.world_size
    if strategy in LAUNCHING_STRATEGIES:
        rank = 0  # the launching process, after its workers are done
    else:
        trainer.strategy.barrier()
        rank = trainer.global_rank
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if rank != 0:
        return None
    parts = [_part_path(out_vcf, r) for r in range(world)]
    missing = [p for p in parts if not p.exists()]
    if missing:
        raise ConfigError(f"splice score: the file {missing[0]} of a process is missing; is "
                          "the output on a file system every node sees?")
    try:
        return write_splice_outputs(text, out_vcf, merged_parts(parts), genome=Genome(genome),
                                    mask=mask, out_tsv=out_tsv)
    finally:
        for part in parts:
            part.unlink(missing_ok=True)
