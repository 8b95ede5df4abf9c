"""What several commands share: checking given paths, finding the genome of a run, reading
regions as windows."""

from __future__ import annotations

from pathlib import Path

import typer
from torch import Tensor

from dnalens.errors import ConfigError, DnalensError
from dnalens.io.genome import Genome


def existing_file(path: Path, what: str) -> Path:
    """Fail early, in one line, for a path that is not there."""
    if not path.exists():
        raise DnalensError(f"{path}: no such {what}")
    return path


def run_genome(run: Path, genome: Path | None) -> Genome:
    """The genome given on the command line, else the one the run was trained on."""
    from dnalens.report.run_view import RunView

    if genome is not None:
        return Genome(genome)
    try:
        return RunView(run).genome
    except ConfigError as err:
        raise ConfigError(f"{err}; pass --genome") from None


def bed_windows(bed: Path, genome: Genome, input_length: int) -> tuple[Tensor, list[str]]:
    """One-hot windows (n, 4, input_length) centred on each BED region, and their names.

    Regions that are not exactly ``input_length`` long, or whose window runs past a
    chromosome end, are counted and shown (a few per kind) on standard error.
    """
    from dnalens.apply.predict import region_fit_notes, region_windows
    from dnalens.io.intervals import read_bed

    regions = read_bed(bed, genome)
    for note in region_fit_notes(regions, genome, input_length, str(bed)):
        typer.echo(note, err=True)
    names = [f"{c}:{s}-{e}" for c, s, e in zip(regions["chrom"], regions["start"],
                                                regions["end"], strict=True)]
    return region_windows(genome, regions, input_length), names
