"""``dnalens train CONFIG.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dnalens.cli.output import print_evaluation


def train(
    config: Annotated[Path, typer.Argument(
        metavar="CONFIG", help="Run config (YAML); see configs/ for examples.")],
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue an interrupted run from its last checkpoint.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Delete an existing run folder of the same name first.")] = False,
    evaluate: Annotated[bool, typer.Option(
        "--evaluate/--no-evaluate", help="Evaluate on the test split afterwards.")] = True,
) -> None:
    """Train the model a config describes; write the run folder (model, metrics, evaluation)."""
    from dnalens.config import load_run_config
    from dnalens.report.evaluation import write_evaluation
    from dnalens.train.fit import train_run

    run_config = load_run_config(config)
    result = train_run(run_config, resume=resume, overwrite=overwrite, source=str(config))
    typer.echo(f"model saved in {result.run_dir}")
    if evaluate and len(result.bundle.datasets["test"]) > 0:
        evaluation, written = write_evaluation(result.run_dir)
        print_evaluation(evaluation, written)


def register(app: typer.Typer) -> None:
    app.command()(train)
