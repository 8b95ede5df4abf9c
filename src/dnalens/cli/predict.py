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
    batch_size: Annotated[int, typer.Option(help="Windows per batch.")] = 256,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: auto).")] = None,
) -> None:
    """Predict every task for each region of a BED file; write a TSV."""
    from dnalens.apply.evaluate import write_table
    from dnalens.apply.predict import predict_regions, region_fit_notes
    from dnalens.io.intervals import read_bed
    from dnalens.models.store import load_model, read_model_card

    card = read_model_card(run)
    model = load_model(run)
    reference = run_genome(run, genome)
    regions = read_bed(bed, reference)
    for note in region_fit_notes(regions, reference, card.input_length, str(bed)):
        typer.echo(note, err=True)
    table = predict_regions(model, reference, regions, card.input_length, list(card.tasks),
                            batch_size=batch_size, device=device, probabilities=not logits)
    if out is None:
        table.to_csv(sys.stdout, sep="\t", index=False, float_format="%.5f")
    else:
        write_table(table, out)
        typer.echo(f"{len(table):,} regions -> {out}", err=True)


def register(app: typer.Typer) -> None:
    app.command()(predict)
