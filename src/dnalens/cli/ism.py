"""``dnalens ism RUN --bed regions.bed``: saturation mutagenesis of regions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dnalens.cli.common import bed_windows, run_genome


def ism(
    run: Annotated[Path, typer.Argument(help="Run folder (or model folder).")],
    bed: Annotated[Path, typer.Option(help="Regions; each is mutated over the model's input "
                                           "window at its centre.")],
    out: Annotated[Path, typer.Option(help="Output .npz: names, sequences, one_hot, delta "
                                           "(n, tasks, 4, L).")] = Path("ism.npz"),
    genome: Annotated[Path | None, typer.Option(help="FASTA (default: the run's genome).")
                      ] = None,
    task: Annotated[str | None, typer.Option(help="Only this task (default: all).")] = None,
    heatmaps: Annotated[int, typer.Option(
        help="Also draw ISM heatmaps of the first N regions next to OUT.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Mutants per batch.")] = 256,
    naive: Annotated[bool, typer.Option(
        "--naive", help="Run every mutant through the whole model (no fast path).")] = False,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: auto).")] = None,
) -> None:
    """Change of every output for all 3L single-base substitutions of each region's window."""
    import numpy as np

    from dnalens.apply.mutagenesis import ism as mutagenesis
    from dnalens.apply.predict import default_device
    from dnalens.cli.interpret import task_index
    from dnalens.files import write_atomic
    from dnalens.models.store import load_model, read_model_card
    from dnalens.plot.logos import plot_ism_heatmap
    from dnalens.sequence import decode

    card = read_model_card(run)
    tasks = list(card.tasks)
    x, names = bed_windows(bed, run_genome(run, genome), card.input_length)
    model = load_model(run, device=str(device or default_device()))
    columns = [task_index(tasks, task)] if task is not None else list(range(len(tasks)))
    delta = mutagenesis(model, x, target=columns, batch_size=batch_size,
                        fast=False if naive else "auto")
    out.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"names": np.array(names), "sequences": np.array(decode(x)), "one_hot": x.numpy(),
              "delta": delta.numpy(), "tasks": np.array([tasks[c] for c in columns])}

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a handle, so numpy adds no .npz suffix
            np.savez_compressed(handle, **arrays)

    write_atomic(out, save)
    typer.echo(f"{len(names):,} regions x {len(columns)} task(s) -> {out}", err=True)
    for i in range(min(heatmaps, len(names))):
        path = out.with_name(f"{out.stem}_{i}.png")
        plot_ism_heatmap(delta[i, 0].numpy(), path, title=f"{names[i]}: {tasks[columns[0]]}")
        typer.echo(f"heatmap -> {path}", err=True)


def register(app: typer.Typer) -> None:
    app.command()(ism)
