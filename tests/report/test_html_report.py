"""The HTML run report: self-contained, every figure a PNG data URI, renders in Chromium."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import typer
import yaml
from typer.testing import CliRunner

from dnalens.cli.main import main
from planted import run_dict, write_planted_genome

CHROMIUM = Path("/usr/bin/chromium")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    genome, bed = write_planted_genome(root)
    raw = run_dict(root, genome, bed)
    raw["model"] = {"name": "deepsea", "params": {
        "conv_channels": [8, 8], "dropouts": [0.0, 0.0], "hidden": 8, "batch_norm": True}}
    raw["train"].update({"max_epochs": 3})
    path = root / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["-q", "train", str(path)]) == 0  # trains, then evaluates on the test split
    run = root / "runs" / "tiny"
    assert (run / "evaluation.tsv").exists() and (run / "predictions.tsv").exists()
    return run


@pytest.fixture(scope="module")
def report(tiny_run, tmp_path_factory) -> Path:
    from dnalens.interpret.matching import tomtom_matches
    from dnalens.io.motifs import find_motif, jaspar_motifs, write_meme
    from dnalens.report.html import write_report
    from dnalens.report.run_view import RunView

    genome = RunView(tiny_run).genome
    refs = [genome.fetch("chr3", 999, 1000), genome.fetch("chr3", 1999, 2000)]
    alts = ["A" if b != "A" else "C" for b in refs]
    variants = tmp_path_factory.mktemp("variants") / "effects.tsv"
    pd.DataFrame({"variant": [0, 1], "chrom": ["chr3", "chr3"], "pos": [1000, 2000],
                  "id": ["rs1", "rs2"], "ref": refs, "alt": alts, "padded": [0, 0],
                  "motif_ref": [0.2, 0.5], "motif_alt": [0.3, 0.05],
                  "motif_diff": [0.1, -0.45], "motif_log2fc": [0.58, -3.3]}
                 ).to_csv(variants, sep="\t", index=False)
    # What `dnalens motifs --modisco --out RUN/motifs` leaves: one pattern, its matches.
    (tiny_run / "motifs").mkdir(exist_ok=True)
    pattern = find_motif(jaspar_motifs(), "CTCF")
    write_meme([pattern], tiny_run / "motifs" / "patterns.meme")
    tomtom_matches([pattern], jaspar_motifs(), top=2).to_csv(
        tiny_run / "motifs" / "patterns.tsv", sep="\t", index=False)
    path = write_report(tiny_run, n_filters=4, variants_tsv=variants)
    assert path == tiny_run / "report.html"
    return path


def _images(text: str) -> list[str]:
    return re.findall(r"<img\b[^>]*>", text)


def test_every_image_is_an_embedded_png(report):
    text = report.read_text()
    images = _images(text)
    # training, ROC, PR, >= 1 filter logo, attribution and ISM (two rows each)
    assert len(images) >= 8
    for tag in images:
        match = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', tag)
        assert match, tag[:120]
        assert base64.b64decode(match.group(1), validate=True).startswith(PNG_MAGIC)
    # self-contained: nothing fetched from elsewhere
    assert not re.search(r'(src|href)="(https?:|//|file:)', text)
    assert "<link" not in text


def test_report_shows_evaluation_header_and_variants(report, tiny_run):
    text = report.read_text()
    evaluation = pd.read_csv(tiny_run / "evaluation.tsv", sep="\t")
    for value in evaluation[["auroc", "auprc"]].to_numpy().ravel():
        assert f"{value:.4f}" in text
    baseline = pd.read_csv(tiny_run / "evaluation_baseline.tsv", sep="\t")
    assert f"{baseline['auroc'].iloc[0]:.4f}" in text
    for word in ("deepsea", "motif", "First-layer filters", "In-silico mutagenesis",
                 "Attribution of the strongest test sequence", "rs2", "-0.4500"):
        assert word in text, word
    assert text.index("rs2") < text.index("rs1")  # sorted by |diff|
    # The top variant's attribution plot, and the MoDISco pattern with its best match.
    assert 'alt="variant effect"' in text and "chr3:2,000" in text
    modisco = text[text.index("Motifs discovered by TF-MoDISco"):text.index("Top variants")]
    assert len(_images(modisco)) == 1 and "C055" in modisco
    assert not list(tiny_run.glob(".report.html*"))  # no temporary file left


def test_missing_inputs_are_skipped_with_a_note(tiny_run, tmp_path):
    from dnalens.report.html import write_report

    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("model.json", "model.safetensors", "config.yaml"):
        shutil.copy(tiny_run / name, bare / name)
    text = write_report(bare, out=tmp_path / "r.html").read_text()
    assert "No evaluation.tsv" in text
    assert "No predictions.tsv" in text
    assert "No variants table" in text
    assert _images(text) == []


def test_cli_writes_report(tiny_run, tmp_path):
    from dnalens.cli import report as report_cli

    app = typer.Typer()
    report_cli.register(app)
    app.command("noop")(lambda: None)  # keep `report` a subcommand
    out = tmp_path / "page.html"
    result = CliRunner().invoke(app, ["report", str(tiny_run), "--out", str(out),
                                      "--filters", "2"])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<!DOCTYPE html>")


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=90, check=False)


def test_report_renders_in_headless_chromium(report, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium) ; render check skipped")
    shot = tmp_path / "shot.png"
    url = report.resolve().as_uri()
    run = _chromium([f"--screenshot={shot}", "--window-size=1200,3000", url], tmp_path / "p1")
    assert shot.exists(), run.stderr[-2000:]
    assert shot.read_bytes().startswith(PNG_MAGIC)
    assert shot.stat().st_size > 20_000  # a blank page is a few kB

    dom = _chromium(["--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0",
                     "--dump-dom", url], tmp_path / "p2")
    body = re.search(r"<body[^>]*>", dom.stdout)
    assert body, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    n_images = len(_images(report.read_text()))
    loaded = re.search(r'data-loaded="(\d+)"', body.group(0))
    assert loaded and int(loaded.group(1)) == n_images, body.group(0)
