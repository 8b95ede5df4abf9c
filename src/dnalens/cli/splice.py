"""``dnalens splice import``: the published SpliceAI models as a dnalens model folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dnalens.errors import ConfigError

splice_app = typer.Typer(
    help="SpliceAI splice-site models: import the published Keras weights, score variants.",
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


@splice_app.command("score")
def score(
    vcf: Annotated[Path, typer.Option(help="Variants (VCF: plain, gzip or bgzip).",
                                      show_default=False)],
    genome: Annotated[Path, typer.Option(help="Reference FASTA.", show_default=False)],
    annotation: Annotated[str, typer.Option(
        help="Transcripts: a SpliceAI gene table, a GTF/GFF, or grch37 / grch38 for the "
        "tables of the installed spliceai package.", show_default=False)],
    out: Annotated[Path, typer.Option(help="Output VCF with INFO/SpliceAI (.vcf or .vcf.gz).",
                                      show_default=False)],
    model: Annotated[Path | None, typer.Option(
        help="Model folder from 'dnalens splice import' (default: import the published "
        "models of the installed spliceai package).")] = None,
    distance: Annotated[int, typer.Option(
        help="Score positions within +-D bases of the variant (SpliceAI's -D).", min=0)] = 50,
    mask: Annotated[bool, typer.Option(
        "--mask", help="Mask gains at annotated sites and losses elsewhere (SpliceAI's -M 1)."
    )] = False,
    out_tsv: Annotated[Path | None, typer.Option(
        help="Also a TSV: one row per allele and transcript, unrounded scores.")] = None,
    report: Annotated[Path | None, typer.Option(
        help="Also an HTML page: the strongest effects and the exon view (ref vs alt "
        "acceptor/donor tracks over the exons) of the top --views variants.")] = None,
    views: Annotated[int, typer.Option(help="Exon views in --report.", min=0)] = 3,
    batch_size: Annotated[int, typer.Option(help="VCF records predicted together.", min=1)
                          ] = 16,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: auto).")] = None,
    devices: Annotated[int | None, typer.Option(
        help="Score on this many devices (GPUs, or CPU processes with --device cpu) through "
        "Lightning's DDP predict loop; the outputs are the same as on one.", min=1,
        show_default=False)] = None,
    num_nodes: Annotated[int, typer.Option(help="Nodes, with --devices per node.", min=1)] = 1,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue an interrupted run from OUT.tmp (its partial output).")
                      ] = False,
) -> None:
    """Delta scores of splice-site gain and loss per variant, in SpliceAI's VCF format:
    ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL."""
    from dnalens.apply.splice_vcf import score_splice_variants
    from dnalens.io.annotation import read_annotation
    from dnalens.io.genome import Genome
    from dnalens.models.store import load_model

    if resume and devices is not None:
        raise ConfigError("--resume works on one device; drop --devices to resume, or start "
                          "again without --resume")
    if model is not None:
        network = load_model(model)
    else:
        from dnalens.models.spliceai_keras import import_spliceai, published_h5_paths

        network, _ = import_spliceai(published_h5_paths())
    reference, genes = Genome(genome), read_annotation(annotation)
    table_path = out_tsv
    if report is not None and table_path is None:
        table_path = out.with_name(f".{out.name}.scores.tsv")
    if devices is not None:
        from dnalens.apply.splice_parallel import score_splice_variants_distributed

        summary = score_splice_variants_distributed(
            network, reference.path, genes, vcf, out, distance=distance, mask=mask,
            out_tsv=table_path, batch_size=batch_size, devices=devices,
            accelerator="auto" if device is None else device.split(":")[0],
            num_nodes=num_nodes)
        if summary is None:  # not rank 0: rank 0 writes the outputs and the report
            return
    else:
        summary = score_splice_variants(network, reference, genes, vcf, out,
                                        distance=distance, mask=mask, out_tsv=table_path,
                                        batch_size=batch_size, device=device, resume=resume)
    typer.echo(summary.describe(), err=True)
    for reason, examples in sorted(summary.examples.items()):
        typer.echo(f"  {reason}: {examples[0]}", err=True)
    if report is not None:
        import pandas as pd

        from dnalens.report.splice_report import write_splice_report

        table = pd.read_csv(table_path, sep="\t")
        if out_tsv is None:
            table_path.unlink()  # the report's own copy of the scores
        write_splice_report(table, network, reference, genes, report, views=views,
                            title=f"Splice variants of {vcf.name}")
        typer.echo(f"report -> {report}", err=True)


def _context(model: object) -> int:
    from dnalens.models.ensemble import core_model

    return int(getattr(core_model(model), "context", 0))


def register(app: typer.Typer) -> None:
    app.add_typer(splice_app, name="splice")
