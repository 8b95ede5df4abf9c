"""Long-range variant effects: known coverage sums, indel alignment, genes, contact scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from dnalens.apply.variant_contacts import contact_scores, contact_variant_effects
from dnalens.apply.variant_longrange import coverage_variant_effects, scoring_bins
from dnalens.apply.variants import variant_windows
from dnalens.errors import ConfigError
from dnalens.io.genome import Genome
from dnalens.io.variants import VariantRecord, read_vcf
from dnalens.models import build_model

L, BIN, CROP = 256, 8, 2
BINS = L // BIN - 2 * CROP  # 28 output bins
OFFSET = CROP * BIN  # 16 bp before the first output bin
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def counting(model, bases: str = "GA"):
    """Make ``model`` output, per task and bin, the number of ``bases[task]`` in the bin."""
    rows = ["ACGT".index(b) for b in bases]

    def forward(x: torch.Tensor) -> torch.Tensor:
        kept = x[:, rows, OFFSET : OFFSET + BINS * BIN]
        return kept.reshape(x.shape[0], len(rows), BINS, BIN).sum(-1)

    model.forward = forward
    return model


@pytest.fixture
def basenji():
    model = build_model("basenji", input_length=L, n_tasks=2, bin_size=BIN, crop_bins=CROP,
                        channels=6, n_dilated=1)
    return counting(model)


@pytest.fixture
def chrom(dna) -> str:
    return dna(2000, 7)


@pytest.fixture
def genome(tmp_path, write_fasta, chrom) -> Genome:
    return Genome(write_fasta(tmp_path / "g.fa", {"chr1": chrom, "chr2": "ACGT" * 10}))


def record(pos0: int, ref: str, alt: str, id: str = ".") -> VariantRecord:
    return VariantRecord("chr1", pos0, ref, alt, id, 0)


def other_base(base: str) -> str:
    return "A" if base != "A" else "G"


def ref_span(rec: VariantRecord) -> tuple[int, int]:
    """Genome span of the reference window's output bins."""
    win = rec.pos0 + len(rec.ref) // 2 - L // 2
    return win + OFFSET, win + OFFSET + BINS * BIN


