"""Variant scoring under Lightning's DDP predict loop: two CPU processes (gloo) write the
same table as one process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from dnalens.apply.variant_parallel import _merge_parts, score_variants_distributed
from dnalens.apply.variants import score_variants
from dnalens.io.genome import Genome
from dnalens.io.variants import read_vcf
from dnalens.models import build_model

LENGTH = 64


@pytest.fixture
def inputs(tmp_path, write_fasta):
    rng = np.random.default_rng(0)
    chrom = "".join(rng.choice(list("ACGT"), 2000))
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": chrom})
    rows = []
    for pos0 in sorted(rng.choice(np.arange(5, 1995), 23, replace=False)):
        ref = chrom[pos0]
        rows.append(f"chr1\t{pos0 + 1}\t.\t{ref}\t{'ACGT'[('ACGT'.index(ref) + 1) % 4]}")
    rows.append(f"chr1\t101\t.\t{chrom[100:103]}\t{chrom[100]}")  # a deletion
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   + "".join(r + "\t.\t.\t.\n" for r in rows))
    torch.manual_seed(0)
    model = build_model("basset", input_length=LENGTH, n_tasks=2, conv_channels=(6, 4, 4),
                        kernel_sizes=(5, 3, 3), pool_sizes=(2, 2, 2), hidden_sizes=(8,))
    return fasta, vcf, model.eval()


@pytest.mark.slow
def test_two_processes_write_the_single_process_table(inputs, tmp_path):
    fasta, vcf, model = inputs
    single = tmp_path / "single.tsv"
    score_variants(model, Genome(fasta), read_vcf(vcf, Genome(fasta)), input_length=LENGTH,
                   tasks=["a", "b"], out_tsv=single, batch_size=4, device="cpu")
    out = tmp_path / "ddp" / "effects.tsv"
    rows = score_variants_distributed(model, fasta, vcf, input_length=LENGTH, tasks=["a", "b"],
                                      out_tsv=out, batch_size=4, devices=2, accelerator="cpu",
                                      strategy="ddp_spawn")
    assert rows == 24
    pd.testing.assert_frame_equal(pd.read_csv(out, sep="\t"), pd.read_csv(single, sep="\t"))
    assert sorted(p.name for p in out.parent.iterdir()) == ["effects.tsv"]  # parts removed


def test_one_process_through_the_predict_loop(inputs, tmp_path):
    fasta, vcf, model = inputs
    out = tmp_path / "effects.tsv"
    rows = score_variants_distributed(model, fasta, vcf, input_length=LENGTH, tasks=["a", "b"],
                                      out_tsv=out, out_vcf=tmp_path / "e.vcf", batch_size=5,
                                      devices=1, accelerator="cpu", strategy="auto")
    table = pd.read_csv(out, sep="\t")
    assert rows == len(table) == 24 and list(table["variant"]) == list(range(24))
    assert (tmp_path / "e.vcf").read_text().count("DNALENS=") == 24


def test_parts_are_merged_in_variant_order(tmp_path):
    parts = [tmp_path / "p0", tmp_path / "p1"]
    parts[0].write_text("0\tx\n1\tx\n4\tx\n")
    parts[1].write_text("2\ty\n3\ty\n10\ty\n")
    assert _merge_parts(parts, tmp_path / "out.tsv", "variant\tv\n") == 6
    lines = (tmp_path / "out.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["variant", "0", "1", "2", "3", "4", "10"]
