"""The command line: one-line errors with exit status 2, train/evaluate/predict outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from dnalens.cli.main import main
from planted import run_dict, write_planted_genome


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_missing_config_is_one_line_error(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.yaml")]) == 2
    assert _error_line(capsys) == f"error: {tmp_path / 'nope.yaml'}: no such config file"


def test_typo_in_config_key_names_it(tmp_path, capsys):
    genome, bed = write_planted_genome(tmp_path)
    raw = run_dict(tmp_path, genome, bed)
    raw["train"]["max_epoch"] = 3
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["train", str(path)]) == 2
    assert _error_line(capsys) == (
        f"error: {path}: unknown key 'train.max_epoch' (did you mean 'max_epochs'?)")


def test_unknown_chromosome_in_split(tmp_path, capsys):
    genome, bed = write_planted_genome(tmp_path)
    raw = run_dict(tmp_path, genome, bed)
    raw["data"]["split"]["test_chroms"] = ["chr9"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["train", str(path)]) == 2
    assert "chromosome 'chr9' is not in genome.fa" in _error_line(capsys)


def test_corrupt_model_file(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.json").write_text("{not json")
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t0\t10\n")
    assert main(["predict", str(run), "--bed", str(bed), "--genome", "x.fa"]) == 2
    assert "model.json" in _error_line(capsys)


def test_debug_shows_the_traceback(tmp_path):
    from dnalens.errors import InputFileError

    with pytest.raises(InputFileError):
        main(["--debug", "train", str(tmp_path / "nope.yaml")])


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    genome, bed = write_planted_genome(root)
    raw = run_dict(root, genome, bed)
    raw["train"]["max_epochs"] = 2
    path = root / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["-q", "train", str(path)]) == 0
    return root / "runs" / "tiny", genome, bed


def test_train_writes_evaluation_table_and_curves(trained_run):
    run, _, _ = trained_run
    table = pd.read_csv(run / "evaluation.tsv", sep="\t")
    assert list(table.columns) == ["task", "auroc", "auprc", "n_pos", "n_neg"]
    assert table["task"].tolist() == ["motif"]
    assert table["n_pos"].iloc[0] > 0 and table["n_neg"].iloc[0] > 0
    for name in ("roc.png", "pr.png", "training.png", "evaluation_baseline.tsv"):
        assert (run / name).stat().st_size > 0, name


def test_evaluate_on_another_dataset(trained_run, tmp_path):
    run, _, _ = trained_run
    genome, bed = write_planted_genome(tmp_path, seed=7)
    data = tmp_path / "other.yaml"
    data.write_text(yaml.safe_dump({"data": {
        "genome": str(genome), "targets": [{"name": "motif", "bed": str(bed)}],
        "windows": {"bin_size": 50, "input_length": 100, "chroms": ["chr1"]}}}))
    assert main(["-q", "evaluate", str(run), "--data", str(data)]) == 0
    table = pd.read_csv(run / "eval-other" / "evaluation.tsv", sep="\t")
    # Every tiled bin of chr1 of the new genome is evaluated (split 'all').
    assert table["n_pos"].iloc[0] + table["n_neg"].iloc[0] == 40_000 // 50


def test_predict_writes_one_row_per_region(trained_run, tmp_path):
    run, _, _ = trained_run
    regions = tmp_path / "regions.bed"
    regions.write_text("chr1\t100\t200\tfirst\nchr3\t39950\t40000\tat_the_end\n")
    out = tmp_path / "pred.tsv"
    assert main(["-q", "predict", str(run), "--bed", str(regions), "--out", str(out)]) == 0
    table = pd.read_csv(out, sep="\t")
    assert table.shape[0] == 2 and "motif" in table.columns
    assert table["motif"].between(0, 1).all()


def test_predict_region_past_chromosome_end_is_an_error(trained_run, tmp_path, capsys):
    run, _, _ = trained_run
    regions = tmp_path / "regions.bed"
    regions.write_text("chr1\t39990\t40010\n")
    assert main(["predict", str(run), "--bed", str(regions)]) == 2
    assert "ends past the end of chr1 (40,000 bp" in _error_line(capsys)
