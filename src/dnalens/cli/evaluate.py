"""``dnalens evaluate RUN [--data DATA.yaml]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dnalens.cli.output import print_evaluation


def evaluate(
    run: Annotated[Path, typer.Argument(help="Run folder written by `dnalens train`.")],
    data: Annotated[Path | None, typer.Option(
        help="Evaluate on another dataset: a YAML with a `data:` section in the run-config "
             "schema (other genome, peaks or chromosomes). Regions in windows.chroms, "
             "e.g. 'chr2:1,300,001-1,750,000', are 1-based, inclusive, as in samtools.")
    ] = None,
    split: Annotated[str, typer.Option(
        help="auto, train, valid, test or all. auto: the run's own test split; with --data, "
             "its test split if it names one (split.test_chroms, split.test_regions or a "
             "'split' column in its table), else all of it (a new table is scored whole). "
             "all: every example; refused with split.test_regions (use test, or give the "
             "region in windows.chroms).")] = "auto",
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: RUN, or RUN/eval-<data name> with --data).")] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1 ... (default: auto).")
                      ] = None,
) -> None:
    """Per-task AUROC/AUPRC of a trained run (and its k-mer baseline), with ROC/PR curves.

    Prints first what it scored: how many examples, which, and the positives per task.
    """
    from dnalens.apply.evaluate_scope import resolve_split
    from dnalens.config import load_data_config
    from dnalens.report.evaluation import write_evaluation

    data_config = load_data_config(data) if data is not None else None
    if data_config is not None:
        resolve_split(split, data_config, own=False, source=str(data))  # errors name the file
    if out is None and data is not None:
        out = run / f"eval-{data.stem}"
    result, written = write_evaluation(run, data_config, out_dir=out, split=split,
                                       device=device)
    typer.echo(result.summary)
    print_evaluation(result, written)


def register(app: typer.Typer) -> None:
    app.command()(evaluate)
