"""SIGKILL in the middle of `dnalens train`, `variants` and `splice score`, then --resume: no
epoch lost or repeated, the same final weights, the same tables as an uninterrupted run.

The kill is real (SIGKILL: no handler, no clean-up, a half-written line possible) and lands at
a chosen point: a small launcher runs the dnalens command with one method wrapped so that
its K-th call kills the process. A kill timed from outside would land anywhere, or after the
end, on a loaded machine.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from safetensors.torch import load_file

from dnalens.cli.main import main
from planted import run_dict, scoring_inputs, write_planted_genome

LAUNCHER = '''
import os, signal, sys
target, calls = sys.argv[1], int(sys.argv[2])
module_name, _, attribute = target.rpartition(":")
import importlib
module = importlib.import_module(module_name)
owner_name, _, method = attribute.rpartition(".")
owner = getattr(module, owner_name) if owner_name else module
original = getattr(owner, method)
count = [0]
def counting(*args, **kwargs):
    count[0] += 1
    if count[0] == calls:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)
setattr(owner, method, counting)
from dnalens.cli.main import main
raise SystemExit(main(sys.argv[3:]))
'''


def _killed_at(tmp_path: Path, target: str, calls: int, args: list[str]) -> None:
    """Run ``dnalens ARGS`` and SIGKILL it at the ``calls``-th call of ``target``."""
    launcher = tmp_path / "launch_and_kill.py"
    launcher.write_text(LAUNCHER)
    done = subprocess.run([sys.executable, str(launcher), target, str(calls), "-q", *args],
                          capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr[-2000:])


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("kill")
    genome, bed = write_planted_genome(root)
    return root, genome, bed


def _train_config(root: Path, genome: Path, bed: Path, name: str) -> Path:
    raw = run_dict(root, genome, bed, name=name)
    raw["model"]["params"]["dropout"] = 0.2  # draws from the generator resume must restore
    raw["train"].update(max_epochs=5, patience=10, batch_size=16)
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_train_killed_mid_epoch_resumes_to_the_same_weights(planted):
    root, genome, bed = planted
    assert main(["-q", "train", str(_train_config(root, genome, bed, "whole"))]) == 0
    config = _train_config(root, genome, bed, "killed")
    steps = pd.read_csv(root / "runs" / "whole" / "metrics.csv")["step"].max() + 1
    per_epoch = steps // 5
    # Killed in the middle of the third epoch (two epochs and half of one done).
    _killed_at(root, "dnalens.train.task:SequenceTask.training_step",
               2 * per_epoch + per_epoch // 2, ["train", str(config)])
    killed = root / "runs" / "killed"
    assert (killed / "checkpoints" / "last.ckpt").exists()
    assert not (killed / "model.safetensors").exists()
    assert main(["-q", "train", str(config), "--resume"]) == 0
    metrics = {name: pd.read_csv(root / "runs" / name / "metrics.csv")
               for name in ("whole", "killed")}
    epochs = metrics["killed"].dropna(subset=["val_loss"])["epoch"].tolist()
    assert epochs == [0, 1, 2, 3, 4]  # none lost, none twice
    whole = load_file(root / "runs" / "whole" / "model.safetensors")
    resumed = load_file(killed / "model.safetensors")
    assert whole.keys() == resumed.keys()
    for key in whole:  # bit for bit on CPU: the sampler, dropout and optimiser all resume
        assert torch.equal(whole[key], resumed[key]), key


def _alt(base: str) -> str:
    return "ACGT"[("ACGT".index(base) + 1) % 4]


@pytest.fixture(scope="module")
def scoring(planted) -> dict:
    """A trained run, a splice model, genes and a 400-record plain-gzip VCF with faults."""
    root, genome, bed = planted
    s = scoring_inputs(root, genome, bed, name="scorer",
                       exons="100\t39000\t100,20000,\t10000,39000,")
    seq = s["seq"]
    rows = []
    for k, pos in enumerate(range(200, 38_000, 95)):
        rows.append(f"chr1\t{pos + 1}\tv{k}\t{seq[pos]}\t{_alt(seq[pos])}\t.\tPASS\t.")
        if k % 50 == 7:
            rows.append(f"chr1\t{pos + 2}\tbad{k}\tA")  # too few columns: skipped, counted
    vcf = root / "many.vcf.gz"
    vcf.write_bytes(gzip.compress(("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\t"
                                   "FILTER\tINFO\n" + "\n".join(rows) + "\n").encode()))
    return {**s, "vcf": vcf}


def _variants_args(s: dict, out: Path) -> list[str]:
    return ["variants", str(s["run"]), "--vcf", str(s["vcf"]), "--out", str(out / "v.tsv"),
            "--out-vcf", str(out / "v.vcf.gz"), "--batch-size", "16", "--device", "cpu"]


def _splice_args(s: dict, out: Path) -> list[str]:
    return ["splice", "score", "--vcf", str(s["vcf"]), "--genome", str(s["genome"]),
            "--annotation", str(s["genes"]), "--model", str(s["splice_model"]),
            "--out", str(out / "s.vcf.gz"), "--out-tsv", str(out / "s.tsv"),
            "--distance", "10", "--batch-size", "8", "--device", "cpu"]


def _vcf_body(path: Path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        return [line for line in handle if not line.startswith("##")]


@pytest.mark.parametrize(("command", "target", "calls"), [
    ("variants", "dnalens.apply.variant_scoring:PairScorer.__call__", 12),
    ("splice", "dnalens.apply.splice_vcf:_score_batch", 20),
])
def test_scoring_killed_mid_file_resumes_to_identical_outputs(command, target, calls, scoring,
                                                              tmp_path):
    args = _variants_args if command == "variants" else _splice_args
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    whole.mkdir(), killed.mkdir()
    assert main(["-q", *args(scoring, whole)]) == 0
    _killed_at(tmp_path, target, calls, args(scoring, killed))
    partial = [p for p in killed.iterdir() if p.name.endswith(".tmp")]
    assert len(partial) == 1 and partial[0].stat().st_size > 0  # work was done, then lost
    assert main(["-q", *args(scoring, killed), "--resume"]) == 0
    assert [p.name for p in killed.iterdir() if p.name.endswith(".tmp")] == []
    table = "v.tsv" if command == "variants" else "s.tsv"
    pd.testing.assert_frame_equal(pd.read_csv(killed / table, sep="\t"),
                                  pd.read_csv(whole / table, sep="\t"))
    out_vcf = "v.vcf.gz" if command == "variants" else "s.vcf.gz"
    assert _vcf_body(killed / out_vcf) == _vcf_body(whole / out_vcf)
    assert len(pd.read_csv(whole / table, sep="\t")) > 300
