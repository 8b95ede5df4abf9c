"""Splice scoring under Lightning's DDP predict loop: two CPU processes (gloo) write the
same VCF and TSV as one process, skipped-record counts included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pysam
import pytest
import torch

from dnalens.apply.splice_parallel import score_splice_variants_distributed
from dnalens.apply.splice_vcf import score_splice_variants
from dnalens.io.annotation import read_annotation
from dnalens.io.genome import Genome
from dnalens.models import build_model

HEADER = "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"


@pytest.fixture
def inputs(tmp_path, write_fasta, write_text):
    rng = np.random.default_rng(1)
    seq = "".join(rng.choice(list("ACGT"), 900))
    fasta = write_fasta(tmp_path / "g.fa", {"chr3": seq})
    genes = write_text("genes.txt", HEADER
                       + "UP\t3\t+\t100\t500\t100,250,400,\t200,300,500,\n"
                       + "DOWN\t3\t-\t300\t800\t300,600,\t450,800,\n")
    rows = []
    for p in sorted(rng.choice(np.arange(60, 840), 13, replace=False)):
        rows.append(f"chr3\t{p + 1}\tv{p}\t{seq[p]}\t{'ACGT'[('ACGT'.index(seq[p]) + 2) % 4]}")
    rows.append(f"chr3\t401\tdel\t{seq[400:404]}\t{seq[400]}")
    rows.append(f"chr3\t11\toutside\t{seq[10]}\t{'A' if seq[10] != 'A' else 'C'}")
    rows.append(f"chr3\t451\tmismatch\t{'A' if seq[450] != 'A' else 'C'}\tG")
    vcf = write_text("v.vcf", "##fileformat=VCFv4.2\n##contig=<ID=chr3>\n"
                     "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                     + "".join(r + "\t.\t.\t.\n" for r in rows))
    torch.manual_seed(0)
    model = build_model("spliceai", context=80, channels=8).eval()
    return fasta, read_annotation(genes), vcf, model


def _infos(path):
    with pysam.VariantFile(str(path)) as source:
        return [(r.id, r.info.get("SpliceAI")) for r in source]


@pytest.mark.slow
def test_two_processes_write_the_single_process_outputs(inputs, tmp_path):
    fasta, genes, vcf, model = inputs
    single = score_splice_variants(model, Genome(fasta), genes, vcf, tmp_path / "one.vcf",
                                   distance=20, out_tsv=tmp_path / "one.tsv", batch_size=3,
                                   device="cpu")
    out = tmp_path / "ddp" / "two.vcf"
    summary = score_splice_variants_distributed(
        model, fasta, genes, vcf, out, distance=20, out_tsv=tmp_path / "ddp" / "two.tsv",
        batch_size=3, devices=2, accelerator="cpu", strategy="ddp_spawn")
    assert _infos(out) == _infos(tmp_path / "one.vcf")
    assert sum(info is not None for _, info in _infos(out)) == 14
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "ddp" / "two.tsv", sep="\t"),
                                  pd.read_csv(tmp_path / "one.tsv", sep="\t"))
    assert (summary.records, summary.scored) == (single.records, single.scored)
    assert summary.skipped == single.skipped and set(summary.skipped) >= {"outside_genes"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["two.tsv", "two.vcf"]


def test_one_process_through_the_predict_loop_masks_like_the_plain_path(inputs, tmp_path):
    fasta, genes, vcf, model = inputs
    score_splice_variants(model, Genome(fasta), genes, vcf, tmp_path / "one.vcf", distance=20,
                          mask=True, batch_size=4, device="cpu")
    summary = score_splice_variants_distributed(
        model, fasta, genes, vcf, tmp_path / "loop.vcf", distance=20, mask=True, batch_size=4,
        devices=1, accelerator="cpu", strategy="auto")
    assert _infos(tmp_path / "loop.vcf") == _infos(tmp_path / "one.vcf")
    assert summary.records == 16
