"""Long-range examples from the simulated genome: coverage, contact-map and pair targets
match the files they come from, computed here by hand; configs share settings with models."""

from __future__ import annotations

import json

import numpy as np
import pyBigWig
import pytest
import torch

from dnalens.config import parse_run_config
from dnalens.data.build import build_data
from dnalens.data.demo_longrange import write_longrange_demo
from dnalens.errors import ConfigError
from dnalens.io.contacts import ContactMatrix
from dnalens.io.genome import Genome
from dnalens.train.fit import model_params

SPLIT = {"valid_chroms": ["chr3"], "test_chroms": ["chr4"]}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lr")
    return folder, write_longrange_demo(folder / "data", seed=0, n_chroms=4,
                                        chrom_length=204_800, resolution=1024,
                                        domain_size=(20_480, 40_960), pairs_per_chrom=50)


def _config(folder, data: dict, model: dict | None = None, train: dict | None = None):
    raw = {"name": "t", "data": {**data, "split": SPLIT},
           "model": model or {"name": "basenji"}, "train": train or {}}
    return parse_run_config(raw, folder)


def test_coverage_targets_are_bin_means_of_the_bigwig(demo):
    folder, data = demo
    tracks = folder / "mean.tsv"
    tracks.write_text(f"name\tfile\tsummary\nA\t{data.bigwigs['enhancer_a']}\tmean\n"
                      f"B\t{data.bigwigs['enhancer_b']}\tsum\n")
    config = _config(folder, {"genome": str(data.genome), "coverage": {
        "tracks": str(tracks), "input_length": 2048, "bin_size": 64, "crop_bins": 3,
        "stride": 1024}})
    assert config.train.loss == "poisson"
    bundle = build_data(config.data)
    assert bundle.kind == "coverage" and bundle.tasks == ["A", "B"]
    train = bundle.datasets["train"]
    assert set(train.windows["chrom"]) == {"chr1", "chr2"}
    assert set(bundle.datasets["test"].windows["chrom"]) == {"chr4"}
    assert (train.windows["end"] - train.windows["start"] == 2048).all()
    x, y = train.__getitems__([5, 40])
    assert x.shape == (2, 4, 2048) and y.shape == (2, 2, 26)
    chrom, start = train.windows.loc[40, ["chrom", "start"]]
    with pyBigWig.open(str(data.bigwigs["enhancer_a"])) as bw:
        values = np.nan_to_num(bw.values(chrom, start + 192, start + 2048 - 192, numpy=True))
    np.testing.assert_allclose(y[1, 0].numpy(), values.reshape(26, 64).mean(axis=1), rtol=1e-5)
    with pyBigWig.open(str(data.bigwigs["enhancer_b"])) as bw:
        values = np.nan_to_num(bw.values(chrom, start + 192, start + 2048 - 192, numpy=True))
    np.testing.assert_allclose(y[1, 1].numpy(), values.reshape(26, 64).sum(axis=1), rtol=1e-5)
    genome = Genome(data.genome)
    assert x[1].argmax(0).tolist() == ["ACGT".index(b) if b in "ACGT" else 0
                                       for b in genome.fetch(chrom, start, start + 2048)]
    params = model_params(config, bundle)
    assert params == {"input_length": 2048, "bin_size": 64, "crop_bins": 3, "n_tasks": 2}


def test_crop_comes_from_the_model_when_data_do_not_give_it(demo):
    folder, data = demo
    coverage = {"tracks": str(data.tracks_tsv), "input_length": 2048, "bin_size": 64}
    config = _config(folder, {"genome": str(data.genome), "coverage": coverage},
                     {"name": "basenji", "params": {"crop_bins": 5}})
    assert config.data.coverage.crop_bins == 5
    with pytest.raises(ConfigError, match=r"data.coverage.crop_bins \(2\) differs from "
                                          r"model.params.crop_bins \(5\)"):
        _config(folder, {"genome": str(data.genome), "coverage": {**coverage, "crop_bins": 2}},
                {"name": "basenji", "params": {"crop_bins": 5}})
    with pytest.raises(ConfigError, match=r"reverse_complement needs data\.contacts\.layout 'map'"):
        _config(folder, {"genome": str(data.genome), "contacts": {
            "cool": str(data.cool), "input_length": 16384, "layout": "strip", "band_bins": 6},
            "augment": {"reverse_complement": True}}, {"name": "deepc"})
    with pytest.raises(ConfigError, match=r"train\.loss for data\.coverage"):
        _config(folder, {"genome": str(data.genome), "coverage": coverage},
                train={"loss": "bce"})


