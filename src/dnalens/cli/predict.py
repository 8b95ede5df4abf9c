"""``dnalens predict RUN --bed regions.bed [--genome G.fa]``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dnalens.cli.common import run_genome


def predict(
    run: Annotated[Path, typer.Argument(help="Run folder (or model folder) to predict with.")],
    bed: Annotated[Path, typer.Option(help="Regions (BED3+); one prediction per region, "
                                           "from the model's input window at its centre.")],
    genome: Annotated[Path | None, typer.Option(
        help="FASTA (default: the genome the run was trained on).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output TSV (default: standard output).")
                   ] = None,
    logits: Annotated[bool, typer.Option("--logits", help="Raw outputs, not probabilities.")
                      ] = False,
    batch_size: Annotated[int | None, typer.Option(
        help="Windows per batch (default: 256, or 8 for track models, whose windows are "
        "long).", min=1, show_default=False)] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: auto).")] = None,
) -> None:
    """Predict every task for each region of a BED file; write a TSV.

    Models with one output per window give one row per region. Track models (SpliceAI,
    Basenji, Enformer) give one row per output bin (per base for SpliceAI, with class
    probabilities) across each whole region, tiling windows as needed; a BED strand of '-'
    predicts on the reverse complement."""
    from dnalens.apply.predict import predict_regions, region_fit_notes
    from dnalens.apply.tiling import predict_region_tracks, track_layout
    from dnalens.io.intervals import read_bed
    from dnalens.models.store import load_model, read_model_card

    card = read_model_card(run)
    model = load_model(run)
    reference = run_genome(run, genome)
    regions = read_bed(bed, reference)
    if track_layout(model) is not None:
        table = predict_region_tracks(model, reference, regions, list(card.tasks),
                                      batch_size=batch_size or 8, device=device)
        _write(table, out, f"{len(regions):,} regions, {len(table):,} bins")
        return
    for note in region_fit_notes(regions, reference, card.input_length, str(bed)):
        typer.echo(note, err=True)
    table = predict_regions(model, reference, regions, card.input_length, list(card.tasks),
                            batch_size=batch_size or 256, device=device,
                            probabilities=not logits)
    _write(table, out, f"{len(table):,} regions")


def _write(table, out: Path | None, what: str) -> None:
    from dnalens.apply.evaluate import write_table

    if out is None:
        table.to_csv(sys.stdout, sep="\t", index=False, float_format="%.5f")
    else:
        write_table(table, out)
        typer.echo(f"{what} -> {out}", err=True)


def register(app: typer.Typer) -> None:
    app.command()(predict)
