"""``dnalens splice import``: the published SpliceAI models as a dnalens model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dnalens.errors import ConfigError

splice_app = typer.Typer(
    help="SpliceAI splice-site models: import the published Keras weights.",
    no_args_is_help=True,
)


@splice_app.command("import")
def import_(
    out: Annotated[Path, typer.Option(help="Model folder to write (model.json + "
                                           "model.safetensors).", show_default=False)],
    h5: Annotated[list[Path] | None, typer.Argument(
        help="Keras SpliceAI .h5 files (spliceai1.h5 ...); several become one ensemble.",
        show_default=False)] = None,
    from_package: Annotated[bool, typer.Option(
        "--from-package", help="Read spliceai1.h5 .. spliceai5.h5 from the installed spliceai "
        "package (installed by the dnalens 'splice' extra).")] = False,
    each: Annotated[bool, typer.Option(
        "--each", help="Also write every model alone to OUT/<file name>/.")] = False,
) -> None:
    """Convert SpliceAI Keras models into a dnalens model (an ensemble for several files)."""
    from dnalens.models.spliceai import CLASSES
    from dnalens.models.spliceai_keras import LICENCE, import_spliceai, published_h5_paths
    from dnalens.models.store import save_model

    if from_package == bool(h5):
        raise ConfigError("splice import: give either H5 files or --from-package (not both)")
    paths = published_h5_paths() if from_package else list(h5 or [])
    model, provenance = import_spliceai(paths)
    save_model(model, out, tasks=CLASSES, extra=provenance)
    typer.echo(f"{len(paths)} SpliceAI model(s), context {_context(model)} -> {out}", err=True)
    if each and len(paths) > 1:
        for path, member, file in zip(paths, model.members, provenance["files"], strict=True):
            save_model(member, out / path.stem, tasks=CLASSES,
                       extra={**provenance, "files": [file]})
            typer.echo(f"{path.name} -> {out / path.stem}", err=True)
    typer.echo(f"weights licence: {LICENCE}", err=True)


def _context(model: object) -> int:
    members = getattr(model, "members", None)
    return int(getattr(members[0] if members else model, "context", 0))


def register(app: typer.Typer) -> None:
    app.add_typer(splice_app, name="splice")
