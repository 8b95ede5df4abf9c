"""The long-range demo: files open, and the planted answers are where truth.json says."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig
import pysam
import pytest

from dnalens.alphabet import encode_codes
from dnalens.data.demo_longrange import LongRangeDemo, write_longrange_demo
from dnalens.errors import ConfigError
from dnalens.io.motifs import jaspar_motifs

cooler = pytest.importorskip("cooler")

N_CHROMS, LENGTH, SEED, RES = 2, 200_000, 3, 2048
BEDPE = ["chrom1", "start1", "end1", "chrom2", "start2", "end2", "label"]
BACKGROUND = np.array([0.295, 0.205, 0.205, 0.295])  # A, C, G, T of the demo background


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> LongRangeDemo:
    out = tmp_path_factory.mktemp("longrange")
    return write_longrange_demo(out, seed=SEED, n_chroms=N_CHROMS, chrom_length=LENGTH)


@pytest.fixture(scope="module")
def truth(demo) -> dict:
    return json.loads(demo.truth.read_text())


@pytest.fixture(scope="module")
def codes(demo) -> dict[str, np.ndarray]:
    with pysam.FastaFile(str(demo.genome)) as fasta:
        return {chrom: encode_codes(fasta.fetch(chrom)) for chrom in fasta.references}


@pytest.fixture(scope="module")
def pairs(demo) -> pd.DataFrame:
    return pd.read_csv(demo.bedpe, sep="\t", comment="#", header=None, names=BEDPE)


def log_odds(label: str, truth: dict) -> np.ndarray:
    """Integer log2-odds (units of 0.01 bit) of a planted motif, as the demo scores it."""
    motif = jaspar_motifs()[truth["motifs"][label]["name"]]
    return np.round(motif.log_odds(BACKGROUND) * 100)


def threshold(label: str, truth: dict) -> float:
    return round(truth["motifs"][label]["threshold_bits"] * 100)


def score(seq: np.ndarray, table: np.ndarray, strand: str) -> float:
    """Score of the motif at ``seq`` (codes, length = width) read on ``strand``."""
    if strand == "-":
        seq = 3 - seq[::-1]
    return float(table[seq, np.arange(table.shape[1])].sum())


def all_scores(seq: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Forward-strand score at every position (N scores -inf), shape (len - width + 1,)."""
    width = table.shape[1]
    padded = np.vstack([table, np.full((1, width), -np.inf)])
    kmers = np.lib.stride_tricks.sliding_window_view(seq, width)
    return padded[kmers, np.arange(width)].sum(axis=1)


def file_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def domain_of(position: int, boundaries: list[int]) -> int:
    index = int(np.searchsorted(boundaries, position, side="right")) - 1
    return index if 0 <= index < len(boundaries) - 1 else -1


# --------------------------------------------------------------------------- files


