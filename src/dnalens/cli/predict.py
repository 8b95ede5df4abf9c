"""``dnalens predict RUN --bed regions.bed [--genome G.fa]``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dnalens.cli.common import run_genome
from dnalens.errors import ConfigError


def predict(
    run: Annotated[Path, typer.Argument(help="Run folder (or model folder) to predict with.")],
    bed: Annotated[Path | None, typer.Option(
        help="Regions (BED3+); one prediction per region, from the model's input window at "
             "its centre (track models: one row per output bin across each region).")] = None,
    genome: Annotated[Path | None, typer.Option(
        help="FASTA (default: the genome the run was trained on).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output TSV (default: standard output).")
                   ] = None,
    logits: Annotated[bool, typer.Option("--logits", help="Raw outputs, not probabilities.")
                      ] = False,
    batch_size: Annotated[int | None, typer.Option(
        help="Windows per batch (default: 256, or 8 for track models, whose windows are "
        "long).", min=1, show_default=False)] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: auto).")] = None,
    chrom: Annotated[list[str] | None, typer.Option(
        help="Track models: predict this whole chromosome (repeat for several) into "
             "--bigwig-dir.", show_default=False)] = None,
    bigwig_dir: Annotated[Path | None, typer.Option(
        help="With --chrom: write one bigWig per task here (<task>.bw).",
        show_default=False)] = None,
    overlap_bins: Annotated[int, typer.Option(
        help="Track models: output bins dropped at each window edge, windows overlapping "
             "so that only window centres are kept.", min=0)] = 0,
    region: Annotated[str | None, typer.Option(
        help="Contact-map models: chrom:start-end; the map of the model window centred on "
             "it is written to --cool.", show_default=False)] = None,
    cool: Annotated[Path | None, typer.Option(help="With --region: output .cool file.",
                                              show_default=False)] = None,
) -> None:
    """Predict every task for each region of a BED file; write a TSV.

    Models with one output per window give one row per region. Track models (SpliceAI,
    Basenji, Enformer) give one row per output bin (per base for SpliceAI, with class
    probabilities) across each whole region, tiling windows as needed; a BED strand of '-'
    predicts on the reverse complement."""
    from dnalens.apply.predict import predict_regions, region_fit_notes
    from dnalens.apply.tiling import predict_region_tracks, track_layout
    from dnalens.io.intervals import read_bed
    from dnalens.models.store import load_model, read_model_card

    card = read_model_card(run)
    model = load_model(run)
    reference = run_genome(run, genome)
    if chrom or region:
        _whole(model, card, reference, chrom, bigwig_dir, overlap_bins, region, cool,
               batch_size, device)
        return
    if bed is None:
        raise ConfigError("predict: give --bed, --chrom with --bigwig-dir, or --region with "
                          "--cool")
    regions = read_bed(bed, reference)
    if track_layout(model) is not None:
        table = predict_region_tracks(model, reference, regions, list(card.tasks),
                                      overlap_bins=overlap_bins, batch_size=batch_size or 8,
                                      device=device)
        _write(table, out, f"{len(regions):,} regions, {len(table):,} bins")
        return
    for note in region_fit_notes(regions, reference, card.input_length, str(bed)):
        typer.echo(note, err=True)
    table = predict_regions(model, reference, regions, card.input_length, list(card.tasks),
                            batch_size=batch_size or 256, device=device,
                            probabilities=not logits)
    _write(table, out, f"{len(table):,} regions")


def _whole(model, card, reference, chroms, bigwig_dir, overlap_bins, region, cool, batch_size,
           device) -> None:
    """--chrom to bigWigs, or --region to a .cool."""
    from dnalens.apply.tiling import predict_bigwigs, predict_contact_map, track_layout

    if chroms:
        if bigwig_dir is None:
            raise ConfigError("predict --chrom needs --bigwig-dir")
        if track_layout(model) is None:
            raise ConfigError(f"predict --chrom: a {card.name} model has one output per window; "
                              "whole-chromosome tracks need a track model (basenji, enformer, "
                              "spliceai)")
        for name in chroms:
            reference.check_chrom(name)
        paths = predict_bigwigs(model, reference, list(chroms), bigwig_dir, list(card.tasks),
                                overlap_bins=overlap_bins, batch_size=batch_size or 8,
                                device=device, progress=True)
        typer.echo(f"{len(chroms)} chromosome(s) -> {', '.join(str(p) for p in paths)}",
                   err=True)
    if region:
        from dnalens.io.contacts import write_cool
        from dnalens.io.intervals import parse_region

        if cool is None:
            raise ConfigError("predict --region needs --cool")
        name, start, end = parse_region(region, reference)
        first, maps = predict_contact_map(model, reference, name, (start + end) // 2,
                                          device=device)
        from dnalens.models.ensemble import core_model

        bin_size = int(core_model(model).bin_size)
        path = write_cool(cool, reference.chrom_sizes, bin_size, name, first, maps[0])
        size = maps.shape[-1] * bin_size
        typer.echo(f"{name}:{first:,}-{first + size:,} ({maps.shape[-1]} bins) -> {path}",
                   err=True)


def _write(table, out: Path | None, what: str) -> None:
    from dnalens.apply.evaluate import write_table

    if out is None:
        table.to_csv(sys.stdout, sep="\t", index=False, float_format="%.5f")
    else:
        write_table(table, out)
        typer.echo(f"{what} -> {out}", err=True)


def register(app: typer.Typer) -> None:
    app.command()(predict)
