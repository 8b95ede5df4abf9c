"""What `evaluate` scores: --split auto/all on tables and genomes, regions, and its summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dnalens.apply.evaluate import evaluate_run
from dnalens.apply.evaluate_scope import resolve_split
from dnalens.config import DataConfig, RunConfig, dump_config
from dnalens.errors import ConfigError, CoordinateError, DnalensError
from dnalens.models.registry import build_model
from dnalens.models.store import save_model


def fake_run(root: Path, data: dict, input_length: int, tasks: list[str]) -> Path:
    """A run folder holding an untrained MLP and the config it would have been trained with."""
    run = root / "run"
    save_model(build_model("mlp", input_length=input_length, n_tasks=len(tasks)), run,
               tasks=tasks)
    config = RunConfig.model_validate({"name": "run", "data": data})
    (run / "config.yaml").write_text(dump_config(config))
    return run


def write_table(path: Path, n: int = 50, n_pos: int = 20, split: list[str] | None = None,
                seed: int = 0) -> Path:
    """TSV id/sequence/a (+ split): ``n`` random 20-mers, the first ``n_pos`` labelled 1."""
    rng = np.random.default_rng(seed)
    header = "id\tsequence\ta" + ("\tsplit" if split else "")
    lines = [header]
    for i in range(n):
        seq = "".join(rng.choice(list("ACGT"), 20))
        lines.append(f"s{i}\t{seq}\t{int(i < n_pos)}" + (f"\t{split[i]}" if split else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def table_run(tmp_path) -> Path:
    return fake_run(tmp_path, {"table": {"path": str(write_table(tmp_path / "own.tsv"))}},
                    20, ["a"])


def test_a_new_table_is_evaluated_whole(tmp_path, table_run):
    data = DataConfig.model_validate({"table": {"path": str(write_table(tmp_path / "t.tsv"))}})
    result = evaluate_run(table_run, data, device="cpu")
    assert len(result.labels) == 50
    assert result.table["n_pos"].iloc[0] == 20 and result.table["n_neg"].iloc[0] == 30
    assert result.summary == "evaluated 50 sequences (all of t.tsv), positives per task: a 20"


def test_the_runs_own_table_is_evaluated_on_its_test_split(table_run):
    # Stratified 10%: 2 of the 20 positives and 3 of the 30 negatives.
    result = evaluate_run(table_run, device="cpu")
    assert len(result.labels) == 5
    assert result.summary == ("evaluated 5 sequences (the random 10% test split of own.tsv), "
                              "positives per task: a 2")


def test_a_new_table_with_a_split_column_gives_its_test_rows(tmp_path, table_run):
    split = ["test"] * 7 + ["train"] * 43
    data = DataConfig.model_validate({"table": {"path": str(write_table(
        tmp_path / "t.tsv", split=split))}})
    result = evaluate_run(table_run, data, device="cpu")
    assert len(result.labels) == 7
    assert result.summary == ("evaluated 7 sequences (the 'test' rows of t.tsv), positives per "
                              "task: a 7")
    assert len(evaluate_run(table_run, data, split="all", device="cpu").labels) == 50


def test_own_table_without_a_test_part_says_so(tmp_path):
    run = fake_run(tmp_path, {"table": {"path": str(write_table(tmp_path / "own.tsv"))},
                              "split": {"test_fraction": 0.0}}, 20, ["a"])
    with pytest.raises(DnalensError, match=r"^no examples in the run's 'test' split to "
                                           r"evaluate; choose another with --split"):
        evaluate_run(run, device="cpu")
    assert len(evaluate_run(run, split="all", device="cpu").labels) == 50


def test_unknown_split_is_refused(table_run):
    with pytest.raises(ConfigError, match=r"^--split must be one of auto, train, valid, test, "
                                          r"all; got 'held-out'$"):
        evaluate_run(table_run, split="held-out")


# --- genomes: held-out regions and regions tiled directly ---------------------------------------

@pytest.fixture
def genome_files(tmp_path, write_fasta, dna) -> tuple[Path, Path, Path]:
    genome = write_fasta(tmp_path / "g.fa", {"chr1": dna(4000, 1)})
    bed = tmp_path / "peaks.bed"
    bed.write_text("chr1\t1000\t1150\nchr1\t2050\t2150\n")   # bins [1000,1200), [2000,2200)
    regions = tmp_path / "test.bed"
    regions.write_text("chr1\t1000\t3000\n")
    return genome, bed, regions


def genome_data(genome, bed, regions=None, **windows) -> dict:
    data = {"genome": str(genome), "targets": [{"name": "tf", "bed": str(bed)}],
            "windows": {"bin_size": 200, "input_length": 1000, **windows}}
    if regions is not None:
        data["split"] = {"test_regions": str(regions), "region_selection": "window"}
    return data


def test_own_test_regions_with_window_selection(tmp_path, genome_files):
    genome, bed, regions = genome_files
    run = fake_run(tmp_path, genome_data(genome, bed, regions), 1000, ["tf"])
    result = evaluate_run(run, device="cpu")
    # Whole 1 kb window inside [1000, 3000): bins starting 1400..2400, one positive (2000).
    assert result.examples["start"].tolist() == [1400, 1600, 1800, 2000, 2200, 2400]
    assert result.summary == ("evaluated 6 windows (g.fa tiled at 200 bp; test split: bins "
                              "whose whole input window lies in test.bed), positives per "
                              "task: tf 1")


def test_split_all_with_test_regions_is_refused(tmp_path, genome_files):
    genome, bed, regions = genome_files
    run = fake_run(tmp_path, genome_data(genome, bed, regions), 1000, ["tf"])
    with pytest.raises(ConfigError, match=rf"^{run / 'config.yaml'}: --split all scores every "
                                          r"example and would ignore split.test_regions "
                                          r"\(test.bed\); use --split test"):
        evaluate_run(run, split="all")
    data = DataConfig.model_validate(genome_data(genome, bed, regions))
    with pytest.raises(ConfigError, match=r"^data: --split all scores every example"):
        evaluate_run(run, data, split="all")


def test_a_held_out_region_tiled_directly(tmp_path, genome_files):
    genome, bed, _ = genome_files
    run = fake_run(tmp_path, genome_data(genome, bed), 1000, ["tf"])
    data = DataConfig.model_validate(genome_data(genome, bed, chroms=["chr1:1,001-3,000"]))
    assert resolve_split("auto", data, own=False) == "all"
    result = evaluate_run(run, data, device="cpu")
    assert result.examples["start"].tolist() == list(range(1000, 3000, 200))
    assert result.summary == ("evaluated 10 windows (chr1:1,001-3,000 tiled at 200 bp), "
                              "positives per task: tf 2")


def test_a_region_past_the_genome_is_refused(tmp_path, genome_files):
    genome, bed, _ = genome_files
    run = fake_run(tmp_path, genome_data(genome, bed), 1000, ["tf"])
    data = DataConfig.model_validate(genome_data(genome, bed, chroms=["chr1:3,001-4,100"]))
    with pytest.raises(CoordinateError, match=r"region 'chr1:3,001-4,100' ends past the end "
                                              r"of chr1 \(4,000 bp in g.fa\)"):
        evaluate_run(run, data, device="cpu")


@pytest.mark.parametrize("data, split, args, expected", [
    ({"genome": "g.fa", "splice": {"annotation": "genes.gtf"}, "split": {"test_chroms": ["chr3"]}},
     "test", (12345, {"acceptor": 10, "donor": 11}, 7),
     "evaluated 12,345 labelled bases (in 7 blocks of genes.gtf; test split: chr3), positives "
     "per task: acceptor 10, donor 11"),
    ({"genome": "g.fa", "coverage": {"tracks": "t.tsv", "input_length": 4096}}, "all",
     (12, None, None), "evaluated 12 windows of 4,096 bp (g.fa)"),
    ({"genome": "g.fa", "targets": [{"name": "a", "bed": "b.bed"}],
      "windows": {"mode": "peaks", "chroms": ["chr1", "chr2:1-1000"]}},
     "train", (30, {"a": 4}, None),
     "evaluated 30 windows (chr1, chr2:1-1,000: peak-centred 200 bp bins plus random negatives; "
     "train split), positives per task: a 4"),
])
def test_summaries_of_other_kinds(data, split, args, expected):
    from dnalens.apply.evaluate_scope import describe_evaluation

    n, positives, blocks = args
    assert describe_evaluation(DataConfig.model_validate(data), split, n, positives,
                               n_blocks=blocks) == expected
