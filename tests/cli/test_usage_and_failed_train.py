"""Mistakes on the command line and in a config: one `error:` line (plus where to look), exit
2, and a failed `train` leaves nothing that blocks the retry."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dnalens.cli.main import main
from dnalens.errors import DnalensError
from planted import run_dict, write_planted_genome


@pytest.mark.parametrize(("argv", "error", "hint"), [
    (["nosuchcmd"], "error: No such command 'nosuchcmd'.",
     "Usage: dnalens [OPTIONS] COMMAND [ARGS]...  (see 'dnalens --help')"),
    (["train", "--nosuch", "c.yaml"], "error: No such option: --nosuch",
     "Usage: dnalens train [OPTIONS] {CONFIG}  (see 'dnalens train --help')"),
    (["train"], "error: Missing argument 'CONFIG'.",
     "Usage: dnalens train [OPTIONS] {CONFIG}  (see 'dnalens train --help')"),
    (["variants", "run", "--vcf"], "error: Option '--vcf' requires an argument.",
     "see 'dnalens variants --help'"),
    (["splice", "score", "--vcf"], "error: Option '--vcf' requires an argument.",
     "see 'dnalens splice score --help'"),
    (["variants", "run", "--vcf", "v.vcf", "--out", "o.tsv", "--batch-size", "abc"],
     "error: Invalid value for '--batch-size'",
     "Usage: dnalens variants [OPTIONS] {run}  (see 'dnalens variants --help')"),
])
def test_usage_error_is_one_error_line_and_where_to_look(argv, error, hint, capsys):
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(error) and lines[1] == hint, lines


@pytest.fixture
def config(tmp_path) -> tuple[Path, dict]:
    genome, bed = write_planted_genome(tmp_path)
    raw = run_dict(tmp_path, genome, bed)
    raw["train"]["max_epochs"] = 1
    return tmp_path / "c.yaml", raw


def _train(path: Path, raw: dict, *extra: str) -> int:
    path.write_text(yaml.safe_dump(raw))
    return main(["-q", "train", str(path), *extra])


def test_model_is_checked_before_the_data_and_names_the_key(config, capsys):
    path, raw = config
    raw["model"]["name"] = "deepsee"
    raw["data"]["targets"][0]["bed"] = str(path.parent / "missing.bed")  # not reached
    assert _train(path, raw) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}: model.name: unknown model 'deepsee' (did you mean 'deepsea'?); "
        "known: " + ", ".join(_model_names()))
    assert not (path.parent / "runs").exists()


def _model_names() -> list[str]:
    from dnalens.models.registry import model_names

    return model_names()


@pytest.mark.parametrize(("change", "message"), [
    (lambda raw: raw["model"]["params"].update(hiden_sizes=[8]),
     "model.params.hiden_sizes: not a parameter of mlp (did you mean 'hidden_sizes'?)"),
    (lambda raw: raw["model"]["params"].update(hidden_sizes="x"),
     "model.params.hidden_sizes: must be a list, got str 'x'"),
    (lambda raw: raw["data"]["targets"][0].update(bed="/no/such.bed"),
     "data.targets.0.bed: no such file or folder '/no/such.bed'"),
])
def test_a_failed_train_leaves_no_folder_and_the_fixed_retry_runs(change, message, config,
                                                                   capsys):
    path, raw = config
    good = yaml.safe_load(yaml.safe_dump(raw))
    change(raw)
    assert _train(path, raw) == 2
    assert capsys.readouterr().err.strip().startswith(f"error: {path}: {message}")
    assert not (path.parent / "runs" / "tiny").exists()
    assert _train(path, good) == 0  # neither --resume nor --overwrite needed
    assert (path.parent / "runs" / "tiny" / "model.safetensors").exists()


def test_a_train_that_fails_after_the_folder_is_made_removes_it(config, monkeypatch):
    path, raw = config
    import dnalens.train.fit as fit

    def fail(*args, **kwargs):
        raise DnalensError("peaks.bed:3: a fault found while training")

    monkeypatch.setattr(fit, "_fit_member", fail)
    assert _train(path, raw) == 2
    assert not (path.parent / "runs" / "tiny").exists()
    monkeypatch.undo()
    assert _train(path, raw) == 0


def test_a_run_killed_before_its_first_epoch_is_started_again(config, caplog):
    path, raw = config
    run = path.parent / "runs" / "tiny"
    run.mkdir(parents=True)  # what a SIGKILL during data building leaves
    (run / "config.yaml").write_text(yaml.safe_dump(raw))
    (run / "metrics.csv").write_text("epoch,step\n")
    assert _train(path, raw) == 0
    assert "the earlier attempt finished no epoch; starting again" in caplog.text
    assert (run / "model.safetensors").exists()


def test_a_trained_run_is_kept_and_a_second_train_refused(config, capsys):
    path, raw = config
    assert _train(path, raw) == 0
    capsys.readouterr()
    assert _train(path, raw) == 2
    assert "run folder exists; pass --resume to continue it or --overwrite" in (
        capsys.readouterr().err)
    assert (path.parent / "runs" / "tiny" / "model.safetensors").exists()
