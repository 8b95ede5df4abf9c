"""`dnalens evaluate`: what it scored is printed; split and region faults are one error line."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from dnalens.cli.main import main
from dnalens.models.registry import build_model
from dnalens.models.store import save_model


@pytest.fixture
def files(tmp_path, write_fasta, dna):
    """A fake run (untrained MLP over 20-mers) and a 50-row table with 20 positives."""
    rows = ["id\tsequence\ta"] + [f"s{i}\t{dna(20, i)}\t{int(i < 20)}" for i in range(50)]
    table = tmp_path / "t.tsv"
    table.write_text("\n".join(rows) + "\n")
    run = tmp_path / "run"
    save_model(build_model("mlp", input_length=20, n_tasks=1), run, tasks=["a"])
    (run / "config.yaml").write_text(yaml.safe_dump({"name": "run", "data": {
        "table": {"path": str(table)}}}))
    genome = write_fasta(tmp_path / "g.fa", {"chr1": dna(4000, 1)})
    return run, table, genome


def write_yaml(path, data):
    path.write_text(yaml.safe_dump({"data": data}))
    return path


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


def test_a_table_is_evaluated_whole_and_the_count_printed(tmp_path, files, capsys):
    run, table, _ = files
    data = write_yaml(tmp_path / "new.yaml", {"table": {"path": str(table)}})
    assert main(["-q", "evaluate", str(run), "--data", str(data), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "evaluated 50 sequences (all of t.tsv), positives per task: a 20\n" in out
    scored = pd.read_csv(run / "eval-new" / "evaluation.tsv", sep="\t")
    assert (scored["n_pos"].iloc[0], scored["n_neg"].iloc[0]) == (20, 30)


def test_split_all_with_test_regions_names_the_file(tmp_path, files, capsys):
    run, _, genome = files
    regions = tmp_path / "test.bed"
    regions.write_text("chr1\t1000\t3000\n")
    data = write_yaml(tmp_path / "held.yaml", {
        "genome": str(genome), "targets": [{"name": "a", "bed": str(regions)}],
        "split": {"test_regions": str(regions)}})
    assert main(["evaluate", str(run), "--data", str(data), "--split", "all"]) == 2
    assert one_error_line(capsys) == (
        f"error: {data}: --split all scores every example and would ignore "
        "split.test_regions (test.bed); use --split test to score the bins in those regions, "
        "or tile a region directly with windows.chroms (e.g. ['chr2:1,300,001-1,750,000'])")


@pytest.mark.parametrize("chroms, message", [
    (["chr1:0-100"], "r.yaml: windows.chroms: 'chr1:0-100': start must be >= 1"),
    (["chr1:3,001-4,100"], "data.windows.chroms: region 'chr1:3,001-4,100' ends past the end "
                           "of chr1 (4,000 bp in g.fa)"),
    (["chr1:1,000-x"], "data.windows.chroms: 'chr1:1,000-x' is not a region chrom:start-end"),
])
def test_bad_regions_are_one_error_line(tmp_path, files, capsys, chroms, message):
    run, _, genome = files
    bed = tmp_path / "p.bed"
    bed.write_text("chr1\t100\t200\n")
    data = write_yaml(tmp_path / "r.yaml", {
        "genome": str(genome), "targets": [{"name": "a", "bed": str(bed)}],
        "windows": {"bin_size": 10, "input_length": 20, "chroms": chroms}})
    assert main(["evaluate", str(run), "--data", str(data)]) == 2
    assert message in one_error_line(capsys)


def test_unknown_split_is_one_error_line(files, capsys):
    run, _, _ = files
    assert main(["evaluate", str(run), "--split", "heldout"]) == 2
    assert one_error_line(capsys) == ("error: --split must be one of auto, train, valid, test, "
                                      "all; got 'heldout'")
