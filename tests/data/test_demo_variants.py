"""Demo variants: motif-breaking SNVs lower their site's PWM score; background SNVs keep away
from every planted site."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dnalens.data.demo import make_demo_data
from dnalens.data.demo_variants import write_demo_variants
from dnalens.io.genome import Genome
from dnalens.io.meme import read_meme
from dnalens.io.variants import read_vcf


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = make_demo_data(tmp_path_factory.mktemp("demo"), n_chroms=2, chrom_length=200_000,
                          seed=1)
    vcf = write_demo_variants(data.genome, data.planted, data.motif_file, "chr2",
                              data.root / "variants.vcf", n_breaks=30, n_background=50)
    return data, vcf


def _log_odds(pwm: np.ndarray, site: str) -> float:
    return float(sum(np.log2(pwm["ACGT".index(b), i] / 0.25) for i, b in enumerate(site)))


def test_every_break_lowers_the_planted_site_score(demo):
    data, vcf = demo
    genome = Genome(data.genome)
    records = list(read_vcf(vcf, genome))  # REF is checked against the genome on reading
    motifs = {m.alt_name: m for m in read_meme(data.motif_file).values()}
    planted = pd.read_csv(data.planted, sep="\t")
    breaks = [r for r in records if r.id.startswith("break_")]
    assert len(breaks) >= 25
    for r in breaks:
        site = planted[(planted["chrom"] == r.chrom) & (planted["start"] <= r.pos0)
                       & (planted["end"] > r.pos0)].iloc[0]
        ref_seq = genome.fetch(r.chrom, int(site["start"]), int(site["end"]))
        offset = r.pos0 - int(site["start"])
        alt_seq = ref_seq[:offset] + r.alt + ref_seq[offset + 1 :]
        if site["strand"] == "-":
            flip = str.maketrans("ACGT", "TGCA")
            ref_seq, alt_seq = ref_seq.translate(flip)[::-1], alt_seq.translate(flip)[::-1]
        pwm = motifs[r.id.split("_")[1]].pwm
        assert _log_odds(pwm, alt_seq) < _log_odds(pwm, ref_seq) - 2, r


def test_background_snvs_are_far_from_planted_sites(demo):
    data, vcf = demo
    records = list(read_vcf(vcf, Genome(data.genome)))
    background = [r for r in records if r.id.startswith("background_")]
    assert len(background) == 50
    planted = pd.read_csv(data.planted, sep="\t")
    planted = planted[planted["chrom"] == "chr2"]
    for r in background:
        gap = np.minimum(np.abs(planted["start"] - r.pos0), np.abs(planted["end"] - r.pos0))
        assert gap.min() >= 100
    positions = [r.pos0 for r in records]
    assert positions == sorted(positions)
