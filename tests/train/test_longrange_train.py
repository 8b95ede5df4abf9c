"""One short training run per long-range data source through `train_run`: the run folder,
val_pearson, the evaluation files and the apply commands (bigWig, .cool) work end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyBigWig
import pytest
import torch

from dnalens.apply.tiling import predict_contact_map, predict_track
from dnalens.cli.main import main
from dnalens.config import parse_run_config
from dnalens.data.demo_longrange import write_longrange_demo
from dnalens.io.contacts import ContactMatrix
from dnalens.io.genome import Genome
from dnalens.report.evaluation import write_evaluation
from dnalens.report.html import write_report
from dnalens.train.fit import train_run

SPLIT = {"valid_chroms": ["chr3"], "test_chroms": ["chr4"]}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lrtrain")
    return folder, write_longrange_demo(folder / "data", seed=1, n_chroms=4,
                                        chrom_length=204_800, resolution=1024,
                                        domain_size=(20_480, 40_960), pairs_per_chrom=50)


def _train(folder, name: str, data: dict, params: dict):
    raw = {"name": name, "seed": 0, "output_dir": str(folder / "runs"),
           "data": {**data, "split": SPLIT}, "model": {"name": name, "params": params},
           "train": {"max_epochs": 1, "batch_size": 8, "progress_bar": False,
                     "monitor": "val_pearson", "limit_train_batches": 4}}
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        return train_run(parse_run_config(raw, folder), overwrite=True)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def coverage_run(demo):
    folder, data = demo
    result = _train(folder, "basenji", {"genome": str(data.genome), "coverage": {
        "tracks": str(data.tracks_tsv), "input_length": 1024, "bin_size": 32, "crop_bins": 2,
        "stride": 4096}}, {"channels": 8, "n_dilated": 1})
    return folder, data, result


def test_coverage_run_logs_pearson_and_evaluates(coverage_run):
    _folder, _data, result = coverage_run
    metrics = pd.read_csv(result.run_dir / "metrics.csv")
    assert metrics["val_pearson"].notna().any()
    evaluation, written = write_evaluation(result.run_dir)
    table = evaluation.table.set_index("task")
    assert list(table.index) == ["enhancer_a", "enhancer_b", "ctcf", "mean"]
    test_windows = len(evaluation.regression.windows)
    assert table.loc["ctcf", "n"] == test_windows * 28  # every bin of every test window
    assert {"evaluation.tsv", "predictions.tsv", "tracks.png"} <= {p.name for p in written}
    text = write_report(result.run_dir).read_text()
    assert "pearson" in text and 'alt="predicted and observed tracks"' in text


def test_whole_chromosome_bigwig_equals_the_track(coverage_run, tmp_path):
    _folder, data, result = coverage_run
    out = tmp_path / "bw"
    assert main(["predict", str(result.run_dir), "--chrom", "chr4", "--bigwig-dir", str(out),
                 "--device", "cpu"]) == 0
    track = predict_track(result.model, Genome(data.genome), "chr4", 0, 204_800,
                          device="cpu")
    with pyBigWig.open(str(out / "enhancer_b.bw")) as bw:
        assert bw.chroms("chr4") == 204_800
        values = np.array([bw.values("chr4", s, s + 1)[0] for s in track.starts[:50]])
    np.testing.assert_allclose(values, track.values[1, :50], rtol=1e-5)
    assert track.values.shape == (3, 6400)  # 32 bp bins over 204.8 kb


def test_contact_run_evaluates_by_distance_and_writes_a_cool(demo, tmp_path):
    folder, data = demo
    result = _train(folder, "akita", {"genome": str(data.genome), "contacts": {
        "cool": str(data.cool), "input_length": 16384, "stride": 8192, "crop_bins": 1}},
        {"stem_channels": 4, "tower_channels": 4, "residual_channels": 2,
         "residual_repeat": 1, "trunk_channels": 4, "channels_2d": 4,
         "residual_channels_2d": 2, "residual_repeat_2d": 1})
    _evaluation, written = write_evaluation(result.run_dir)
    names = {p.name for p in written}
    assert {"evaluation_distance.tsv", "maps.png", "distance.png"} <= names
    distance = pd.read_csv(result.run_dir / "evaluation_distance.tsv", sep="\t")
    assert sorted(distance["distance_bins"].unique()) == list(range(2, 14))
    out = tmp_path / "map.cool"
    assert main(["predict", str(result.run_dir), "--region", "chr4:50000-60000", "--cool",
                 str(out), "--device", "cpu"]) == 0
    start, maps = predict_contact_map(result.model, Genome(data.genome), "chr4", 55_000,
                                      device="cpu")
    assert start % 1024 == 0 and maps.shape == (1, 14, 14)
    written_map = ContactMatrix(out, Genome(data.genome)).fetch("chr4", start,
                                                                start + 14 * 1024,
                                                                balance=False)
    upper = np.triu_indices(14, k=2)
    np.testing.assert_allclose(written_map[upper], maps[0][upper], rtol=1e-5)


def test_variants_on_a_coverage_run_sum_tracks_per_gene(coverage_run, tmp_path):
    _, data, result = coverage_run
    genome = Genome(data.genome)
    rows = []
    for pos0 in (10_000, 60_000, 120_000):
        base = genome.fetch("chr4", pos0, pos0 + 1)
        rows.append(f"chr4\t{pos0 + 1}\tv{pos0}\t{base}\t{'C' if base != 'C' else 'G'}")
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   + "".join(r + "\t.\t.\t.\n" for r in rows))
    genes = tmp_path / "genes.bed"
    genes.write_text("chr4\t9900\t10300\tgeneA\nchr4\t59000\t61000\tgeneB\n")
    out = tmp_path / "effects.tsv"
    assert main(["variants", str(result.run_dir), "--vcf", str(vcf), "--out", str(out),
                 "--genes", str(genes), "--device", "cpu"]) == 0
    table = pd.read_csv(out, sep="\t")
    assert list(table["gene"]) == ["geneA", "geneB"]  # v120000 is in no gene: skipped
    assert {"enhancer_a_ref", "enhancer_a_alt", "enhancer_a_diff", "ctcf_log2fc"} <= set(table)
    np.testing.assert_allclose(table["ctcf_diff"], table["ctcf_alt"] - table["ctcf_ref"],
                               atol=1e-4)