def test_contact_targets_are_log_observed_over_expected_with_nan_gaps(demo):
    folder, data = demo
    config = _config(folder, {"genome": str(data.genome), "contacts": {
        "cool": str(data.cool), "input_length": 32768, "stride": 4096, "crop_bins": 2}},
        {"name": "akita"})
    assert config.train.loss == "mse" and config.data.contacts.diagonal_offset == 2
    bundle = build_data(config.data)
    train = bundle.datasets["train"]
    targets = train.targets
    assert targets.shape == (1, len(np.triu_indices(28, k=2)[0]))
    matrix = ContactMatrix(data.cool, Genome(data.genome))
    chrom, start = train.windows.loc[7, ["chrom", "start"]]
    raw = matrix.fetch(chrom, start, start + 32768)
    expected = matrix.expected(chrom)
    i, j = 2 + 3, 2 + 10  # map entry (3, 10) of the cropped 28-bin map
    by_hand = np.log(raw[i, j] / expected[j - i])
    rows, cols = np.triu_indices(28, k=2)
    k = int(np.flatnonzero((rows == 3) & (cols == 10))[0])
    _, y = train.__getitems__([7])
    assert y[0, 0, k].item() == pytest.approx(by_hand, rel=1e-5)
    # The N gap of each chromosome has no coverage: NaN targets there, never zeros.
    gap = json.loads(data.truth.read_text())["chroms"]["chr1"]["gap"]
    window = train.windows[(train.windows["chrom"] == "chr1")
                           & (train.windows["start"] <= gap[0] - 8192)
                           & (train.windows["end"] >= gap[1] + 8192)].index[0]
    _, y = train.__getitems__([int(window)])
    assert np.isnan(y.numpy()).any() and np.isfinite(y.numpy()).mean() > 0.8
    params = model_params(config, bundle)
    assert params == {"input_length": 32768, "bin_size": 1024, "crop_bins": 2,
                      "diagonal_offset": 2, "n_tasks": 1}


def test_strip_targets_follow_the_zigzag_layout(demo):
    folder, data = demo
    config = _config(folder, {"genome": str(data.genome), "contacts": {
        "cool": str(data.cool), "input_length": 16384, "layout": "strip", "band_bins": 6}},
        {"name": "deepc"})
    bundle = build_data(config.data)
    targets = bundle.datasets["train"].targets
    # Centre bin 8 of 16: d = 1..6 -> (8, 9), (7, 9), (7, 10), (6, 10), (6, 11), (5, 11).
    assert list(zip(targets.rows.tolist(), targets.cols.tolist(), strict=True)) == [
        (8, 9), (7, 9), (7, 10), (6, 10), (6, 11), (5, 11)]
    assert model_params(config, bundle)["band_bins"] == 6


def _flipped_pair(dataset) -> tuple:
    """Keys of one window drawn unflipped and flipped in some epoch (keys epoch * n + i)."""
    n = len(dataset)
    for i in range(n):
        for epoch in range(1, 30):
            x0, _ = dataset.__getitems__([i])
            x1, _ = dataset.__getitems__([epoch * n + i])
            if not torch.equal(x0, x1):
                return i, epoch * n + i
    raise AssertionError("no window was ever flipped")


