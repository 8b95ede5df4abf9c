"""`dnalens splice score`: VCF with INFO/SpliceAI, the TSV and the HTML report with exon views."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pysam
import torch

from dnalens.cli.main import main
from dnalens.models import build_model, save_model
from dnalens.models.spliceai import CLASSES

HEADER = "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"


def test_splice_score_writes_vcf_tsv_and_report(tmp_path, write_fasta, write_text):
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), 600))
    fasta = write_fasta(tmp_path / "g.fa", {"chr7": seq})
    genes = write_text("genes.txt", HEADER + "GENE\t7\t+\t100\t500\t100,250,400,\t200,300,500,\n")
    rows = [f"chr7\t{p + 1}\tv{p}\t{seq[p]}\t{'ACGT'[('ACGT'.index(seq[p]) + 1) % 4]}"
            for p in (150, 249, 300, 450)]
    rows.append("chr7\t20\tintergenic\t" + seq[19] + "\tA" if seq[19] != "A" else
                "chr7\t20\tintergenic\tA\tC")
    vcf = write_text("v.vcf", "##fileformat=VCFv4.2\n##contig=<ID=chr7>\n"
                     "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                     + "".join(r + "\t.\t.\t.\n" for r in rows))
    torch.manual_seed(0)
    model = save_model(build_model("spliceai", context=80, channels=8), tmp_path / "model",
                       tasks=CLASSES)
    out, tsv, report = tmp_path / "o.vcf.gz", tmp_path / "o.tsv", tmp_path / "r.html"
    code = main(["splice", "score", "--vcf", str(vcf), "--genome", str(fasta), "--annotation",
                 str(genes), "--model", str(model), "--out", str(out), "--out-tsv", str(tsv),
                 "--report", str(report), "--distance", "10", "--views", "2", "--device", "cpu"])
    assert code == 0
    with pysam.VariantFile(str(out)) as result:
        infos = {r.id: r.info.get("SpliceAI") for r in result}
    assert infos["intergenic"] is None
    for name in ("v150", "v249", "v300", "v450"):
        (entry,) = infos[name]
        fields = entry.split("|")
        assert fields[1] == "GENE" and len(fields) == 10
        assert all(-10 <= int(p) <= 10 for p in fields[6:])
    table = pd.read_csv(tsv, sep="\t")
    assert list(table["id"]) == ["v150", "v249", "v300", "v450"]
    text = report.read_text()
    assert text.count("Exon view:") == 2
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', text)) == 2


def test_splice_score_devices_writes_the_same_vcf(tmp_path, write_fasta, write_text):
    rng = np.random.default_rng(3)
    seq = "".join(rng.choice(list("ACGT"), 600))
    fasta = write_fasta(tmp_path / "g.fa", {"chr7": seq})
    genes = write_text("genes.txt", HEADER + "GENE\t7\t-\t100\t500\t100,250,\t200,500,\n")
    rows = [f"chr7\t{p + 1}\tv{p}\t{seq[p]}\t{'ACGT'[('ACGT'.index(seq[p]) + 1) % 4]}"
            for p in (120, 199, 260, 480)]
    vcf = write_text("v.vcf", "##fileformat=VCFv4.2\n##contig=<ID=chr7>\n"
                     "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                     + "".join(r + "\t.\t.\t.\n" for r in rows))
    torch.manual_seed(1)
    model = save_model(build_model("spliceai", context=80, channels=8), tmp_path / "model",
                       tasks=CLASSES)
    common = ["splice", "score", "--vcf", str(vcf), "--genome", str(fasta), "--annotation",
              str(genes), "--model", str(model), "--distance", "10", "--device", "cpu"]
    assert main([*common, "--out", str(tmp_path / "a.vcf")]) == 0
    assert main([*common, "--out", str(tmp_path / "b.vcf"), "--devices", "1"]) == 0
    with pysam.VariantFile(str(tmp_path / "a.vcf")) as a, \
            pysam.VariantFile(str(tmp_path / "b.vcf")) as b:
        left, right = [r.info.get("SpliceAI") for r in a], [r.info.get("SpliceAI") for r in b]
    assert left == right and all(entry is not None for entry in left)
