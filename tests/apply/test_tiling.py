"""Track predictions along regions: tiled windows stitch into the one-pass answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from dnalens.apply.tiling import predict_track, track_layout, track_windows
from dnalens.cli.main import main
from dnalens.errors import ConfigError, CoordinateError
from dnalens.io.genome import Genome
from dnalens.models import build_model, save_model
from dnalens.models.spliceai import CLASSES
from dnalens.sequence.encoding import one_hot, reverse_complement

CONTEXT = 80


@pytest.fixture
def setup(tmp_path, write_fasta):
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), 1000))
    genome = Genome(write_fasta(tmp_path / "g.fa", {"chr1": seq}))
    torch.manual_seed(0)
    model = build_model("spliceai", context=CONTEXT, channels=8, output_length=50).eval()
    return genome, model


def _one_pass(model, genome, start, end, strand="+"):
    """Softmax outputs for [start, end) from one window (valid convolutions: exact)."""
    x = one_hot(genome.fetch("chr1", start - CONTEXT // 2, end + CONTEXT // 2))[None]
    if strand == "-":
        x = reverse_complement(x)
    with torch.no_grad():
        out = torch.softmax(model(x), dim=1)[0]
    return (out.flip(-1) if strand == "-" else out).numpy()


def test_layout_of_spliceai_and_none_for_window_models(setup):
    _, model = setup
    layout = track_layout(model)
    assert (layout.input_length, layout.output_bins, layout.bin_size) == (130, 50, 1)
    assert layout.offset == 40 and layout.activation == "softmax"
    assert track_layout(build_model("neuron", input_length=20, n_tasks=1)) is None


@pytest.mark.parametrize("strand", ["+", "-"])
@pytest.mark.parametrize("overlap", [0, 7])
def test_tiles_stitch_into_the_one_pass_prediction(setup, strand, overlap):
    genome, model = setup
    track = predict_track(model, genome, "chr1", 300, 437, strand=strand, overlap_bins=overlap,
                          batch_size=2, device="cpu")
    assert track.values.shape == (3, 137)
    assert list(track.starts[:3]) == [300, 301, 302] and track.ends[-1] == 437
    np.testing.assert_allclose(track.values, _one_pass(model, genome, 300, 437, strand),
                               atol=1e-5)
    np.testing.assert_allclose(track.values.sum(axis=0), 1, atol=1e-5)


def test_region_at_the_chromosome_end_is_n_padded_and_cut(setup):
    genome, model = setup
    track = predict_track(model, genome, "chr1", 960, 1000, device="cpu")
    assert track.values.shape == (3, 40) and track.ends[-1] == 1000
    np.testing.assert_allclose(track.values, _one_pass(model, genome, 960, 1000), atol=1e-5)
    with pytest.raises(CoordinateError, match="not a region inside chr1"):
        predict_track(model, genome, "chr1", 990, 1010, device="cpu")


def test_window_starts_and_bad_overlap(setup):
    _, model = setup
    starts, keep = track_windows(track_layout(model), 100, 201, overlap_bins=5)
    assert keep == 40 and list(starts) == [55, 95, 135]
    with pytest.raises(ConfigError, match="overlap_bins must be in"):
        track_windows(track_layout(model), 0, 10, overlap_bins=25)
    with pytest.raises(ConfigError, match="not a track"):
        predict_track(build_model("neuron", input_length=20, n_tasks=1), None, "chr1", 0, 5)


def test_cli_predict_writes_per_base_probabilities_for_splice_models(setup, tmp_path,
                                                                     write_text):
    genome, model = setup
    folder = save_model(model, tmp_path / "splice", tasks=CLASSES)
    bed = write_text("r.bed", "chr1\t200\t260\tgeneA\t0\t+\nchr1\t500\t530\tgeneB\t0\t-\n")
    out = tmp_path / "p.tsv"
    assert main(["predict", str(folder), "--bed", str(bed), "--genome", str(genome.path),
                 "--out", str(out), "--device", "cpu"]) == 0
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns) == ["chrom", "start", "end", "region", "strand", *CLASSES]
    assert len(table) == 90 and list(table["strand"].unique()) == ["+", "-"]
    minus = table[table["region"] == 1][list(CLASSES)].to_numpy().T
    # The TSV holds 4 significant digits.
    np.testing.assert_allclose(minus, _one_pass(model, genome, 500, 530, "-"), atol=1e-4)


def test_contact_region_stitches_window_maps_and_averages_overlaps(tmp_path, write_fasta):
    from dnalens.apply.tiling import predict_contact_map, predict_contact_region

    rng = np.random.default_rng(1)
    genome = Genome(write_fasta(tmp_path / "g.fa",
                                {"chr1": "".join(rng.choice(list("ACGT"), 9000))}))
    torch.manual_seed(0)
    # 2,048 bp windows in 128 bp bins: 16 bins, 12 after cropping 2 per side.
    model = build_model("akita", input_length=2048, bin_size=128, crop_bins=2, n_tasks=1,
                        stem_channels=4, tower_channels=4, residual_channels=4,
                        residual_repeat=1, trunk_channels=4, channels_2d=4,
                        residual_channels_2d=4, residual_repeat_2d=1).eval()
    first, maps = predict_contact_region(model, genome, "chr1", 1000, 5000, step_bins=4)
    # Windows start at 1000 // 128 * 128 - 2 bins = 640, every 512 bp, the last at 3,200
    # (its map ends past 5,000 + 2 bins); bin 0 of the result is at 896.
    assert first == 896 and maps.shape[0] == 1
    with torch.no_grad():
        one = {w: predict_contact_map(model, genome, "chr1", w + 1024)[1][0]
               for w in range(640, 3201, 512)}
    n = maps.shape[-1]
    assert n == (max(one) - 640) // 128 + 12
    # Bins 4..11 of the region are seen by the windows at 640 (bins 0..11) and 1152 (4..15):
    # their pixel (5, 9) is the mean of both; a pixel 11 bins off the diagonal only by one.
    np.testing.assert_allclose(maps[0, 5, 9], (one[640][5, 9] + one[1152][1, 5]) / 2, rtol=1e-5)
    np.testing.assert_allclose(maps[0, 0, 11], one[640][0, 11], rtol=1e-5)
    assert np.isnan(maps[0, 0, 12:]).all()  # beyond every window's map
    assert np.isnan(maps[0, 3, 3]) and np.isnan(maps[0, 3, 4])  # excluded diagonals
    with pytest.raises(CoordinateError, match="does not hold one 2,048 bp window"):
        predict_contact_region(model, genome, "chr1", 8500, 8900)


def test_deepc_strips_of_every_centre_tile_the_band(tmp_path, write_fasta):
    from dnalens.apply.tiling import predict_contact_region
    from dnalens.models.deepc import strip_pairs

    rng = np.random.default_rng(2)
    genome = Genome(write_fasta(tmp_path / "g.fa",
                                {"chr1": "".join(rng.choice(list("ACGT"), 6000))}))
    torch.manual_seed(0)
    # 1,024 bp windows in 128 bp bins: centre bin 4, strip of 4 distances.
    model = build_model("deepc", input_length=1024, bin_size=128, band_bins=4,
                        conv_channels=[4], kernel_sizes=[9], pool_sizes=[8], channels=4,
                        dilations=[1], dropout=0.0).eval()
    first, maps = predict_contact_region(model, genome, "chr1", 2000, 3000, batch_size=3)
    pairs = strip_pairs(1024, 128, 4)  # (4, 5), (3, 5), (3, 6), (2, 6)
    # Centres 2000 // 128 = 15 .. 2999 // 128 = 23: windows starting at bins 11 .. 19; the
    # lowest pixel row is window 11's bin 2, genome bin 13.
    assert first == 13 * 128 and maps.shape == (1, 19 - 11 + 5, 19 - 11 + 5)
    with torch.no_grad():
        strip = model(one_hot(genome.fetch("chr1", 16 * 128, 16 * 128 + 1024))[None])[0, 0]
    for k, (i, j) in enumerate(pairs):  # window 16: genome bins 16 + i, 16 + j
        assert maps[0, 16 + i - 13, 16 + j - 13] == pytest.approx(strip[k].item(), abs=1e-5)
        assert maps[0, 16 + j - 13, 16 + i - 13] == pytest.approx(strip[k].item(), abs=1e-5)
    band = np.abs(np.subtract.outer(np.arange(13), np.arange(13)))
    inner = slice(3, 10)  # rows/cols every centre reaches
    assert np.isfinite(maps[0][inner, inner][(band[inner, inner] >= 1)
                                             & (band[inner, inner] <= 4)]).all()
    assert np.isnan(maps[0][band > 4]).all() and np.isnan(np.diag(maps[0])).all()
