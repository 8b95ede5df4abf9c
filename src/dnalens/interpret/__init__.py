"""Explaining trained models: attributions, first-layer filter motifs, motif matching."""

from dnalens.interpret.attribution import METHODS, attribute, save_attributions
from dnalens.interpret.filters import filter_motifs, first_conv, write_filter_meme
from dnalens.interpret.matching import modisco, tomtom_matches

__all__ = [
    "METHODS",
    "attribute",
    "filter_motifs",
    "first_conv",
    "modisco",
    "save_attributions",
    "tomtom_matches",
    "write_filter_meme",
]