def test_files_exist_and_open(demo):
    chroms = ["chr1", "chr2"]
    assert demo.chrom_sizes == {c: LENGTH for c in chroms}
    assert (demo.resolution, demo.seed) == (RES, SEED)
    with pysam.FastaFile(str(demo.genome)) as fasta:
        assert list(fasta.references) == chroms and list(fasta.lengths) == [LENGTH] * 2
    tracks = pd.read_csv(demo.tracks_tsv, sep="\t")
    assert list(tracks.columns) == ["name", "file", "summary", "transform"]
    assert list(tracks.name) == list(demo.bigwigs) == ["enhancer_a", "enhancer_b", "ctcf"]
    assert set(tracks["summary"]) == {"mean"} and set(tracks["transform"]) == {"none"}
    for name, file in zip(tracks.name, tracks.file, strict=True):
        assert demo.tracks_tsv.parent / file == demo.bigwigs[name]
        bw = pyBigWig.open(str(demo.bigwigs[name]))
        assert bw.chroms() == demo.chrom_sizes
        assert len(bw.values("chr2", 0, LENGTH, numpy=True)) == LENGTH
        bw.close()
    clr = cooler.Cooler(str(demo.cool))
    assert clr.binsize == RES and list(clr.chromnames) == chroms
    assert dict(clr.chromsizes) == demo.chrom_sizes
    assert "weight" in clr.bins().columns
    assert clr.matrix(balance=True).fetch("chr1").shape == (-(-LENGTH // RES),) * 2


def test_boundaries_are_bin_edges_and_domains_in_range(demo, truth):
    for chrom, bounds in demo.boundaries.items():
        assert bounds == truth["chroms"][chrom]["boundaries"]
        assert len(bounds) >= 3 and all(b % RES == 0 for b in bounds)
        sizes = np.diff(bounds)
        assert sizes.min() >= 8 * RES and sizes.max() <= 0.3 * LENGTH + RES


def test_gap_is_n_in_the_genome_and_nan_after_balancing(demo, truth, codes):
    clr = cooler.Cooler(str(demo.cool))
    weights = clr.bins()[:]["weight"].to_numpy()
    expected_nan = []
    offset = 0
    for chrom, seq in codes.items():
        start, end = truth["chroms"][chrom]["gap"]
        assert (seq[start:end] == 4).all() and (seq[:start] < 4).all() and (seq[end:] < 4).all()
        expected_nan += list(range(offset + start // RES, offset + end // RES))
        offset += -(-LENGTH // RES)
    assert np.flatnonzero(np.isnan(weights)).tolist() == expected_nan


# --------------------------------------------------------------------------- CTCF


def test_ctcf_sites_are_convergent_and_score_high(truth, codes):
    table = log_odds("CTCF", truth)
    minimum = threshold("CTCF", truth)
    width = table.shape[1]
    for chrom, info in truth["chroms"].items():
        seq, bounds, sites = codes[chrom], info["boundaries"], info["ctcf_sites"]
        assert len(sites) == 3 * 2 * (len(bounds) - 1)  # three at either end of each domain
        planted = []
        for site in sites:
            b = site["boundary"]
            if site["strand"] == "+":  # left end of the domain that starts at b
                assert b + 100 <= site["start"] and site["end"] <= b + 1_000 and b != bounds[-1]
            else:  # right end of the domain that ends at b
                assert b - 1_000 <= site["start"] and site["end"] <= b - 100 and b != bounds[0]
            kmer = seq[site["start"] : site["end"]]
            assert len(kmer) == width
            planted.append(score(kmer, table, site["strand"]))
            assert planted[-1] >= minimum
            # The recorded strand is the one that matches.
            assert planted[-1] > score(kmer, table, "-" if site["strand"] == "+" else "+")
        background = all_scores(seq, table)
        assert np.quantile(background[np.isfinite(background)], 0.999) < min(planted)


# --------------------------------------------------------------------------- contacts


def test_contacts_are_higher_within_a_domain_than_across_a_boundary(demo, truth):
    clr = cooler.Cooler(str(demo.cool))
    for chrom, bounds in demo.boundaries.items():
        mat = clr.matrix(balance=True).fetch(chrom)
        domain = np.array([domain_of(i * RES, bounds) for i in range(mat.shape[0])])
        for d in range(2, 8):
            i = np.arange(mat.shape[0] - d)
            values = mat[i, i + d]
            inside = (domain[i] == domain[i + d]) & (domain[i] >= 0)
            across = (domain[i] != domain[i + d]) & (domain[i] >= 0) & (domain[i + d] >= 0)
            within_mean = np.nanmean(values[inside])
            across_mean = np.nanmean(values[across])
            assert within_mean > 2 * across_mean, (chrom, d, within_mean, across_mean)


def test_contacts_have_a_dot_at_every_domain_corner(demo):
    clr = cooler.Cooler(str(demo.cool))
    for chrom, bounds in demo.boundaries.items():
        mat = clr.matrix(balance=True).fetch(chrom)
        for left, right in itertools.pairwise(bounds):
            a, b = left // RES, (right - 1) // RES
            # The corner beats the same-distance contacts by far (x5 expected at the corner).
            assert mat[a, b] > 2 * np.nanmedian(np.diagonal(mat, b - a)), (chrom, left, right)


def test_contact_counts_are_integers_of_the_upper_triangle(demo):
    pixels = cooler.Cooler(str(demo.cool)).pixels()[:]
    assert (pixels.bin1_id <= pixels.bin2_id).all() and (pixels["count"] > 0).all()
    assert pixels["count"].dtype.kind == "i"


# --------------------------------------------------------------------------- coverage


def peak_means(bw, chrom: str, centres: list[int]) -> np.ndarray:
    return np.array([bw.stats(chrom, c - 50, c + 50, type="mean")[0] for c in centres])


def test_coverage_peaks_at_planted_sites_only(demo, truth):
    for name, motif in [("enhancer_a", "GATA"), ("enhancer_b", "HNF4")]:
        bw = pyBigWig.open(str(demo.bigwigs[name]))
        for chrom, info in truth["chroms"].items():
            by_motif = {
                m: [f["centre"] for f in info["features"] if f["motif"] == m]
                for m in ("GATA", "HNF4", "SP", "none")
            }
            on = peak_means(bw, chrom, by_motif[motif])
            other = "HNF4" if motif == "GATA" else "GATA"
            off = peak_means(bw, chrom, by_motif[other] + by_motif["SP"] + by_motif["none"])
            genome_mean = bw.stats(chrom, type="mean")[0]
            assert on.min() > 5 and np.median(on) > 50 * np.median(off)
            assert off.mean() < 1 and genome_mean < 2
        bw.close()
    bw = pyBigWig.open(str(demo.bigwigs["ctcf"]))
    for chrom, info in truth["chroms"].items():
        clusters: dict[tuple, list[int]] = {}
        for site in info["ctcf_sites"]:
            clusters.setdefault((site["boundary"], site["strand"]), []).append(site["start"])
        centres = [round(np.mean(starts)) + 6 for starts in clusters.values()]
        on = peak_means(bw, chrom, centres)
        assert on.min() > 5 and np.median(on) > 20 * bw.stats(chrom, type="mean")[0]
    bw.close()


# --------------------------------------------------------------------------- pairs


def test_pair_labels_obey_the_rule(pairs, truth):
    assert len(pairs) > 0 and set(pairs.label) == {0, 1}
    assert 0.4 <= pairs.label.mean() <= 0.6
    assert len(truth["pair_reasons"]) == len(pairs)
    for chrom, info in truth["chroms"].items():
        motif_at = {tuple(f["anchor"]): f["motif"] for f in info["features"]}
        bounds = info["boundaries"]
        rows = pairs[pairs.chrom1 == chrom]
        assert (rows.chrom2 == chrom).all() and ((rows.end1 - rows.start1) == 500).all()
        for row in rows.itertuples():
            e_motif, p_motif = motif_at[(row.start1, row.end1)], motif_at[(row.start2, row.end2)]
            assert e_motif in ("GATA", "HNF4", "none") and p_motif in ("SP", "none")
            e_dom = domain_of((row.start1 + row.end1) // 2, bounds)
            p_dom = domain_of((row.start2 + row.end2) // 2, bounds)
            expected = e_motif == "GATA" and p_motif == "SP" and e_dom == p_dom >= 0
            assert row.label == int(expected), row
    reasons = pd.Series(truth["pair_reasons"])
    assert ((reasons == "positive") == (pairs.label == 1)).all()
    assert set(reasons) == {
        "positive",
        "no_enhancer_motif",
        "wrong_enhancer_motif",
        "no_promoter_motif",
        "across_domains",
    }


def test_anchor_sequences_carry_exactly_their_motif(truth, codes):
    tables = {m: log_odds(m, truth) for m in ("GATA", "HNF4", "SP")}
    thresholds = {m: threshold(m, truth) for m in tables}
    for chrom, info in truth["chroms"].items():
        for feature in info["features"]:
            start, end = feature["anchor"]
            seq = codes[chrom][start:end]
            for m, table in tables.items():
                hits = max(all_scores(seq, table).max(), all_scores(3 - seq[::-1], table).max())
                assert (hits >= thresholds[m]) == (feature["motif"] == m), (feature, m)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_files_other_seed_other_files(tmp_path, demo, codes):
    kwargs = {"n_chroms": 1, "chrom_length": LENGTH}
    a = write_longrange_demo(tmp_path / "a", seed=SEED, **kwargs)
    b = write_longrange_demo(tmp_path / "b", seed=SEED, **kwargs)
    c = write_longrange_demo(tmp_path / "c", seed=SEED + 1, **kwargs)
    files_a, files_b = file_bytes(a.root), file_bytes(b.root)
    assert files_a.keys() == files_b.keys()
    for name in files_a:
        if name != "contacts.cool":  # HDF5 metadata hold a creation date
            assert files_a[name] == files_b[name], name
    for table in ("pixels", "bins"):
        left = getattr(cooler.Cooler(str(a.cool)), table)()[:]
        right = getattr(cooler.Cooler(str(b.cool)), table)()[:]
        pd.testing.assert_frame_equal(left, right)
    assert file_bytes(c.root)["genome.fa"] != files_a["genome.fa"]
    assert c.boundaries != a.boundaries
    # chr1 does not depend on n_chroms.
    with pysam.FastaFile(str(a.genome)) as fasta:
        assert (encode_codes(fasta.fetch("chr1")) == codes["chr1"]).all()
    assert a.boundaries["chr1"] == demo.boundaries["chr1"]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_chroms": 0}, r"n_chroms must be an integer >= 1; got 0"),
        ({"seed": -1}, r"seed must be an integer >= 0; got -1"),
        ({"resolution": 100}, r"resolution must be an integer >= 1000; got 100"),
        ({"chrom_length": 30_000}, r"chrom_length=30000 holds 10 bins .* raise chrom_length"),
        ({"chrom_length": 50_000}, r"19 enhancers, .* only 11 are free; raise chrom_length"),
        ({"domain_size": (4096, 50_000)}, r"domain_size\[0\] must be >= 8 bins \(16384 bp"),
        ({"domain_size": (50_000, 10_000)}, r"domain_size must be \(smallest, largest\) bp"),
    ],
)
def test_bad_arguments_raise(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        write_longrange_demo(tmp_path, **kwargs)
