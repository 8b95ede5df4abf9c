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
             "schema (other genome, peaks or chromosomes).")] = None,
    split: Annotated[str, typer.Option(
        help="auto, train, valid, test or all (auto: the test split, or all of --data when "
             "it holds no test chromosomes or regions).")] = "auto",
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: RUN, or RUN/eval-<data name> with --data).")] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, cuda:1 ... (default: auto).")
                      ] = None,
) -> None:
    """Per-task AUROC/AUPRC of a trained run (and its k-mer baseline), with ROC/PR curves."""
    from dnalens.config import load_data_config
    from dnalens.report.evaluation import write_evaluation

    data_config = load_data_config(data) if data is not None else None
    if out is None and data is not None:
        out = run / f"eval-{data.stem}"
    result, written = write_evaluation(run, data_config, out_dir=out, split=split,
                                       device=device)
    print_evaluation(result, written)


def register(app: typer.Typer) -> None:
    app.command()(evaluate)
