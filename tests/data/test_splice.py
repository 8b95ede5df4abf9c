"""Per-base splice labels from a gene table, checked by hand on two tiny transcripts."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from dnalens.config import parse_run_config
from dnalens.data.build import build_data
from dnalens.data.datasets import make_loader
from dnalens.data.splice import SpliceDataset, site_scores, splice_blocks, transcripts_on_genome
from dnalens.errors import ConfigError
from dnalens.io.annotation import read_gene_table
from dnalens.io.genome import Genome
from dnalens.sequence.encoding import decode, reverse_complement

HEADER = "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
# plus:  transcript [5, 25), exons [5,10) [14,18) [21,25): acceptors 14, 21; donors 9, 17.
# minus: transcript [3, 20), exons [3,6) [10,12) [15,20): in transcript order the exons are
#        [15,20) [10,12) [3,6), so donors (last base) are 15, 10 and acceptors (first) 11, 5.
TABLE = HEADER + ("PLUS\t1\t+\t5\t25\t5,14,21,\t10,18,25,\n"
                  "MINUS\t2\t-\t3\t20\t3,10,15,\t6,12,20,\n")
CHR1 = "ACGTTGCAAGGCTTAACCGGTAGCATCGATCGGATCCATG"  # 40 bp
CHR2 = "TTGACCATGGCAAGTCTAGCTAGGCATCGA"            # 30 bp


@pytest.fixture
def tiny(tmp_path, write_fasta):
    fasta = write_fasta(tmp_path / "genome.fa", {"chr1": CHR1, "chr2": CHR2})
    table = tmp_path / "genes.txt"
    table.write_text(TABLE)
    return Genome(fasta), read_gene_table(table), fasta, table


def test_labels_plus_and_minus_strand_by_hand(tiny):
    genome, genes, _, _ = tiny
    transcripts = transcripts_on_genome(genes, genome)
    assert [t.chrom for t in transcripts] == ["chr1", "chr2"]  # '1' -> 'chr1'
    blocks, labels = splice_blocks(transcripts, output_length=8)
    # plus: 20 bases -> 3 blocks of 8 from tx_start; the last 4 labels are past the end.
    # minus: 17 bases -> 3 blocks of 8 from tx_end, in transcript orientation.
    assert blocks[["chrom", "start", "end", "strand", "block"]].values.tolist() == [
        ["chr1", 5, 13, "+", 0], ["chr1", 13, 21, "+", 1], ["chr1", 21, 29, "+", 2],
        ["chr2", 12, 20, "-", 0], ["chr2", 4, 12, "-", 1], ["chr2", -4, 4, "-", 2]]
    expected = np.array([
        [0, 0, 0, 0, 2, 0, 0, 0],          # 5..12: donor 9
        [0, 1, 0, 0, 2, 0, 0, 0],          # 13..20: acceptor 14, donor 17
        [1, 0, 0, 0, -1, -1, -1, -1],      # 21..24: acceptor 21, then past the transcript
        [0, 0, 0, 0, 2, 0, 0, 0],          # 19..12: donor 15
        [1, 2, 0, 0, 0, 0, 1, 0],          # 11..4: acceptor 11, donor 10, acceptor 5
        [0, -1, -1, -1, -1, -1, -1, -1],   # 3, then past the transcript
    ], dtype=np.int8)
    np.testing.assert_array_equal(labels, expected)


def test_inputs_are_n_outside_the_transcript_and_reverse_complemented(tiny):
    genome, genes, _, _ = tiny
    blocks, labels = splice_blocks(transcripts_on_genome(genes, genome), output_length=8)
    dataset = SpliceDataset(genome, blocks, labels, context=4)
    x, y = dataset[0]
    assert x.shape == (4, 12) and x.dtype == torch.float32 and y.dtype == torch.int64
    # plus block 0: genome [3, 15), bases 3 and 4 lie before the transcript.
    assert decode(x) == "NN" + CHR1[5:15]
    # plus block 2: genome [19, 31), the transcript ends at 25.
    assert decode(dataset[2][0]) == CHR1[19:25] + "N" * 6
    # minus block 0: genome [10, 22) reverse complemented, N past tx_end 20.
    assert decode(dataset[3][0]) == "NN" + reverse_complement(CHR2[10:20])
    # minus block 2: genome [-6, 6): only 3..5 is transcript; output 0 (genome 3) sits at
    # input 2, with context/2 = 2 bases before it in transcript orientation.
    assert decode(dataset[5][0]) == reverse_complement(CHR2[3:6]) + "N" * 9
    # The labelled base j of a minus block is genome position end - 1 - j, in the middle of
    # the input: input j + 2 is the complement of that base.
    x, _ = dataset[4]
    assert decode(x)[2:10] == reverse_complement(CHR2[4:12])
    batch_x, batch_y = next(iter(make_loader(dataset, batch_size=6, shuffle=False)))
    assert batch_x.shape == (6, 4, 12) and batch_y.shape == (6, 8)
    torch.testing.assert_close(batch_y, torch.from_numpy(labels).long())


def _config(fasta, table, **split):
    raw = {"name": "splice", "data": {"genome": str(fasta),
                                      "splice": {"annotation": str(table), "output_length": 8},
                                      "split": split},
           "model": {"name": "spliceai", "params": {"context": 80}}}
    return parse_run_config(raw, fasta.parent)


def test_config_builds_splits_by_chromosome(tiny):
    _, _, fasta, table = tiny
    config = _config(fasta, table, test_chroms=["chr2"])
    assert config.train.loss == "categorical" and config.data.splice.context == 80
    bundle = build_data(config.data)
    assert bundle.kind == "splice" and bundle.tasks == ["neither", "acceptor", "donor"]
    assert bundle.input_length == 88
    assert [len(bundle.datasets[s]) for s in ("train", "valid", "test")] == [3, 0, 3]
    assert set(bundle.frames["test"]["name"]) == {"MINUS"}
    assert "train 3 blocks (20 bases, 2 acceptors, 2 donors)" in bundle.summary()


def test_config_errors(tiny):
    _, _, fasta, table = tiny
    raw = {"name": "s", "data": {"genome": str(fasta), "splice": {"annotation": str(table)}},
           "model": {"name": "spliceai", "params": {"context": 80}}, "train": {"loss": "bce"}}
    with pytest.raises(ConfigError, match=re.escape("set train.loss to 'categorical'")):
        parse_run_config(raw, fasta.parent)
    raw["train"] = {}
    raw["data"]["splice"]["context"] = 400
    with pytest.raises(ConfigError, match=r"data.splice.context \(400\) differs from "
                                          r"model.params.context \(80\)"):
        parse_run_config(raw, fasta.parent)
    raw["data"]["splice"] = {"annotation": str(table), "output_lenght": 8}
    with pytest.raises(ConfigError, match="did you mean 'output_length'"):
        parse_run_config(raw, fasta.parent)
    raw["data"]["splice"] = {"annotation": str(table)}
    raw["train"] = {"monitor": "val_auroc"}
    with pytest.raises(ConfigError, match="val_loss, val_topk or val_auprc"):
        parse_run_config(raw, fasta.parent)
    raw["train"] = {}
    raw["data"]["augment"] = {"reverse_complement": True}
    with pytest.raises(ConfigError, match="augment does not apply to 'splice' data"):
        parse_run_config(raw, fasta.parent)


def test_no_transcript_on_the_genome(tiny, tmp_path):
    genome, _, _, _ = tiny
    table = tmp_path / "other.txt"
    table.write_text(HEADER + "X\t7\t+\t5\t25\t5,21,\t10,25,\n")
    message = "no transcript lies on a chromosome of genome.fa"
    with pytest.raises(ConfigError, match=re.escape(message)):
        transcripts_on_genome(read_gene_table(table), genome)


def test_site_scores_drop_ignored_bases():
    labels = np.array([[0, 1, 2, -1]])
    probabilities = np.array([[[0.7, 0.1, 0.2, 0.3], [0.2, 0.8, 0.1, 0.3], [0.1, 0.1, 0.7, 0.4]]])
    y_true, y_score = site_scores(probabilities, labels)
    np.testing.assert_array_equal(y_true, [[0, 0], [1, 0], [0, 1]])
    np.testing.assert_allclose(y_score, [[0.2, 0.1], [0.8, 0.1], [0.1, 0.7]])