def overlapped(rec: VariantRecord, start: int, end: int) -> tuple[int, int]:
    """Genome span of the whole reference bins that overlap [start, end)."""
    first, _ = ref_span(rec)
    j0 = (start - first) // BIN
    j1 = -(-(end - first) // BIN)
    return first + max(j0, 0) * BIN, first + min(j1, BINS) * BIN


def run(model, genome, records, path, **kwargs) -> pd.DataFrame:
    coverage_variant_effects(model, genome, records, path, device="cpu", **kwargs)
    return pd.read_csv(path, sep="\t", dtype={"id": str})


# ---------------------------------------------------------------------------------------------
# Coverage: sums over the window
# ---------------------------------------------------------------------------------------------


def test_snv_sums_the_whole_output_span(basenji, genome, chrom, tmp_path):
    rec = record(1000, chrom[1000], "G" if chrom[1000] != "G" else "T", "rs1")
    table = run(basenji, genome, [rec], tmp_path / "out.tsv", tasks=["G", "A"])
    assert list(table.columns) == ["variant", "chrom", "pos", "id", "ref", "alt",
                                   "G_ref", "G_alt", "G_diff", "G_log2fc",
                                   "A_ref", "A_alt", "A_diff", "A_log2fc"]
    start, end = ref_span(rec)
    seq = chrom[start:end]
    alt_seq = seq[: 1000 - start] + rec.alt + seq[1000 - start + 1 :]
    row = table.iloc[0]
    assert (row["variant"], row["pos"], row["id"]) == (0, 1001, "rs1")
    assert row["G_ref"] == seq.count("G") and row["G_alt"] == alt_seq.count("G")
    assert row["A_ref"] == seq.count("A") and row["A_alt"] == alt_seq.count("A")
    assert row["G_diff"] == row["G_alt"] - row["G_ref"]
    expected = np.log2((row["G_alt"] + 1) / (row["G_ref"] + 1))
    assert row["G_log2fc"] == pytest.approx(expected, rel=1e-5)


def test_window_bp_sums_the_bins_it_overlaps(basenji, genome, chrom, tmp_path):
    rec = record(1003, chrom[1003], other_base(chrom[1003]))
    table = run(basenji, genome, [rec], tmp_path / "out.tsv", window_bp=20)
    # Centred on the variant: [993, 1013) touches the bins that overlap it.
    start, end = overlapped(rec, 1003 - 10, 1003 + 10)
    assert (end - start) % BIN == 0 and end - start >= 20
    assert table.loc[0, "task0_ref"] == chrom[start:end].count("G")
    assert table.loc[0, "task1_ref"] == chrom[start:end].count("A")


def test_window_bp_wider_than_the_output_is_refused(basenji, genome, chrom, tmp_path):
    with pytest.raises(ConfigError, match=r"window_bp must be an int in 1\.\.224"):
        run(basenji, genome, [record(1000, chrom[1000], "N")], tmp_path / "o.tsv",
            window_bp=225)


# ---------------------------------------------------------------------------------------------
# Indels: alt bins aligned to the same genome bases
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("window_bp", [None, 64])
def test_deletion_removes_exactly_the_deleted_bases(basenji, genome, chrom, tmp_path, window_bp):
    pos0 = 1000
    rec = record(pos0, chrom[pos0 : pos0 + 17], chrom[pos0])  # deletes 16 bp = two bins
    deleted = chrom[pos0 + 1 : pos0 + 17]
    assert deleted.count("G") > 0
    table = run(basenji, genome, [rec], tmp_path / "out.tsv", window_bp=window_bp)
    row = table.iloc[0]
    assert row["task0_alt"] == row["task0_ref"] - deleted.count("G")
    assert row["task1_alt"] == row["task1_ref"] - deleted.count("A")


@pytest.mark.parametrize("window_bp", [None, 48])
def test_insertion_adds_exactly_the_inserted_bases(basenji, genome, chrom, tmp_path, window_bp):
    pos0 = 1200
    inserted = "GGGGAAAAGGGGCCCC"  # 16 bp: the flanks move by one bin each way
    rec = record(pos0, chrom[pos0], chrom[pos0] + inserted)
    table = run(basenji, genome, [rec], tmp_path / "out.tsv", window_bp=window_bp)
    row = table.iloc[0]
    assert row["task0_alt"] == row["task0_ref"] + 8
    assert row["task1_alt"] == row["task1_ref"] + 4


def test_bin_aligned_indels_brute_force(basenji, genome, chrom, tmp_path):
    """Deletions of 8k bp and insertions of 16k bp anywhere, also past the chromosome ends
    (N counts as no base) and longer than the window: alt = ref - deleted + inserted."""
    rng = np.random.default_rng(3)
    records, changes = [], []
    for pos0 in [5, 60, 700, 1333, 1900, 1990]:
        for size in (8, 16, 40, 400):
            ref = chrom[pos0 : pos0 + 1 + size]
            if pos0 + 1 + size <= len(chrom):
                records.append(record(pos0, ref, ref[0]))
                changes.append(-np.array([ref[1:].count("G"), ref[1:].count("A")]))
        for size in (16, 32):
            added = "".join(rng.choice(list("ACGT"), size))
            records.append(record(pos0, chrom[pos0], chrom[pos0] + added))
            changes.append(np.array([added.count("G"), added.count("A")]))
    table = run(basenji, genome, records, tmp_path / "o.tsv", batch_size=5)
    assert len(table) == len(records)
    for k, change in enumerate(changes):
        row = table.iloc[k]
        rec = records[k]
        if len(rec.ref) > L:  # the window lies inside the deletion: everything goes
            assert (row["task0_alt"], row["task1_alt"]) == (0, 0)
            continue
        got = np.array([row["task0_alt"] - row["task0_ref"], row["task1_alt"] - row["task1_ref"]])
        np.testing.assert_array_equal(got, change, err_msg=f"{rec}")


def test_deletion_bins_past_it_move_left(genome, chrom):
    """A 16 bp deletion pulls 16 new bases (two bins) in on the right: those alt bins are not
    summed, and the bins after the deletion are read two to the left."""
    pos0 = 1000
    rec = record(pos0, chrom[pos0 : pos0 + 17], chrom[pos0])
    ref_bins, alt_bins = scoring_bins(rec, L, BINS, BIN, *ref_span(rec))
    assert ref_bins.all()
    assert alt_bins[:-2].all() and not alt_bins[-2:].any()


def test_insertion_bins_drop_the_edges_the_alt_window_lacks(genome, chrom):
    rec = record(1200, chrom[1200], chrom[1200] + "A" * 16)
    ref_bins, alt_bins = scoring_bins(rec, L, BINS, BIN, *ref_span(rec))
    # The alt window shows 8 bp fewer on each side: one bin left out of both sums per end.
    assert not ref_bins[0] and not ref_bins[-1] and ref_bins[1:-1].all()
    assert alt_bins.all()


def test_odd_length_indel_is_within_half_a_bin(basenji, genome, chrom, tmp_path):
    pos0 = 1000
    rec = record(pos0, chrom[pos0 : pos0 + 4], chrom[pos0])  # 3 bp: rounds to no bin shift
    table = run(basenji, genome, [rec], tmp_path / "out.tsv", window_bp=64)
    row = table.iloc[0]
    # The right edge of the alt sum moves by 3 bp: at most 3 more or fewer Gs than exact.
    exact = row["task0_ref"] - chrom[pos0 + 1 : pos0 + 4].count("G")
    assert abs(row["task0_alt"] - exact) <= 3


# ---------------------------------------------------------------------------------------------
# Genes
# ---------------------------------------------------------------------------------------------


def test_gene_rows_skips_and_clipping(basenji, genome, chrom, tmp_path):
    genes = pd.DataFrame({
        "chrom": ["chr1", "chr1", "chr1"],
        "start": [990, 900, 1500],
        "end": [1030, 1400, 1600],
        "name": ["small", "long", "elsewhere"],
    })
    inside = record(1005, chrom[1005], other_base(chrom[1005]), "in")
    outside = record(1450, chrom[1450], other_base(chrom[1450]), "out")
    path = tmp_path / "genes.tsv"
    summary = coverage_variant_effects(basenji, genome, [inside, outside], path, genes=genes,
                                       device="cpu")
    table = pd.read_csv(path, sep="\t", dtype={"id": str})
    assert list(table.columns[:7]) == ["variant", "chrom", "pos", "id", "ref", "alt", "gene"]
    assert table["gene"].tolist() == ["small", "long"]
    assert table["variant"].tolist() == [0, 0]
    start, end = overlapped(inside, 990, 1030)
    assert table.loc[0, "task0_ref"] == chrom[start:end].count("G")
    # "long" (900-1400) is wider than the 224 bp output span: clipped to it.
    first, last = ref_span(inside)
    assert table.loc[1, "task0_ref"] == chrom[first:last].count("G")
    assert summary.scored == 1 and summary.rows == 2
    assert summary.clipped_genes == 1
    assert summary.skipped == {"not_in_gene": 1}
    assert "1 not_in_gene" in summary.describe()
    assert "chr1:1451" in summary.examples["not_in_gene"][0]


def test_genes_without_names_are_named_by_span(basenji, genome, chrom, tmp_path):
    genes = pd.DataFrame({"chrom": ["chr1"], "start": [990], "end": [1030]})
    table = run(basenji, genome, [record(1005, chrom[1005], other_base(chrom[1005]))],
                tmp_path / "o.tsv", genes=genes)
    assert table["gene"].tolist() == ["chr1:990-1030"]


def test_genes_and_window_bp_together_are_refused(basenji, genome, chrom, tmp_path):
    genes = pd.DataFrame({"chrom": ["chr1"], "start": [990], "end": [1030]})
    with pytest.raises(ConfigError, match="window_bp or genes, not both"):
        run(basenji, genome, [], tmp_path / "o.tsv", genes=genes, window_bp=16)


# ---------------------------------------------------------------------------------------------
# Coverage: strands, real model, VCF summary, wrong models
# ---------------------------------------------------------------------------------------------


def test_both_strands_reverses_the_bins_back(genome, chrom, tmp_path):
    model = build_model("basenji", input_length=L, n_tasks=1, bin_size=BIN, crop_bins=CROP,
                        channels=6, n_dilated=1)
    counting(model, "G")
    # G on the reverse strand is C on this one: the average counts (G + C) / 2 per bin.
    rec = record(1000, chrom[1000], other_base(chrom[1000]))
    table = run(model, genome, [rec], tmp_path / "o.tsv", window_bp=8, both_strands=True)
    start, end = overlapped(rec, 996, 1004)
    seq = chrom[start:end]
    assert table.loc[0, "task0_ref"] == pytest.approx((seq.count("G") + seq.count("C")) / 2)


def test_real_basenji_and_vcf_summary(genome, chrom, tmp_path):
    torch.manual_seed(0)
    model = build_model("basenji", input_length=L, n_tasks=2, bin_size=BIN, crop_bins=CROP,
                        channels=6, n_dilated=1)
    vcf = tmp_path / "v.vcf"
    vcf.write_text(HEADER
                   + f"chr1\t1001\tsnv\t{chrom[1000]}\t{other_base(chrom[1000])}\t.\t.\t.\n"
                   + f"chr1\t11\tdel\t{chrom[10:14]}\t{chrom[10]}\t.\t.\t.\n"  # N-padded
                   + "chrZ\t5\tbad\tA\tG\t.\t.\t.\n")
    records = read_vcf(vcf, genome)
    summary = coverage_variant_effects(model, genome, records, tmp_path / "o.tsv",
                                       device="cpu", batch_size=1)
    table = pd.read_csv(tmp_path / "o.tsv", sep="\t")
    assert table["id"].tolist() == ["snv", "del"]
    assert (table[["task0_ref", "task0_alt", "task1_ref", "task1_alt"]] >= 0).all().all()
    assert summary.padded == 1
    assert summary.skipped == {"unknown_chromosome": 1}
    assert summary.vcf is records.summary


def test_coverage_refuses_other_models(genome, tmp_path):
    basset = build_model("basset", input_length=L, n_tasks=2)
    with pytest.raises(ConfigError, match=r"coverage_variant_effects: the model must predict "
                                          r"binned coverage .* got Basset"):
        coverage_variant_effects(basset, genome, [], tmp_path / "o.tsv")


def test_task_names_must_match(basenji, genome, tmp_path):
    with pytest.raises(ConfigError, match="3 task names given but the model predicts 2"):
        coverage_variant_effects(basenji, genome, [], tmp_path / "o.tsv", tasks="abc")


# ---------------------------------------------------------------------------------------------
# Contacts
# ---------------------------------------------------------------------------------------------

AKITA = dict(input_length=2048, bin_size=64, crop_bins=2, n_tasks=2, stem_channels=4,
             tower_channels=4, residual_channels=4, residual_repeat=1, trunk_channels=4,
             channels_2d=4, residual_channels_2d=4, residual_repeat_2d=1, residual_dropout=0.0)
DEEPC = dict(input_length=2048, band_bins=8, bin_size=128, n_tasks=2, conv_channels=(4, 4),
             kernel_sizes=(8, 4), pool_sizes=(8, 8), channels=4, dilations=(1, 2), dropout=0.0)


def g_everywhere(model, entries: int):
    """Every output entry of task t = (t + 1) x the number of G in the window."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        g = x[:, 2].sum(-1)
        return torch.stack([g, 2 * g], dim=1)[..., None].expand(-1, -1, entries)

    model.forward = forward
    return model


def test_contact_scores_known_answers():
    ref = np.array([[0.0, 1.0, 2.0, np.nan, 5.0]])
    assert np.all(contact_scores(ref, ref)[..., [0, 1, 2]] == 0)
    alt = np.array([[3.0, 5.0, 2.0, 7.0, np.inf]])  # diffs 3, 4, 0; NaN and inf left out
    scd, biggest, mean = contact_scores(ref, alt)[0]
    assert scd == pytest.approx(5.0)
    assert biggest == 4.0
    assert mean == pytest.approx(7 / 3)
    assert np.isnan(contact_scores(np.full(2, np.nan), np.zeros(2))[1])


def test_akita_snv_scores_and_maps_round_trip(genome, chrom, tmp_path):
    model = build_model("akita", **AKITA)
    g_everywhere(model, model.n_pairs)
    g_pos = chrom.index("G", 1000)
    c_pos = chrom.index("C", 1000)
    records = [record(g_pos, "G", "A", "lose_g"), record(c_pos, "C", "T")]
    summary = contact_variant_effects(model, genome, records, tmp_path / "c.tsv",
                                      maps_npz=tmp_path / "maps.npz", device="cpu",
                                      batch_size=1, tasks=["a", "b"])
    table = pd.read_csv(tmp_path / "c.tsv", sep="\t")
    assert list(table.columns) == ["variant", "chrom", "pos", "id", "ref", "alt", "a_scd",
                                   "a_max_abs_diff", "a_mean_diff", "b_scd", "b_max_abs_diff",
                                   "b_mean_diff"]
    n = model.n_pairs
    # One G lost: every entry drops by 1 (task a) or 2 (task b).
    assert table.loc[0, "a_scd"] == pytest.approx(np.sqrt(n), rel=1e-5)
    assert table.loc[0, "b_scd"] == pytest.approx(2 * np.sqrt(n), rel=1e-5)
    assert (table.loc[0, "a_max_abs_diff"], table.loc[0, "a_mean_diff"]) == (1, -1)
    assert table.loc[0, "b_mean_diff"] == -2
    assert table.loc[1, ["a_scd", "b_scd", "a_max_abs_diff", "a_mean_diff"]].tolist() == [0] * 4
    assert summary.scored == 2 and summary.out_npz == tmp_path / "maps.npz"

    with np.load(tmp_path / "maps.npz") as maps:
        m = model.map_bins
        assert maps["ref"].shape == maps["alt"].shape == (2, 2, m, m)
        assert maps["ref"].dtype == np.float16
        assert maps["variant"].tolist() == [0, 1]
        assert maps["id"].tolist() == ["lose_g", "."]
        assert maps["pos"].tolist() == [g_pos + 1, c_pos + 1]
        assert maps["ref_allele"].tolist() == ["G", "C"]
        assert maps["tasks"].tolist() == ["a", "b"]
        assert str(maps["kind"]) == "contact_map"
        ref_seq, _, _ = variant_windows(genome, records[0], model.input_length)
        g = ref_seq.count("G")
        expected = np.full((m, m), float(g))
        near = np.abs(np.subtract.outer(np.arange(m), np.arange(m))) < model.diagonal_offset
        expected[near] = np.nan
        np.testing.assert_array_equal(maps["ref"][0, 0], expected.astype(np.float16))
        np.testing.assert_array_equal(maps["alt"][0, 1], (2 * expected - 2).astype(np.float16))
        assert np.isfinite(maps["ref"][0, 0]).sum() == 2 * n  # each pair twice


def test_real_akita_and_deepc_run(genome, chrom, tmp_path):
    torch.manual_seed(0)
    rec = record(1000, chrom[1000], other_base(chrom[1000]))
    for name, params, shape in (("akita", AKITA, None), ("deepc", DEEPC, (1, 2, 8))):
        model = build_model(name, **params).eval()
        out = tmp_path / f"{name}.tsv"
        contact_variant_effects(model, genome, [rec], out, maps_npz=tmp_path / f"{name}.npz",
                                device="cpu")
        table = pd.read_csv(out, sep="\t")
        assert table.shape == (1, 6 + 6)
        assert (table.filter(like="_scd") >= 0).all().all()
        with np.load(tmp_path / f"{name}.npz") as maps:
            if shape is not None:
                assert maps["ref"].shape == shape
                assert str(maps["kind"]) == "contact_strip"


def test_deepc_strip_scores(genome, chrom, tmp_path):
    model = build_model("deepc", **DEEPC)
    g_everywhere(model, model.band_bins)
    g_pos = chrom.index("G", 1000)
    contact_variant_effects(model, genome, [record(g_pos, "G", "T")], tmp_path / "d.tsv",
                            device="cpu")
    table = pd.read_csv(tmp_path / "d.tsv", sep="\t")
    assert table.loc[0, "task0_scd"] == pytest.approx(np.sqrt(8), rel=1e-5)
    assert table.loc[0, "task1_mean_diff"] == -2


def test_contacts_refuse_coverage_models(basenji, genome, tmp_path):
    with pytest.raises(ConfigError, match=r"contact_variant_effects: the model must predict "
                                          r"contacts .* got Basenji"):
        contact_variant_effects(basenji, genome, [], tmp_path / "o.tsv")
