"""The built-in demo data: files, determinism and the planted motifs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from dnalens.alphabet import encode_codes
from dnalens.data.demo import DEMO_TASKS, DemoData, make_demo_data
from dnalens.errors import ConfigError
from dnalens.io.motifs import read_meme

N_CHROMS, LENGTH, SEED = 2, 200_000, 7
PLANTED_COLUMNS = ["chrom", "start", "end", "strand", "motif", "task", "peak"]
NARROWPEAK = ["chrom", "start", "end", "name", "score", "strand", "signal", "p", "q", "summit"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoData:
    out = tmp_path_factory.mktemp("demo")
    return make_demo_data(out, n_chroms=N_CHROMS, chrom_length=LENGTH, seed=SEED)


@pytest.fixture(scope="module")
def peaks(demo) -> dict[str, pd.DataFrame]:
    return {
        task: pd.read_csv(path, sep="\t", header=None, names=NARROWPEAK)
        for task, path in demo.peaks.items()
    }


@pytest.fixture(scope="module")
def planted(demo) -> pd.DataFrame:
    return pd.read_csv(demo.planted, sep="\t")


def file_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_files_exist_and_describe_the_data(demo):
    assert demo.chroms == ["chr1", "chr2"]
    assert demo.tasks == list(DEMO_TASKS) == ["cell_a", "cell_b", "cell_c", "cell_d"]
    assert (demo.chrom_length, demo.seed) == (LENGTH, SEED)
    for path in [demo.genome, demo.motif_file, demo.planted, *demo.peaks.values()]:
        assert path.is_file() and path.stat().st_size > 0
    readme = (demo.root / "README.md").read_text()
    assert "C055:CTCF:C2H2_ZF" in readme and "Rauluseviciute" in readme


def test_genome_fasta_is_indexed_upper_case_60_columns(demo):
    fai = (demo.root / "genome.fa.fai").read_text().split("\n")
    assert [line.split("\t")[:2] for line in fai if line] == [
        ["chr1", "200000"],
        ["chr2", "200000"],
    ]
    lines = demo.genome.read_text().splitlines()
    body = [line for line in lines if not line.startswith(">")]
    assert {len(line) for line in body} == {60, 200_000 % 60}
    with pysam.FastaFile(str(demo.genome)) as fasta:
        seq = fasta.fetch("chr2")
    assert len(seq) == LENGTH and set(seq) == set("ACGT")
    gc = (seq.count("G") + seq.count("C")) / len(seq)
    assert gc == pytest.approx(0.41, abs=0.015)


def test_motifs_file_holds_the_planted_matrices(demo):
    motifs = read_meme(demo.motif_file)
    assert sorted(motifs) == sorted(name for names in demo.motifs.values() for name in names)
    assert demo.motifs["cell_a"] == ["C055:CTCF:C2H2_ZF"]
    assert {m.alt_name for m in motifs.values()} == {"CTCF", "GATA", "HNF4", "AP-1"}


def test_peaks_are_sorted_narrowpeaks_of_the_right_width(demo, peaks):
    for task, table in peaks.items():
        assert len(table) > 10, task
        assert table["chrom"].isin(demo.chroms).all()
        order = table["chrom"].map(demo.chroms.index) * LENGTH + table["start"]
        assert order.is_monotonic_increasing
        width = table["end"] - table["start"]
        assert width.between(200, 400).all()
        assert (table["summit"] == width // 2).all()
        assert table["score"].between(0, 1000).all() and (table["strand"] == ".").all()


def test_peaks_never_overlap_and_shared_peaks_correlate_tasks(demo, peaks):
    every = pd.concat(peaks.values())[["chrom", "start", "end", "name"]].drop_duplicates()
    # A peak shared by two tasks appears in both files with the same name and coordinates.
    assert every["name"].is_unique
    every = every.sort_values(["chrom", "start"])
    for _, chrom_peaks in every.groupby("chrom"):
        assert (chrom_peaks["start"].to_numpy()[1:] >= chrom_peaks["end"].to_numpy()[:-1]).all()
    names = {task: set(table["name"]) for task, table in peaks.items()}
    assert names["cell_b"] & names["cell_d"] and names["cell_c"] & names["cell_d"]
    assert not names["cell_a"] & (names["cell_b"] | names["cell_c"] | names["cell_d"])
    assert names["cell_b"] != names["cell_d"]


def test_instances_lie_near_the_centre_of_a_peak_of_their_task(demo, peaks, planted):
    assert list(planted.columns) == PLANTED_COLUMNS
    counts = planted.groupby("peak").size()
    assert counts.between(1, 3).all()
    for task, table in peaks.items():
        mine = planted[planted["task"] == task].merge(
            table, left_on="peak", right_on="name", suffixes=("", "_peak")
        )
        assert len(mine) == (planted["task"] == task).sum()  # every instance found its peak
        assert (mine["chrom"] == mine["chrom_peak"]).all()
        centre = mine["start_peak"] + mine["summit"]
        assert (mine["start"] >= centre - 50).all() and (mine["end"] <= centre + 50).all()
        assert set(mine["motif"]) == set(demo.motifs[task])
    assert set(planted["strand"]) == {"+", "-"}


def test_instances_score_far_above_the_background(demo, planted):
    motifs = read_meme(demo.motif_file)
    with pysam.FastaFile(str(demo.genome)) as fasta:
        genome = {chrom: encode_codes(fasta.fetch(chrom)) for chrom in demo.chroms}
    for name, motif in motifs.items():
        forward, reverse = motif.log_odds(), motif.reverse_complement().log_odds()
        positions = np.arange(motif.width)
        # Background: every k-mer of chr1 on both strands (the few planted ones do not matter).
        kmers = np.lib.stride_tricks.sliding_window_view(genome["chr1"], motif.width)
        background = np.concatenate(
            [forward[kmers, positions].sum(1), reverse[kmers, positions].sum(1)]
        )
        threshold = np.quantile(background, 0.999)  # stricter than the 99th percentile
        rows = planted[planted["motif"] == name]
        assert len(rows) > 0
        for row in rows.itertuples():
            site = genome[row.chrom][row.start : row.end]
            score = (forward if row.strand == "+" else reverse)[site, positions].sum()
            assert score > threshold, (name, row)


def test_same_seed_same_bytes_other_seed_other_genome(demo, tmp_path):
    again = make_demo_data(tmp_path / "a", n_chroms=N_CHROMS, chrom_length=LENGTH, seed=SEED)
    assert file_bytes(again.root) == file_bytes(demo.root)
    other = make_demo_data(tmp_path / "b", n_chroms=N_CHROMS, chrom_length=LENGTH, seed=SEED + 1)
    assert other.genome.read_bytes() != demo.genome.read_bytes()


def test_chromosomes_do_not_depend_on_how_many_there_are(demo, tmp_path):
    one = make_demo_data(tmp_path, n_chroms=1, chrom_length=LENGTH, seed=SEED)
    with pysam.FastaFile(str(one.genome)) as a, pysam.FastaFile(str(demo.genome)) as b:
        assert a.fetch("chr1") == b.fetch("chr1")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_chroms": 0}, r"n_chroms must be an integer >= 1; got 0"),
        ({"chrom_length": 2.5}, r"chrom_length must be an integer >= 1; got 2\.5"),
        ({"seed": -1}, r"seed must be an integer >= 0; got -1"),
        ({"peaks_per_mb": True}, r"peaks_per_mb must be an integer"),
        ({"chrom_length": 2_000}, r"need 2400 bp but chrom_length=2000"),
        ({"peaks_per_mb": 800}, r"lower peaks_per_mb or raise chrom_length"),
    ],
)
def test_bad_arguments_raise(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        make_demo_data(tmp_path, **kwargs)
