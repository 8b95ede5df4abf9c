"""``dnalens report RUN``: one self-contained HTML page about a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dnalens.cli.common import existing_file


def report(
    run: Annotated[Path, typer.Argument(help="Run folder (after `dnalens evaluate` for the "
                                             "evaluation and interpretation sections).")],
    out: Annotated[Path | None, typer.Option(help="Output HTML (default: RUN/report.html).")
                   ] = None,
    variants: Annotated[Path | None, typer.Option(
        help="Output of `dnalens variants` to list the strongest effects "
             "(default: RUN/variants.tsv when present).")] = None,
    filters: Annotated[int, typer.Option(help="First-layer filters shown as logos.")] = 8,
    splice: Annotated[Path | None, typer.Option(
        help="Splice runs: the --out-tsv of `dnalens splice score` to show the strongest "
             "effects and their exon views (default: RUN/splice_scores.tsv when present)."
    )] = None,
) -> None:
    """HTML report: training curves, evaluation against the k-mer baseline, filter logos
    with JASPAR matches, attribution and ISM of the strongest test sequence, top variants.
    Splice runs: top-k accuracy, predicted sites along held-out genes over their exons, and
    the exon views of scored splice variants."""
    from dnalens.report.html import write_report

    existing_file(run, "run folder")
    if variants is not None:
        existing_file(variants, "variants table")
    if splice is not None:
        existing_file(splice, "splice scores table")
    path = write_report(run, out=out, n_filters=filters, variants_tsv=variants,
                        splice_tsv=splice)
    typer.echo(f"report -> {path}", err=True)


def register(app: typer.Typer) -> None:
    app.command()(report)
