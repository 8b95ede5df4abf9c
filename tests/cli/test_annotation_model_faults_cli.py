"""CLI: a faulty GTF / gene table or model folder given to `dnalens splice score` is one
`error:` line naming the file, exit status 2, no traceback and no output left behind."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from dnalens.cli.main import main
from dnalens.models import build_model, save_model
from dnalens.models.spliceai import CLASSES

GTF_ROW = '7\tsrc\texon\t{}\t{}\t.\t+\t.\tgene_id "G"; transcript_id "T"; gene_name "GENE";\n'


@pytest.fixture
def inputs(tmp_path, write_fasta, write_text):
    seq = "".join(np.random.default_rng(0).choice(list("ACGT"), 600))
    fasta = write_fasta(tmp_path / "g.fa", {"chr7": seq})
    vcf = write_text("v.vcf", "##fileformat=VCFv4.2\n##contig=<ID=chr7>\n"
                     "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                     f"chr7\t151\tv1\t{seq[150]}\t{'A' if seq[150] != 'A' else 'C'}\t.\t.\t.\n")
    torch.manual_seed(0)
    model = save_model(build_model("spliceai", context=80, channels=8), tmp_path / "model",
                       tasks=CLASSES)
    return {"vcf": vcf, "genome": fasta, "model": model}


def _score(inputs, annotation, out):
    return main(["splice", "score", "--vcf", str(inputs["vcf"]), "--genome",
                 str(inputs["genome"]), "--annotation", str(annotation), "--model",
                 str(inputs["model"]), "--out", str(out), "--device", "cpu"])


def _one_error_line(capsys, pattern: str) -> None:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert re.search(pattern, errors[0]), errors[0]


@pytest.mark.parametrize(("text", "pattern"), [
    (GTF_ROW.format(0, 200), r"^error: .*genes\.gtf:1: start \(0\) must be >= 1; GTF/GFF is "
                             r"1-based, inclusive$"),
    (GTF_ROW.format(101, 200).replace("\t+\t", "\t.\t"),
     r"^error: .*genes\.gtf:1: strand \(column 7\) of an exon must be \+ or -; got '\.'$"),
    (GTF_ROW.format(101, 200) + GTF_ROW.format(150, 300),
     r"^error: .*genes\.gtf:2: exons of 'GENE' on lines 1 and 2 overlap$"),
])
def test_faulty_gtf(tmp_path, inputs, capsys, write_text, text, pattern):
    out = tmp_path / "o.vcf.gz"
    assert _score(inputs, write_text("genes.gtf", text), out) == 2
    _one_error_line(capsys, pattern)
    assert not out.exists() and not list(tmp_path.glob("*.tmp*"))


def test_faulty_gene_table_bytes(tmp_path, inputs, capsys):
    table = tmp_path / "genes.txt"
    table.write_bytes("#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
                      "G\u00c9NE\t7\t+\t100\t500\t100,\t500,\n".encode("latin-1"))
    assert _score(inputs, table, tmp_path / "o.vcf.gz") == 2
    _one_error_line(capsys, r"^error: .*genes\.txt:2: not a text gene table \(byte 0xc9")


@pytest.mark.parametrize(("damage", "pattern"), [
    (lambda m: (m / "model.safetensors").write_bytes(
        (m / "model.safetensors").read_bytes()[:100]),
     r"^error: .*model\.safetensors: corrupt or truncated safetensors file"),
    (lambda m: (m / "model.json").write_text('{"format": "dnalens-model",'),
     r"^error: .*model\.json: not valid JSON \(line 1"),
])
def test_faulty_model_folder(tmp_path, inputs, capsys, write_text, damage, pattern):
    damage(inputs["model"])
    genes = write_text("genes.gtf", GTF_ROW.format(101, 200))
    assert _score(inputs, genes, tmp_path / "o.vcf.gz") == 2
    _one_error_line(capsys, pattern)
