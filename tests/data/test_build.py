"""build_data end to end on a small synthetic genome: example counts per split and labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from dnalens.config import DataConfig
from dnalens.data.build import build_data
from dnalens.errors import ConfigError, ContigError, DnalensError
from dnalens.sequence import one_hot

# chr1 has an N run at [3000, 3600): with 200-bp bins and 400-bp windows the bins starting at
# 3000, 3200 and 3400 see more than half N and are dropped; 2800 and 3600 see 100 N and stay.
N_RUN = (3000, 3600)

BED6 = (
    "chr1\t1000\t1150\tCTCF\t0\t+\n"   # bin [1000, 1200): 150/200 covered -> positive
    "chr1\t2050\t2150\tREST\t0\t+\n"   # bin [2000, 2200): exactly half -> positive
    "chr2\t500\t590\tCTCF\t0\t+\n"     # bin [400, 600): 90/200 -> negative
    "chr3\t0\t400\tCTCF\t0\t+\n"       # bins [0, 200) and [200, 400) -> positive
)


@pytest.fixture
def genome_path(tmp_path, write_fasta, dna):
    chr1 = dna(4000, 21)
    chr1 = chr1[: N_RUN[0]] + "N" * (N_RUN[1] - N_RUN[0]) + chr1[N_RUN[1] :]
    return write_fasta(tmp_path / "genome.fa",
                       {"chr1": chr1, "chr2": dna(2000, 22), "chr3": dna(2000, 23)})


@pytest.fixture
def bed(write_text):
    return write_text("peaks.bed", BED6)


def genome_config(genome_path, bed, **overrides) -> DataConfig:
    raw = {
        "genome": str(genome_path),
        "targets": [{"name": "ctcf", "bed": str(bed), "where": {"name": "CTCF"}},
                    {"name": "rest", "bed": str(bed), "where": {"name": "REST"}}],
        "windows": {"bin_size": 200, "input_length": 400},
        "split": {"valid_chroms": ["chr2"], "test_chroms": ["chr3"]},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return DataConfig.model_validate(raw)


def positives(frame: pd.DataFrame, task: str) -> list[tuple]:
    hits = frame[frame[task] == 1]
    return [(c, int(s)) for c, s in zip(hits["chrom"], hits["start"], strict=True)]


def test_tile_mode_counts_and_labels(genome_path, bed):
    bundle = build_data(genome_config(genome_path, bed))
    assert bundle.tasks == ["ctcf", "rest"]
    assert bundle.input_length == 400
    assert {k: len(v) for k, v in bundle.datasets.items()} == {"train": 17, "valid": 10, "test": 10}
    train = bundle.frames["train"]
    assert list(train.columns) == ["chrom", "start", "end", "ctcf", "rest"]
    assert set(train["start"]) == set(range(0, 4000, 200)) - {3000, 3200, 3400}
    assert positives(train, "ctcf") == [("chr1", 1000)]
    assert positives(train, "rest") == [("chr1", 2000)]
    assert positives(bundle.frames["valid"], "ctcf") == []
    assert positives(bundle.frames["test"], "ctcf") == [("chr3", 0), ("chr3", 200)]
    assert bundle.summary() == ("2 task(s), input 400 bp; train 17 (2 positive labels), valid 10 "
                                "(0 positive labels), test 10 (2 positive labels)")


def test_examples_are_the_windows_of_their_bins(genome_path, bed):
    bundle = build_data(genome_config(genome_path, bed))
    for split in ("train", "test"):
        frame, dataset = bundle.frames[split], bundle.datasets[split]
        x, y = dataset.__getitems__(list(range(len(dataset))))
        for i, (chrom, start, end) in enumerate(frame[["chrom", "start", "end"]].itertuples(
                index=False)):
            centre = (start + end) // 2
            torch.testing.assert_close(x[i], one_hot(bundle.genome.fetch(chrom, centre - 200,
                                                                         centre + 200)))
        np.testing.assert_array_equal(y.numpy(), frame[["ctcf", "rest"]].to_numpy(np.float32))


def test_blacklist_drops_overlapping_bins(genome_path, bed, write_text):
    blacklist = write_text("blacklist.bed", "chr1\t0\t450\nchr2\t1900\t2000\n")
    bundle = build_data(genome_config(genome_path, bed, blacklist=str(blacklist)))
    assert len(bundle.datasets["train"]) == 14
    assert bundle.frames["train"]["start"].min() == 600
    assert len(bundle.datasets["valid"]) == 9


def test_empty_blacklist_is_allowed(genome_path, bed, write_text):
    blacklist = write_text("blacklist.bed", "")
    bundle = build_data(genome_config(genome_path, bed, blacklist=str(blacklist)))
    assert len(bundle.datasets["train"]) == 17


def test_chroms_restrict_the_tiling(genome_path, bed):
    bundle = build_data(genome_config(genome_path, bed, windows={"chroms": ["chr1", "chr3"]}))
    assert {k: len(v) for k, v in bundle.datasets.items()} == {"train": 17, "valid": 0, "test": 10}


def test_only_some_splits_built(genome_path, bed):
    bundle = build_data(genome_config(genome_path, bed), splits=("test",))
    assert {k: len(v) for k, v in bundle.datasets.items()} == {"train": 0, "valid": 0, "test": 10}
    assert bundle.datasets["train"].labels.shape == (0, 2)


def test_all_as_test(genome_path, bed):
    bundle = build_data(genome_config(genome_path, bed), all_as_test=True)
    assert {k: len(v) for k, v in bundle.datasets.items()} == {"train": 0, "valid": 0, "test": 37}


def test_all_as_test_with_nothing_left_is_an_error(genome_path, bed):
    config = genome_config(genome_path, bed,
                           windows={"max_n_fraction": 0.0, "input_length": 100_000})
    with pytest.raises(DnalensError, match=r"no examples: every bin was dropped"):
        build_data(config, all_as_test=True)


def test_augmentation_only_for_training(genome_path, bed):
    bundle = build_data(genome_config(genome_path, bed, augment={"reverse_complement": True,
                                                                 "max_shift": 3}), seed=4)
    train, valid = bundle.datasets["train"], bundle.datasets["valid"]
    assert (train.reverse_complement, train.max_shift, train.seed) == (True, 3, 4)
    assert (valid.reverse_complement, valid.max_shift) == (False, 0)


def test_peaks_mode_without_negatives(genome_path, bed):
    config = genome_config(genome_path, bed, windows={"mode": "peaks",
                                                      "negatives_per_positive": 0})
    bundle = build_data(config)
    train = bundle.frames["train"]
    # Peak midpoints 1075 and 2100 give bins [975, 1175) and [2000, 2200).
    assert train[["chrom", "start", "end", "ctcf", "rest"]].values.tolist() == [
        ["chr1", 975, 1175, 1.0, 0.0], ["chr1", 2000, 2200, 0.0, 1.0]]
    assert len(bundle.datasets["valid"]) == len(bundle.datasets["test"]) == 10  # eval_mode tile


def test_peaks_mode_in_evaluation_too(genome_path, bed):
    config = genome_config(genome_path, bed, windows={"mode": "peaks", "eval_mode": "peaks",
                                                      "negatives_per_positive": 0})
    bundle = build_data(config)
    # chr2's 90-bp peak gives a bin that is not labelled positive (45% covered).
    assert bundle.frames["valid"].values.tolist() == [["chr2", 445, 645, 0.0, 0.0]]
    assert bundle.frames["test"].values.tolist() == [["chr3", 100, 300, 1.0, 0.0]]


def test_peaks_mode_with_negatives_is_seeded_and_in_bounds(genome_path, bed):
    config = genome_config(genome_path, bed, windows={"mode": "peaks", "negatives_per_positive": 5})
    first = build_data(config, seed=1).frames["train"]
    again = build_data(config, seed=1).frames["train"]
    pd.testing.assert_frame_equal(first, again)
    assert len(first) > 2
    assert (first["chrom"] == "chr1").all()
    assert first["start"].min() >= 0
    assert first["end"].max() <= 4000
    assert {(975, 1175), (2000, 2200)} <= set(zip(first["start"], first["end"], strict=True))
    assert not build_data(config, seed=2).frames["train"].equals(first)


NARROWPEAK_PLUS = (
    "#chrom\tstart\tend\tname\tscore\tstrand\tsignalValue\tpValue\tqValue\tsummit\tcell\ttf\n"
    "chr1\t1000\t1300\t.\t0\t.\t1\t-1\t1\t100\tK562\tCTCF\n"
    "chr1\t2000\t2400\t.\t0\t.\t1\t-1\t1\t50\tHepG2\tCTCF\n"
    "chr1\t2500\t2700\t.\t0\t.\t1\t-1\t1\t100\tK562\tREST\n"
    "chr3\t500\t900\t.\t0\t.\t1\t-1\t1\t-1\tK562\tCTCF\n"
)


def test_where_filters_columns_named_by_a_hash_chrom_header(genome_path, write_text):
    table = write_text("peaks.tsv", NARROWPEAK_PLUS)
    config = DataConfig.model_validate({
        "genome": str(genome_path),
        "targets": [{"name": "ctcf", "bed": str(table), "where": {"tf": "CTCF"}},
                    {"name": "k562_ctcf", "bed": str(table),
                     "where": {"tf": "CTCF", "cell": "K562"}},
                    {"name": "summit100", "bed": str(table), "where": {"summit": 100}},
                    {"name": "rest", "bed": str(table), "where": {"tf": "REST"}}],
        "windows": {"mode": "peaks", "eval_mode": "peaks", "negatives_per_positive": 0,
                    "bin_size": 200, "input_length": 400},
        "split": {"valid_chroms": ["chr2"], "test_chroms": ["chr3"]},
    })
    bundle = build_data(config)
    # Bins centre on summits (1100, 2050, 2600) or, for summit -1, on the midpoint (700).
    assert bundle.frames["train"].values.tolist() == [
        ["chr1", 1000, 1200, 1.0, 1.0, 1.0, 0.0],
        ["chr1", 1950, 2150, 1.0, 0.0, 0.0, 0.0],
        ["chr1", 2500, 2700, 0.0, 0.0, 1.0, 1.0],
    ]
    assert bundle.frames["test"].values.tolist() == [["chr3", 600, 800, 1.0, 1.0, 0.0, 0.0]]
    assert len(bundle.datasets["valid"]) == 0


def test_where_with_an_unknown_column(genome_path, write_text):
    table = write_text("peaks.tsv", NARROWPEAK_PLUS)
    config = DataConfig.model_validate({
        "genome": str(genome_path),
        "targets": [{"name": "x", "bed": str(table), "where": {"tissue": "liver"}}]})
    with pytest.raises(ConfigError, match=r"targets 'x': peaks\.tsv has no column 'tissue' \(has "
                                          r"\['chrom', 'start', 'end', 'name'"):
        build_data(config)


def test_where_matching_nothing(genome_path, write_text):
    table = write_text("peaks.tsv", NARROWPEAK_PLUS)
    config = DataConfig.model_validate({
        "genome": str(genome_path),
        "targets": [{"name": "x", "bed": str(table), "where": {"tf": "NOPE"}}]})
    with pytest.raises(ConfigError, match=r"targets 'x': no peak in peaks\.tsv matches "
                                          r"\{'tf': 'NOPE'\}"):
        build_data(config)


def test_ensembl_names_in_the_bed(genome_path, write_text):
    bed = write_text("peaks.bed", BED6.replace("chr", ""))
    bundle = build_data(genome_config(genome_path, bed))
    assert positives(bundle.frames["train"], "ctcf") == [("chr1", 1000)]
    with pytest.raises(ContigError, match="which names it 'chr1'"):
        build_data(genome_config(genome_path, bed, rename_contigs=False))


def test_chrom_map(genome_path, write_text):
    bed = write_text("peaks.bed", BED6.replace("chr1", "first"))
    bundle = build_data(genome_config(genome_path, bed, chrom_map={"first": "chr1"}))
    assert positives(bundle.frames["train"], "rest") == [("chr1", 2000)]


def test_unknown_held_out_chromosome(genome_path, bed):
    with pytest.raises(ContigError, match=r"chromosome 'chr9' is not in genome\.fa"):
        build_data(genome_config(genome_path, bed, split={"valid_chroms": ["chr9"]}))


def test_split_by_regions(tmp_path, write_fasta, dna, write_text):
    genome_path = write_fasta(tmp_path / "one.fa", {"chr1": dna(6000, 31)})
    bed = write_text("one.bed", "chr1\t1000\t1200\ta\t0\t+\n")
    valid = write_text("valid.bed", "chr1\t1000\t2000\n")
    test = write_text("test.bed", "chr1\t4000\t5000\n")
    config = DataConfig.model_validate({
        "genome": str(genome_path),
        "targets": [{"name": "a", "bed": str(bed)}],
        "windows": {"bin_size": 200, "input_length": 400},
        "split": {"valid_regions": str(valid), "test_regions": str(test)},
    })
    bundle = build_data(config)
    starts = {split: bundle.frames[split]["start"].tolist() for split in ("train", "valid", "test")}
    assert starts["valid"] == [1000, 1200, 1400, 1600, 1800]
    assert starts["test"] == [4000, 4200, 4400, 4600, 4800]
    # Bins 800 and 2000 (windows [700, 1100) and [1900, 2300)) would see valid bases;
    # 3800 and 5000 test bases.
    dropped = {800, 2000, 3800, 5000}
    assert starts["train"] == [s for s in range(0, 6000, 200)
                               if s not in dropped | set(starts["valid"]) | set(starts["test"])]
    assert positives(bundle.frames["valid"], "a") == [("chr1", 1000)]


@pytest.fixture
def table_tsv(write_text):
    rng = np.random.default_rng(0)
    lines = ["id\tsequence\tlabel"]
    for i in range(20):
        seq = "".join(rng.choice(list("acgt"), size=int(rng.integers(8, 13))))
        lines.append(f"s{i}\t{seq}\t{i % 2}")
    return write_text("table.tsv", "\n".join(lines) + "\n")


def test_table_mode_random_split(table_tsv):
    config = DataConfig.model_validate({"table": {"path": str(table_tsv)},
                                        "split": {"valid_fraction": 0.2, "test_fraction": 0.2}})
    bundle = build_data(config, seed=0)
    assert bundle.tasks == ["label"]
    assert bundle.genome is None
    table = pd.read_csv(table_tsv, sep="\t")
    assert bundle.input_length == table["sequence"].str.len().max()
    sizes = {k: len(v) for k, v in bundle.datasets.items()}
    assert sizes == {"train": 12, "valid": 4, "test": 4}
    for split in ("valid", "test"):
        assert bundle.frames[split]["label"].sum() == 2  # stratified: 2 of each class
    ids = [i for s in ("train", "valid", "test") for i in bundle.frames[s]["id"]]
    assert sorted(ids) == sorted(table["id"])
    # Each example is its sequence, upper-cased and centred in N padding.
    sequences = dict(zip(table["id"], table["sequence"].str.upper(), strict=True))
    frame, dataset = bundle.frames["train"], bundle.datasets["train"]
    x, y = dataset.__getitems__(list(range(len(dataset))))
    for i, name in enumerate(frame["id"]):
        seq = sequences[name]
        pad = bundle.input_length - len(seq)
        expected = "N" * (pad // 2) + seq + "N" * (pad - pad // 2)
        torch.testing.assert_close(x[i], one_hot(expected))
        assert y[i, 0] == frame["label"].iloc[i]


def test_table_mode_split_column_and_length(write_text):
    path = write_text("t.tsv", "id\tsequence\tlabel\tsplit\n"
                               "a\tACGTACGT\t1\ttrain\nb\tGGGG\t0\tvalid\nc\tTTAA\t1\ttest\n"
                               "d\tCCCC\t0\ttrain\n")
    config = DataConfig.model_validate({"table": {"path": str(path), "length": 6}})
    bundle = build_data(config)
    assert bundle.input_length == 6
    assert {k: v["id"].tolist() for k, v in bundle.frames.items()} == {
        "train": ["a", "d"], "valid": ["b"], "test": ["c"]}
    x, _ = bundle.datasets["train"][0]
    torch.testing.assert_close(x, one_hot("CGTACG"))


def test_table_mode_fasta_and_labels(write_text):
    fasta = write_text("seqs.fa", ">a\nACGT\n>b\nGGCC\n>c\nTTAA\n")
    labels = write_text("labels.tsv", "id\tlabel\na\t1\nb\t0\nc\t1\n")
    config = DataConfig.model_validate({"table": {"path": str(fasta), "labels": str(labels)}})
    bundle = build_data(config, all_as_test=True)
    assert bundle.frames["test"]["id"].tolist() == ["a", "b", "c"]
    assert len(bundle.datasets["train"]) == 0
    x, y = bundle.datasets["test"].__getitems__([0, 1, 2])
    torch.testing.assert_close(x, one_hot(["ACGT", "GGCC", "TTAA"]))
    torch.testing.assert_close(y, torch.tensor([[1.0], [0.0], [1.0]]))