@pytest.mark.parametrize("kind", ["coverage", "contacts"])
def test_reverse_complement_flips_sequence_and_targets_together(demo, kind):
    folder, data = demo
    block = ({"tracks": str(data.tracks_tsv), "input_length": 2048, "bin_size": 64,
              "crop_bins": 2} if kind == "coverage" else
             {"cool": str(data.cool), "input_length": 16384, "crop_bins": 1})
    config = _config(folder, {"genome": str(data.genome), kind: block,
                              "augment": {"reverse_complement": True}},
                     {"name": "basenji" if kind == "coverage" else "akita"})
    bundle = build_data(config.data)
    train = bundle.datasets["train"]
    assert not bundle.datasets["valid"].reverse_complement  # only training is augmented
    plain, flipped = _flipped_pair(train)
    (x0, y0), (x1, y1) = train.__getitems__([plain]), train.__getitems__([flipped])
    # The flipped sequence is the reverse complement: A<->T, C<->G (rows 0<->3, 1<->2).
    assert torch.equal(x1[0], x0[0].flip(0, 1))
    if kind == "coverage":
        assert torch.equal(y1[0], y0[0].flip(-1))  # bins in reverse order
        return
    # Pixel (i, j) of the 16-bin window becomes (15 - j, 15 - i); the map is cropped by 1.
    rows, cols = train.targets.rows, train.targets.cols
    k = int(np.flatnonzero((rows == 3) & (cols == 9))[0])
    k_mirror = int(np.flatnonzero((rows == 15 - 9) & (cols == 15 - 3))[0])
    assert y1[0, 0, k_mirror].item() == pytest.approx(y0[0, 0, k].item(), nan_ok=True)
    np.testing.assert_array_equal(np.sort(y1.numpy().ravel()), np.sort(y0.numpy().ravel()))


def test_window_resolution_and_length_errors(demo):
    folder, data = demo
    with pytest.raises(ConfigError, match=r"resolution of .* does not divide the 30,000 bp"):
        build_data(_config(folder, {"genome": str(data.genome), "contacts": {
            "cool": str(data.cool), "input_length": 30000}}, {"name": "akita"}).data)
    with pytest.raises(Exception, match="every chromosome is shorter than the input window"):
        build_data(_config(folder, {"genome": str(data.genome), "coverage": {
            "tracks": str(data.tracks_tsv), "input_length": 262144}}).data)


def test_pairs_are_both_anchor_windows_end_to_end(demo):
    folder, data = demo
    config = _config(folder, {"genome": str(data.genome), "pairs": {
        "bedpe": str(data.bedpe), "anchor_length": 300}}, {"name": "pair"})
    bundle = build_data(config.data)
    assert bundle.kind == "pairs" and bundle.input_length == 600
    frame = bundle.frames["train"]
    x, y = bundle.datasets["train"].__getitems__([0])
    genome = Genome(data.genome)
    c1 = (frame.loc[0, "start1"] + frame.loc[0, "end1"]) // 2
    c2 = (frame.loc[0, "start2"] + frame.loc[0, "end2"]) // 2
    expected = genome.fetch(frame.loc[0, "chrom1"], c1 - 150, c1 + 150) \
        + genome.fetch(frame.loc[0, "chrom2"], c2 - 150, c2 + 150)
    assert x[0].argmax(0).tolist() == ["ACGT".index(b) for b in expected]
    assert y[0, 0].item() == frame.loc[0, "contact"]
    assert set(bundle.frames["test"]["chrom1"]) == {"chr4"}


def test_longrange_demo_command_writes_configs_that_build(tmp_path):
    from dnalens.cli.main import main
    from dnalens.config import load_run_config

    out = tmp_path / "lr"
    assert main(["longrange-demo", "--out", str(out), "--chrom-length", "204800"]) == 0
    kinds = {}
    for name in ("basenji", "enformer", "akita", "deepc", "pair"):
        config = load_run_config(out / f"{name}.yaml")
        bundle = build_data(config.data)
        kinds[name] = bundle.kind
        assert len(bundle.datasets["train"]) > 0 and len(bundle.datasets["test"]) > 0
        assert config.model.name == name
    assert kinds == {"basenji": "coverage", "enformer": "coverage", "akita": "contacts",
                     "deepc": "contacts", "pair": "pairs"}
    # deepC starts from the akita run's stem: its path is relative to the config's folder.
    deepc = load_run_config(out / "deepc.yaml")
    assert deepc.model.init.model == (out / "runs" / "akita").resolve()
    assert deepc.model.init.layers["trunk.2"] == "trunk.trunk_1d.0.norm"
    assert load_run_config(out / "akita.yaml").data.augment.reverse_complement
