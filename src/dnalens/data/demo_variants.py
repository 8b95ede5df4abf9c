"""Variants for the demo with a known answer: SNVs that break planted motifs, and background.

A trained demo model should give the motif-breaking SNVs much larger effects than SNVs in
background sequence; the demo's report and its test check that it does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dnalens.files import write_text_atomic
from dnalens.io.genome import Genome
from dnalens.io.meme import read_meme

__all__ = ["write_demo_variants"]

_COMPLEMENT = str.maketrans("ACGT", "TGCA")
# Background SNVs keep this far (bp) from every planted motif instance.
_BACKGROUND_GAP = 100


def _break(pwm: np.ndarray, site: str, strand: str) -> tuple[int, str]:
    """Offset (in genome orientation) and ALT base of the most damaging SNV of one site.

    The site is read in the motif's orientation; the column where the site's base is both
    likely and informative is changed to the base the motif likes least there.
    """
    oriented = site if strand == "+" else site.translate(_COMPLEMENT)[::-1]
    rows = np.array(["ACGT".index(b) for b in oriented])
    width = pwm.shape[1]
    probs = pwm[rows, np.arange(width)]
    information = 2 + (pwm * np.log2(np.clip(pwm, 1e-9, 1))).sum(axis=0)
    column = int(np.argmax(probs * information))
    alt = "ACGT"[int(np.argmin(pwm[:, column]))]
    if strand == "+":
        return column, alt
    return width - 1 - column, alt.translate(_COMPLEMENT)


def write_demo_variants(genome_path: Path, planted_tsv: Path, motif_file: Path, chrom: str,
                        out_vcf: Path, *, n_breaks: int = 60, n_background: int = 240,
                        seed: int = 0) -> Path:
    """Write a VCF of motif-breaking and background SNVs on one chromosome.

    Parameters
    ----------
    genome_path, planted_tsv, motif_file : Path
        The demo's ``genome.fa``, ``planted.tsv`` and ``motifs.meme``.
    chrom : str
        Chromosome to place the variants on (the demo's held-out test chromosome).
    out_vcf : Path
        Output VCF (written atomically). IDs are ``break_<motif>_<k>`` (an SNV at the most
        informative base of a planted instance, to the base the motif likes least) or
        ``background_<k>`` (a random SNV at least 100 bp from every planted instance).
    n_breaks, n_background : int
    seed : int

    Returns
    -------
    Path of the VCF.
    """
    rng = np.random.default_rng(seed)
    genome = Genome(genome_path)
    size = genome.check_chrom(chrom)
    motifs = read_meme(motif_file)
    planted = pd.read_csv(planted_tsv, sep="\t")
    planted = planted[planted["chrom"] == chrom].reset_index(drop=True)
    rows = []
    picks = rng.choice(len(planted), min(n_breaks, len(planted)), replace=False)
    for k, i in enumerate(sorted(picks)):
        site = planted.iloc[i]
        motif = motifs[site["motif"]]
        bases = genome.fetch(chrom, int(site["start"]), int(site["end"])).upper()
        offset, alt = _break(motif.pwm, bases, site["strand"])
        if bases[offset] == alt:
            continue
        label = (motif.alt_name or motif.name).replace(" ", "_")
        rows.append((int(site["start"]) + offset, bases[offset], alt, f"break_{label}_{k}"))
    busy = np.zeros(size, dtype=bool)
    for start, end in zip(planted["start"], planted["end"], strict=True):
        busy[max(0, start - _BACKGROUND_GAP) : end + _BACKGROUND_GAP] = True
    free = np.flatnonzero(~busy[1000 : size - 1000]) + 1000
    for k, pos0 in enumerate(sorted(rng.choice(free, n_background, replace=False))):
        ref = genome.fetch(chrom, int(pos0), int(pos0) + 1).upper()
        if ref not in "ACGT":
            continue
        alt = rng.choice([b for b in "ACGT" if b != ref])
        rows.append((int(pos0), ref, str(alt), f"background_{k}"))
    rows.sort()
    lines = ["##fileformat=VCFv4.2", f"##contig=<ID={chrom},length={size}>",
             "##source=dnalens demo: SNVs breaking planted motifs, and background SNVs",
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"{chrom}\t{p + 1}\t{name}\t{ref}\t{alt}\t.\t.\t." for p, ref, alt, name in rows]
    return write_text_atomic(out_vcf, "\n".join(lines) + "\n")
