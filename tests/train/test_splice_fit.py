"""SpliceAI-80 trained from a gene table on a simulated genome with planted splice signals
finds the sites of a held-out chromosome; the run folder and evaluation table are checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dnalens.config import parse_run_config
from dnalens.data.build import build_data
from dnalens.errors import ConfigError
from dnalens.report.evaluation import write_evaluation
from dnalens.train.fit import model_params, train_run
from dnalens.train.task import make_loss

ACCEPTOR_INTRON_END = "TTCTCTTTCCTCTTTCCAG"  # polypyrimidine tract, then AG | exon
DONOR_INTRON_START = "GTAAGT"                 # exon ...AG | GTAAGT
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def _random(rng: np.random.Generator, n: int) -> str:
    return "".join(np.array(list("ACGT"))[rng.integers(0, 4, n)])


def _gene(rng: np.random.Generator) -> tuple[str, list[tuple[int, int]]]:
    """A transcript (forward orientation) with strong signals; exons as offsets into it."""
    parts, exons, at = [], [], 0
    n_exons = int(rng.integers(3, 6))
    for k in range(n_exons):
        if k:
            intron = _random(rng, int(rng.integers(120, 300)))
            intron = DONOR_INTRON_START + intron[len(DONOR_INTRON_START):
                                                 -len(ACCEPTOR_INTRON_END)] + ACCEPTOR_INTRON_END
            parts.append(intron)
            at += len(intron)
        exon = _random(rng, int(rng.integers(60, 160)))
        if k:
            exon = "G" + exon[1:]            # acceptor: ...CAG | G
        if k < n_exons - 1:
            exon = exon[:-2] + "AG"          # donor: AG | GTAAGT
        parts.append(exon)
        exons.append((at, at + len(exon)))
        at += len(exon)
    return "".join(parts), exons


def write_splice_genome(folder: Path, *, chroms: int = 4, genes_per_chrom: int = 30,
                        seed: int = 0) -> tuple[Path, Path]:
    """FASTA and SpliceAI-style gene table: genes alternate strands, random DNA between."""
    rng = np.random.default_rng(seed)
    records, rows = {}, []
    for c in range(1, chroms + 1):
        seq = _random(rng, 300)
        for g in range(genes_per_chrom):
            body, exons = _gene(rng)
            start = len(seq)
            strand = "+" if g % 2 == 0 else "-"
            if strand == "-":
                body = body.translate(COMPLEMENT)[::-1]
                exons = [(len(body) - e, len(body) - s) for s, e in exons][::-1]
            seq += body + _random(rng, int(rng.integers(200, 400)))
            rows.append([f"g{c}_{g}", f"chr{c}", strand, start, start + len(body),
                         "".join(f"{start + s}," for s, _ in exons),
                         "".join(f"{start + e}," for _, e in exons)])
        records[f"chr{c}"] = seq
    fasta = folder / "genome.fa"
    fasta.write_text("".join(f">{name}\n{seq}\n" for name, seq in records.items()))
    table = folder / "genes.txt"
    pd.DataFrame(rows, columns=["#NAME", "CHROM", "STRAND", "TX_START", "TX_END", "EXON_START",
                                "EXON_END"]).to_csv(table, sep="\t", index=False)
    return fasta, table


def test_categorical_loss_ignores_masked_bases():
    loss = make_loss("categorical")
    logits = torch.tensor([[[2.0, 0.0, 5.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]])  # (1, 3, 3)
    labels = torch.tensor([[0, 1, -1]])
    expected = -(torch.log_softmax(logits[0, :, 0], 0)[0]
                 + torch.log_softmax(logits[0, :, 1], 0)[1]) / 2
    torch.testing.assert_close(loss(logits, labels), expected)


def test_model_params_come_from_the_splice_data(tmp_path):
    fasta, table = write_splice_genome(tmp_path, chroms=1, genes_per_chrom=2)
    raw = {"name": "s", "data": {"genome": str(fasta),
                                 "splice": {"annotation": str(table), "output_length": 500}},
           "model": {"name": "spliceai", "params": {"context": 80, "channels": 8}}}
    config = parse_run_config(raw, tmp_path)
    bundle = build_data(config.data)
    assert model_params(config, bundle) == {"context": 80, "channels": 8, "output_length": 500,
                                            "n_tasks": 3}
    raw["model"]["params"]["output_length"] = 5000
    with pytest.raises(ConfigError, match=r"model.params.output_length \(5000\) differs"):
        model_params(parse_run_config(raw, tmp_path), bundle)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("splice")
    fasta, table = write_splice_genome(folder)
    raw = {"name": "splice80", "seed": 0, "output_dir": str(folder / "runs"),
           "data": {"genome": str(fasta),
                    "splice": {"annotation": str(table), "output_length": 200},
                    "split": {"valid_chroms": ["chr3"], "test_chroms": ["chr4"]}},
           "model": {"name": "spliceai", "params": {"context": 80, "channels": 16}},
           "train": {"max_epochs": 10, "batch_size": 16, "lr": 0.003, "patience": 10,
                     "monitor": "val_topk", "progress_bar": False}}
    config = parse_run_config(raw, folder)
    # Batches of 16 x 280 bp: one thread is as fast, and it does not collapse when other
    # processes share the 2 CI cores (OpenMP threads spinning against each other).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train_run(config), config
    finally:
        torch.set_num_threads(threads)


def test_spliceai80_finds_planted_sites_on_held_out_chromosome(trained):
    result, config = trained
    assert config.train.loss == "categorical"
    assert (result.run_dir / "model.json").exists()
    assert not (result.run_dir / "baseline").exists()   # no k-mer baseline for splice runs
    evaluation, written = write_evaluation(result.run_dir)
    table = evaluation.table.set_index("task")
    assert list(evaluation.table.columns) == ["task", "top_k", "auprc", "auroc", "n_pos",
                                              "n_neg"]
    assert table.loc["acceptor", "n_pos"] >= 10 and table.loc["donor", "n_pos"] >= 10
    # Chance: about n_pos / n_bases (~0.003) for both top-k accuracy and average precision.
    # Measured over genome/training seeds 0-3: top-k 0.76-1.0, average precision 0.83-1.0.
    for site in ("acceptor", "donor"):
        assert table.loc[site, "top_k"] > 0.5, table
        assert table.loc[site, "auprc"] > 0.5, table
    names = {p.name for p in written}
    assert {"evaluation.tsv", "predictions.tsv", "pr.png", "roc.png"} <= names
    saved = pd.read_csv(result.run_dir / "evaluation.tsv", sep="\t")
    assert list(saved["task"]) == ["acceptor", "donor", "mean"]
    sites = pd.read_csv(result.run_dir / "predictions.tsv", sep="\t")
    # Every annotated test site is listed once, at its genome position.
    genes = pd.read_csv(config.data.splice.annotation, sep="\t")
    test_genes = genes[genes["CHROM"] == "chr4"]
    n_sites = sum(len(s.strip(",").split(",")) - 1 for s in test_genes["EXON_START"])
    assert sites["acceptor"].sum() == n_sites == table.loc["acceptor", "n_pos"]
    plus = test_genes[test_genes["STRAND"] == "+"].iloc[0]
    second_exon = int(plus["EXON_START"].split(",")[1])
    row = sites[(sites["pos"] == second_exon) & (sites["chrom"] == "chr4")]
    assert row["acceptor"].tolist() == [1]


def test_report_of_a_splice_run_draws_held_out_genes_and_scored_variants(trained, tmp_path):
    import re

    from dnalens.apply.splice_vcf import score_splice_variants
    from dnalens.apply.tiling import predict_track
    from dnalens.io.annotation import read_annotation
    from dnalens.io.genome import Genome
    from dnalens.models.store import load_model
    from dnalens.report.html import write_report

    result, config = trained
    genome = Genome(config.data.genome)
    genes = read_annotation(config.data.splice.annotation)
    gene = next(g for g in genes if g.chrom == "chr4" and g.strand == "-")
    model = load_model(result.run_dir)
    # The per-base track of a held-out minus-strand gene peaks at its annotated sites.
    track = predict_track(model, genome, "chr4", gene.tx_start, gene.tx_end, strand="-",
                          device="cpu")
    acceptor = track.values[1]
    at_sites = acceptor[gene.acceptors - gene.tx_start]
    assert np.median(at_sites) > 20 * np.median(acceptor)
    # Variants at a donor of that gene, scored into the run folder, are drawn too.
    pos0 = int(gene.donors[0])
    base = genome.fetch("chr4", pos0, pos0 + 1)
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n##contig=<ID=chr4>\n"
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   f"chr4\t{pos0 + 1}\tdonor_hit\t{base}\t{'A' if base != 'A' else 'C'}"
                   "\t.\t.\t.\n")
    score_splice_variants(model, genome, genes, vcf, tmp_path / "o.vcf",
                          out_tsv=result.run_dir / "splice_scores.tsv", device="cpu")
    text = write_report(result.run_dir, out=tmp_path / "report.html").read_text()
    assert "Predicted splice sites along held-out genes" in text
    assert text.count('alt="gene view') == 2
    assert "Exon view: chr4:" in text and "donor_hit" in text
    assert "First-layer filters" not in text
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', text)) >= 4
