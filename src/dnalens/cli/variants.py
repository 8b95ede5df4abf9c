"""``dnalens variants RUN --vcf in.vcf.gz --out effects.tsv [--genome G.fa] [--out-vcf ...]``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dnalens.cli.common import run_genome


def variants(
    run: Annotated[Path, typer.Argument(help="Run folder (or model folder) to score with.")],
    vcf: Annotated[Path, typer.Option(help="Variants (VCF: plain, gzip or bgzip); multi-allelic "
                                           "records are scored per ALT allele.")],
    out: Annotated[Path, typer.Option(help="Output TSV: per task ref, alt, diff, log2fc.")],
    genome: Annotated[Path | None, typer.Option(
        help="FASTA (default: the genome the run was trained on).")] = None,
    out_vcf: Annotated[Path | None, typer.Option(
        help="Also write a VCF (.vcf or .vcf.gz) with the effects in INFO/DNALENS.")] = None,
    both_strands: Annotated[bool, typer.Option(
        "--both-strands", help="Average with the reverse-complement strand.")] = False,
    logits: Annotated[bool, typer.Option("--logits", help="Raw outputs, not probabilities.")
                      ] = False,
    batch_size: Annotated[int, typer.Option(help="Variants per batch.")] = 128,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue an interrupted run from OUT.tmp.")] = False,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: auto).")] = None,
    fast: Annotated[bool, typer.Option(
        "--fast/--full", help="Reuse each reference pass and compute SNV/MNV alleles "
        "incrementally (conv stacks such as DeepSEA and Basset; others run in full), or run "
        "both windows through the model in full.")] = True,
    devices: Annotated[int | None, typer.Option(
        help="Score on this many devices (GPUs, or CPU processes with --device cpu) through "
        "Lightning's predict loop under DDP: one process per device, started by re-running "
        "this command; see docs in dnalens.apply.variant_parallel for nodes and SLURM.",
        min=1)] = None,
    num_nodes: Annotated[int, typer.Option(help="Nodes, with --devices per node.", min=1)] = 1,
    window_bp: Annotated[int | None, typer.Option(
        help="Coverage models: sum each track over this many bp centred on the variant "
             "(default: the whole output).", min=1, show_default=False)] = None,
    genes: Annotated[Path | None, typer.Option(
        help="Coverage models: a BED of gene spans; each variant is scored over every gene "
             "containing it (one row per gene).", show_default=False)] = None,
    maps: Annotated[Path | None, typer.Option(
        help="Contact-map models: also save every variant's ref and alt maps (.npz).",
        show_default=False)] = None,
) -> None:
    """Score the effect of each VCF variant on every task of a trained model.

    Coverage models (basenji, enformer): per track, predicted coverage summed over the
    output (or --window-bp, or each gene of --genes) for ref and alt, diff and log2fc.
    Contact-map models (akita, deepc): per map, Akita's SCD, the largest and the mean change."""
    from dnalens.apply.variants import score_variants
    from dnalens.io.variants import read_vcf
    from dnalens.models.ensemble import core_model
    from dnalens.models.store import load_model, read_model_card

    card = read_model_card(run)
    model = load_model(run)
    reference = run_genome(run, genome)
    kind = getattr(core_model(model), "output_kind", None)
    if kind in ("coverage", "contact_map", "contact_strip"):
        _long_range(model, card, reference, vcf, out, kind, window_bp, genes, maps,
                    both_strands, device)
        return
    # Models trained with 'bce' give logits; other losses (mse, poisson) are scored raw.
    probabilities = not logits and card.extra.get("loss", "bce") == "bce"
    if devices is not None:
        _distributed(model, card, reference, vcf, out, out_vcf, batch_size, both_strands,
                     probabilities, fast, devices, num_nodes, device, resume)
        return
    records = read_vcf(vcf, reference)
    summary = score_variants(model, reference, records, input_length=card.input_length,
                             tasks=list(card.tasks), out_tsv=out, out_vcf=out_vcf,
                             batch_size=batch_size, both_strands=both_strands,
                             probabilities=probabilities, device=device, resume=resume,
                             fast="auto" if fast else False)
    typer.echo(records.summary.describe(), err=True)
    for reason, examples in sorted(records.summary.examples.items()):
        typer.echo(f"  {reason}: {examples[0]}", err=True)
    typer.echo(summary.describe(), err=True)
    if out_vcf is not None:
        typer.echo(f"VCF with INFO/DNALENS -> {out_vcf}", err=True)


def _long_range(model, card, reference, vcf, out, kind, window_bp, genes, maps, both_strands,
                device) -> None:
    """Variant effects of coverage and contact-map models (apply.variant_longrange and
    apply.variant_contacts)."""
    from dnalens.apply.variant_contacts import contact_variant_effects
    from dnalens.apply.variant_longrange import coverage_variant_effects
    from dnalens.io.intervals import read_bed
    from dnalens.io.variants import read_vcf

    records = read_vcf(vcf, reference)
    if kind == "coverage":
        gene_table = read_bed(genes, reference) if genes is not None else None
        summary = coverage_variant_effects(model, reference, records, out,
                                           window_bp=window_bp, genes=gene_table,
                                           tasks=list(card.tasks), device=device,
                                           both_strands=both_strands, progress=None)
    else:
        summary = contact_variant_effects(model, reference, records, out, maps_npz=maps,
                                          tasks=list(card.tasks), device=device,
                                          progress=None)
    typer.echo(summary.describe(), err=True)
    for reason, examples in sorted(summary.examples.items()):
        typer.echo(f"  {reason}: {examples[0]}", err=True)


def _distributed(model, card, reference, vcf, out, out_vcf, batch_size, both_strands,
                 probabilities, fast, devices, num_nodes, device, resume) -> None:
    """``--devices N``: Lightning's predict loop under DDP (the same table)."""
    from dnalens.apply.variant_parallel import score_variants_distributed
    from dnalens.errors import ConfigError

    if resume:
        raise ConfigError("--resume works on one device; drop --devices to resume, or start "
                          "again without --resume")
    accelerator = "auto" if device is None else device.split(":")[0]
    rows = score_variants_distributed(
        model, reference.path, vcf, input_length=card.input_length, tasks=list(card.tasks),
        out_tsv=out, out_vcf=out_vcf, batch_size=batch_size, both_strands=both_strands,
        probabilities=probabilities, fast="auto" if fast else False, devices=devices,
        accelerator=accelerator, num_nodes=num_nodes)
    if rows is not None:  # rank 0
        typer.echo(f"{rows:,} variants scored on {devices} device(s) x {num_nodes} node(s) "
                   f"-> {out}", err=True)


def register(app: typer.Typer) -> None:
    app.command()(variants)
