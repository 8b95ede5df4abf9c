"""`dnalens demo` end to end: the planted structure is learned (test AUROC > 0.9) and the
planted JASPAR motifs are recovered from the trained model by TF-MoDISco."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dnalens.cli.main import main

pytestmark = pytest.mark.slow

# The JASPAR 2024 clusters planted by dnalens.data.demo, per task.
PLANTED = {"cell_a": "C055", "cell_b": "C101", "cell_c": "C015", "cell_d": "C036"}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo")
    import io
    from contextlib import redirect_stdout

    printed = io.StringIO()
    with redirect_stdout(printed):
        assert main(["-q", "demo", "--out", str(out)]) == 0
    return out, printed.getvalue()


def test_demo_learns_the_planted_motifs_on_a_held_out_chromosome(demo_run):
    out, printed = demo_run
    run = out / "runs" / "demo"
    assert str(run) in printed.replace("\n", "")
    table = pd.read_csv(run / "evaluation.tsv", sep="\t").set_index("task")
    baseline = pd.read_csv(run / "evaluation_baseline.tsv", sep="\t").set_index("task")
    print(table.round(3).to_string(), baseline.round(3).to_string(), sep="\n")
    assert list(table.index) == ["cell_a", "cell_b", "cell_c", "cell_d", "mean"]
    assert table.loc["mean", "auroc"] > 0.9
    assert (table["auroc"] > 0.8).all()
    # The network learns more than a bag of k-mers.
    assert table.loc["mean", "auroc"] > baseline.loc["mean", "auroc"]
    for name in ("model.safetensors", "model.json", "metrics.csv", "roc.png", "pr.png",
                 "training.png", "variants.tsv", "report.html"):
        assert (run / name).exists(), name


def test_motif_breaking_variants_have_the_largest_effects(demo_run):
    out, _ = demo_run
    table = pd.read_csv(out / "runs" / "demo" / "variants.tsv", sep="\t")
    effect = table[[c for c in table if c.endswith("_diff")]].abs().max(axis=1)
    kind = table["id"].str.split("_").str[0]
    top = kind[effect.sort_values(ascending=False).index[:20]]
    print(table.assign(effect=effect).sort_values("effect").tail(20)[["id", "effect"]])
    assert (top == "break").sum() >= 15
    assert effect[kind == "break"].median() > 20 * effect[kind == "background"].median()
    assert "break_" in (out / "runs" / "demo" / "report.html").read_text()


def test_modisco_recovers_every_planted_motif(demo_run):
    pytest.importorskip("modiscolite", reason="TF-MoDISco needs modisco-lite")
    from dnalens.apply.predict import region_windows
    from dnalens.interpret.discovery import discover_motifs
    from dnalens.interpret.matching import tomtom_matches
    from dnalens.io.genome import Genome
    from dnalens.io.intervals import read_bed
    from dnalens.io.motifs import jaspar_motifs
    from dnalens.models.store import load_model, read_model_card

    out, _ = demo_run
    run = out / "runs" / "demo"
    card, model = read_model_card(run), load_model(run)
    genome = Genome(out / "data" / "genome.fa")
    database = jaspar_motifs()
    best = {}
    for target, task in enumerate(card.tasks):
        peaks = read_bed(out / "data" / "peaks" / f"{task}.narrowPeak", genome)
        held_out = peaks[peaks["chrom"] == "chr4"].head(120)
        x = region_windows(genome, held_out, card.input_length)
        patterns = discover_motifs(model, x, target=target, window=(300, 700), prefix=task)
        matches = tomtom_matches(patterns, database, top=1)
        best[task] = set(matches["target"].str.split(":").str[0])
        print(task, matches[["query", "target", "p_value"]].to_string(index=False))
    for task, cluster in PLANTED.items():
        assert cluster in best[task], (task, best[task])
