"""Files in and out: genomes, intervals, motifs. No torch here."""

from dnalens.io.genome import Genome
from dnalens.io.intervals import read_bed, write_bed

__all__ = ["Genome", "read_bed", "write_bed"]
