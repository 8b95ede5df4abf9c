"""``dnalens attribute`` and ``dnalens motifs``: what a trained model looks at."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dnalens.cli.common import bed_windows, run_genome
from dnalens.errors import ConfigError


def task_index(tasks: list[str], task: str | None) -> int:
    """Output column of a task name (default: the first task)."""
    if task is None:
        return 0
    if task not in tasks:
        raise ConfigError(f"--task '{task}' is not an output of the model (it has {tasks})")
    return tasks.index(task)


def attribute(
    run: Annotated[Path, typer.Argument(help="Run folder (or model folder).")],
    bed: Annotated[Path, typer.Option(help="Regions; each is explained on the model's input "
                                           "window at its centre.")],
    out: Annotated[Path, typer.Option(help="Output .npz: names, sequences, one_hot, "
                                           "attributions (n, 4, L).")] = Path("attributions.npz"),
    method: Annotated[str, typer.Option(
        help="saliency, grad_x_input, integrated_gradients or deepshap.")] = "deepshap",
    task: Annotated[str | None, typer.Option(help="Task to explain (default: the first).")
                    ] = None,
    genome: Annotated[Path | None, typer.Option(help="FASTA (default: the run's genome).")
                      ] = None,
    logos: Annotated[int, typer.Option(
        help="Also draw attribution logos of the first N regions next to OUT.")] = 0,
    n_shuffles: Annotated[int, typer.Option(help="DeepSHAP references per sequence.")] = 20,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: auto).")] = None,
) -> None:
    """Per-base attributions (saliency, gradient x input, integrated gradients, DeepSHAP)."""
    from dnalens.interpret.attribution import attribute as explain
    from dnalens.interpret.attribution import save_attributions
    from dnalens.models.store import load_model, read_model_card
    from dnalens.plot.logos import plot_attribution_logo

    card = read_model_card(run)
    x, names = bed_windows(bed, run_genome(run, genome), card.input_length)
    scores = explain(load_model(run), x, method=method, target=task_index(list(card.tasks), task),
                     n_shuffles=n_shuffles, device=device)
    save_attributions(out, x, scores, names)
    typer.echo(f"{len(names):,} regions -> {out}", err=True)
    for i in range(min(logos, len(names))):
        path = out.with_name(f"{out.stem}_{i}.png")
        plot_attribution_logo(scores[i].numpy(), path, title=f"{names[i]} ({method})")
        typer.echo(f"logo -> {path}", err=True)


def motifs(
    run: Annotated[Path, typer.Argument(help="Run folder (or model folder).")],
    bed: Annotated[Path, typer.Option(help="Regions whose sequences activate the filters "
                                           "(for example the peaks of a task).")],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("motifs"),
    database: Annotated[Path | None, typer.Option(
        help="MEME file to match against (default: the bundled JASPAR 2024 clusters).")] = None,
    genome: Annotated[Path | None, typer.Option(help="FASTA (default: the run's genome).")
                      ] = None,
    threshold: Annotated[float, typer.Option(
        help="Activation, as a fraction of each filter's maximum, that counts a site.")] = 0.5,
    top: Annotated[int, typer.Option(help="Matches kept per filter.")] = 3,
    logos: Annotated[int, typer.Option(help="Logos of the N filters with most sites.")] = 12,
    modisco: Annotated[bool, typer.Option(
        "--modisco", help="Also run TF-MoDISco on DeepSHAP attributions of --task "
                          "(needs modisco-lite): patterns.meme, patterns.tsv, logos.")] = False,
    task: Annotated[str | None, typer.Option(help="Task for --modisco (default: the first).")
                    ] = None,
) -> None:
    """First-layer filters as PWMs (filters.meme), their TOMTOM matches (matches.tsv), logos;
    with --modisco, TF-MoDISco patterns of one task and their matches."""
    from dnalens.apply.evaluate import write_table
    from dnalens.interpret.filters import filter_motifs, write_filter_meme
    from dnalens.interpret.matching import tomtom_matches
    from dnalens.io.motifs import jaspar_motifs, read_meme
    from dnalens.models.store import load_model, read_model_card
    from dnalens.plot.logos import plot_pwm_logo

    card = read_model_card(run)
    model = load_model(run)
    x, _ = bed_windows(bed, run_genome(run, genome), card.input_length)
    pwms, sites = filter_motifs(model, x, threshold=threshold)
    out.mkdir(parents=True, exist_ok=True)
    write_filter_meme(out / "filters.meme", pwms)
    reference = read_meme(database) if database is not None else jaspar_motifs()
    active = [m for m, n in zip(pwms, sites, strict=True) if n > 0]
    matches = tomtom_matches(active, reference, top=top)
    matches.insert(1, "n_sites", matches["query"].map(
        {m.name: int(n) for m, n in zip(pwms, sites, strict=True)}))
    write_table(matches, out / "matches.tsv")
    best = matches[matches["rank"] == 1].set_index("query")
    order = sorted(range(len(pwms)), key=lambda i: -sites[i])[:logos]
    for i in order:
        label = best["target"].get(pwms[i].name, "no match")
        plot_pwm_logo(pwms[i], out / f"{pwms[i].name}.png",
                      title=f"{pwms[i].name} ({int(sites[i])} sites): {label}")
    typer.echo(f"{len(active)} active filters; matches -> {out / 'matches.tsv'}", err=True)
    if modisco:
        _modisco_patterns(model, x, list(card.tasks), task, reference, out, top)


def _modisco_patterns(model, x, tasks: list[str], task: str | None, reference, out: Path,
                      top: int) -> None:
    from dnalens.apply.evaluate import write_table
    from dnalens.interpret.discovery import discover_motifs
    from dnalens.interpret.matching import tomtom_matches
    from dnalens.io.motifs import write_meme
    from dnalens.plot.logos import plot_pwm_logo

    target = task_index(tasks, task)
    patterns = discover_motifs(model, x, target=target, prefix=f"{tasks[target]}_pattern")
    if not patterns:
        typer.echo("TF-MoDISco found no pattern", err=True)
        return
    write_meme(patterns, out / "patterns.meme")
    matches = tomtom_matches(patterns, reference, top=top)
    write_table(matches, out / "patterns.tsv")
    best = matches[matches["rank"] == 1].set_index("query")["target"]
    for pattern in patterns:
        plot_pwm_logo(pattern, out / f"{pattern.name}.png",
                      title=f"{pattern.name}: {best.get(pattern.name, 'no match')}")
    typer.echo(f"{len(patterns)} TF-MoDISco patterns -> {out / 'patterns.tsv'}", err=True)


def register(app: typer.Typer) -> None:
    app.command()(attribute)
    app.command()(motifs)
