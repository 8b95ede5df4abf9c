"""Variant effects: windows built by hand, known answers from a G-counting model, outputs."""

from __future__ import annotations

import pandas as pd
import pysam
import pytest
import torch
import typer
from torch import nn
from typer.testing import CliRunner

from dnalens.apply.variants import (
    score_columns,
    score_variants,
    variant_windows,
    write_variant_vcf,
)
from dnalens.errors import InputFileError
from dnalens.io.genome import Genome
from dnalens.io.variants import VariantRecord, read_vcf
from dnalens.sequence import decode, one_hot

CHR1 = "ACGTAACCGGTTAAACCCGGGTTTACGATCGATGCATGCA"  # 40 bp
CHR2 = "ACGTACGTAC"  # 10 bp
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


class CountBases(nn.Module):
    """Output column j = number of base ``bases[j]`` in the window: (batch, 4, L) -> (batch, j)."""

    def __init__(self, bases: str = "GA") -> None:
        super().__init__()
        self.rows = ["ACGT".index(b) for b in bases]
        self.seen: list[str] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.extend(decode(x))
        return x[:, self.rows, :].sum(dim=-1)


@pytest.fixture
def genome(tmp_path, write_fasta) -> Genome:
    return Genome(write_fasta(tmp_path / "g.fa", {"chr1": CHR1, "chr2": CHR2}))


def vcf_lines(*rows: str) -> str:
    return HEADER + "".join("\t".join([*row.split(), ".", ".", "."]) + "\n" for row in rows)


def record(chrom: str, pos0: int, ref: str, alt: str) -> VariantRecord:
    return VariantRecord(chrom, pos0, ref, alt, ".", 0)


# ---------------------------------------------------------------------------------------------
# Windows
# ---------------------------------------------------------------------------------------------


def test_snv_window_substitutes_at_the_centre(genome):
    # pos0 19 is a G; centre 19, window [14, 24).
    assert CHR1[19] == "G"
    ref, alt, padded = variant_windows(genome, record("chr1", 19, "G", "A"), 10)
    assert ref == "ACCCGGGTTT" == CHR1[14:24]
    assert alt == "ACCCGAGTTT"
    assert not padded


def test_deletion_window_extends_on_the_right(genome):
    # REF CGG at 17..19 (centre 18, window [13, 23)); ALT C: left flank kept, two more bases
    # from after the REF fill the right end.
    assert CHR1[17:20] == "CGG"
    ref, alt, _ = variant_windows(genome, record("chr1", 17, "CGG", "C"), 10)
    assert ref == "AACCCGGGTT" == CHR1[13:23]
    assert alt == "AACC" + "C" + "GTTTA"
    assert alt == CHR1[13:18] + CHR1[20:25]


def test_insertion_window_is_trimmed_equally_on_both_ends(genome):
    # REF G at 19 (window [14, 24)); ALT GTTTT adds 4 bases: 2 trimmed left, 2 right.
    ref, alt, _ = variant_windows(genome, record("chr1", 19, "G", "GTTTT"), 10)
    assert ref == "ACCCGGGTTT"
    assert alt == "CCG" + "GTTTT" + "GT"
    # An odd number of extra bases: the left end loses one fewer.
    _, alt3, _ = variant_windows(genome, record("chr1", 19, "G", "GAAA"), 10)
    assert alt3 == "CCCG" + "GAAA" + "GT"


def test_window_past_chromosome_end_is_padded_and_flagged(genome):
    ref, alt, padded = variant_windows(genome, record("chr2", 8, "A", "G"), 10)
    assert ref == "TACGTACNNN"
    assert alt == "TACGTGCNNN"
    assert padded


def test_windows_have_the_input_length_for_long_alleles(genome):
    for rec in (record("chr1", 5, CHR1[5:30], "A"), record("chr1", 5, "A", "C" * 25)):
        ref, alt, _ = variant_windows(genome, rec, 8)
        assert (len(ref), len(alt)) == (8, 8)


# ---------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------


def test_g_to_a_at_the_centre_changes_the_g_count_by_minus_one(genome, tmp_path):
    model = CountBases("GA")
    out = tmp_path / "effects.tsv"
    summary = score_variants(model, genome, [record("chr1", 19, "G", "A")], input_length=10,
                             tasks=["g", "a"], out_tsv=out, probabilities=False,
                             device="cpu")
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns) == score_columns(["g", "a"], probabilities=False)
    row = table.iloc[0]
    assert (row["g_ref"], row["g_alt"], row["g_diff"]) == (3, 2, -1)
    assert (row["a_ref"], row["a_alt"], row["a_diff"]) == (1, 2, 1)
    assert (row["chrom"], row["pos"], row["ref"], row["alt"]) == ("chr1", 20, "G", "A")
    assert summary.scored == 1 and not (tmp_path / "effects.tsv.tmp").exists()


def test_probabilities_give_log2fc(genome, tmp_path):
    out = tmp_path / "effects.tsv"
    score_variants(CountBases("G"), genome, [record("chr1", 19, "G", "A")], input_length=10,
                   tasks=["g"], out_tsv=out, device="cpu")
    row = pd.read_csv(out, sep="\t").iloc[0]
    ref, alt = torch.sigmoid(torch.tensor([3.0, 2.0])).tolist()
    assert row["g_ref"] == pytest.approx(ref, rel=1e-5)
    assert row["g_diff"] == pytest.approx(alt - ref, rel=1e-4)
    assert row["g_log2fc"] == pytest.approx(
        torch.log2(torch.tensor((alt + 1e-6) / (ref + 1e-6))).item(), rel=1e-4)


def test_both_strands_average_with_the_reverse_complement(genome, tmp_path):
    # G count of the reverse complement = C count of the window: (3 + 3) / 2 -> (2 + 3) / 2.
    out = tmp_path / "effects.tsv"
    score_variants(CountBases("G"), genome, [record("chr1", 19, "G", "A")], input_length=10,
                   tasks=["g"], out_tsv=out, probabilities=False, both_strands=True,
                   device="cpu")
    row = pd.read_csv(out, sep="\t").iloc[0]
    assert (row["g_ref"], row["g_alt"], row["g_diff"]) == (3.0, 2.5, -0.5)


def test_scores_match_a_brute_force_loop_on_a_small_mlp(genome, tmp_path, write_text):
    from dnalens.models.registry import build_model

    torch.manual_seed(0)
    model = build_model("mlp", input_length=20, n_tasks=2).eval()
    vcf = write_text("a.vcf", vcf_lines("chr1 20 . G A,C", "chr1 18 . CGG C", "1 20 . G GTT",
                                        "chr2 9 . A G"))
    records = list(read_vcf(vcf, genome))
    out = tmp_path / "effects.tsv"
    score_variants(model, genome, read_vcf(vcf, genome), input_length=20, tasks=["x", "y"],
                   out_tsv=out, batch_size=2, device="cpu")
    table = pd.read_csv(out, sep="\t")
    assert table["variant"].tolist() == [0, 1, 2, 3, 4]
    assert table["padded"].tolist() == [0, 0, 0, 0, 1]
    for i, rec in enumerate(records):
        ref, alt, _ = variant_windows(genome, rec, 20)
        with torch.no_grad():
            expected = torch.sigmoid(model(one_hot([ref, alt]))).numpy()
        assert table.loc[i, ["x_ref", "y_ref"]].tolist() == pytest.approx(expected[0], 1e-4)
        assert table.loc[i, ["x_alt", "y_alt"]].tolist() == pytest.approx(expected[1], 1e-4)


def test_empty_vcf_writes_a_header_only_table(genome, tmp_path, write_text):
    out = tmp_path / "effects.tsv"
    records = read_vcf(write_text("e.vcf", HEADER), genome)
    summary = score_variants(CountBases("G"), genome, records, input_length=10, tasks=["g"],
                             out_tsv=out, device="cpu")
    assert pd.read_csv(out, sep="\t").empty
    assert summary.total == 0 and summary.vcf.empty
    assert "no records" in summary.describe()


def test_skipped_records_are_counted_in_the_summary(genome, tmp_path, write_text):
    vcf = write_text("a.vcf", vcf_lines("chr1 20 . G A", "chr1 20 . T A", "chr7 3 . A C",
                                        "chr1 20 . G <DEL>"))
    summary = score_variants(CountBases("G"), genome, read_vcf(vcf, genome), input_length=10,
                             tasks=["g"], out_tsv=tmp_path / "o.tsv", device="cpu")
    assert summary.scored == 1
    assert summary.skipped == {"ref_mismatch": 1, "unknown_chromosome": 1,
                               "symbolic_allele": 1}


def test_resume_skips_the_rows_already_written(genome, tmp_path):
    records = [record("chr1", p, CHR1[p], "T" if CHR1[p] != "T" else "A") for p in range(5, 15)]
    full = tmp_path / "full.tsv"
    score_variants(CountBases("GA"), genome, records, input_length=10, tasks=["g", "a"],
                   out_tsv=full, probabilities=False, device="cpu")
    lines = full.read_text().splitlines(keepends=True)
    out = tmp_path / "part.tsv"
    # Interrupted after 4 variants, in the middle of the 5th line.
    (tmp_path / "part.tsv.tmp").write_text("".join(lines[:5]) + lines[5][:7])
    model = CountBases("GA")
    summary = score_variants(model, genome, records, input_length=10, tasks=["g", "a"],
                             out_tsv=out, probabilities=False, device="cpu", resume=True)
    assert (summary.resumed, summary.scored) == (4, 6)
    assert len(model.seen) == 2 * 6
    assert out.read_text() == full.read_text()
    # Resuming a finished table predicts nothing and leaves it as it was.
    again = score_variants(model, genome, records, input_length=10, tasks=["g", "a"],
                           out_tsv=out, probabilities=False, device="cpu", resume=True)
    assert (again.resumed, again.scored) == (10, 0)
    assert out.read_text() == full.read_text()


def test_resume_refuses_a_partial_file_from_other_inputs(genome, tmp_path):
    records = [record("chr1", 19, "G", "A"), record("chr1", 20, "G", "A")]
    out = tmp_path / "o.tsv"
    score_variants(CountBases("G"), genome, records[:1], input_length=10, tasks=["g"],
                   out_tsv=out, probabilities=False, device="cpu")
    out.rename(tmp_path / "o.tsv.tmp")
    with pytest.raises(InputFileError, match="cannot resume: row 1 is"):
        score_variants(CountBases("G"), genome, records[1:], input_length=10, tasks=["g"],
                       out_tsv=out, probabilities=False, device="cpu", resume=True)
    with pytest.raises(InputFileError, match="expected the header"):
        score_variants(CountBases("G"), genome, records, input_length=10, tasks=["other"],
                       out_tsv=out, probabilities=False, device="cpu", resume=True)


@pytest.mark.parametrize("name", ["effects.vcf", "effects.vcf.gz"])
def test_vcf_output_carries_the_info_field(genome, tmp_path, name):
    records = [record("chr1", 19, "G", "A"), record("chr2", 8, "A", "G")]
    out_vcf = tmp_path / name
    score_variants(CountBases("GA"), genome, records, input_length=10, tasks=["g", "a"],
                   out_tsv=tmp_path / "o.tsv", out_vcf=out_vcf, probabilities=False,
                   device="cpu")
    with pysam.VariantFile(str(out_vcf)) as vcf:
        assert "DNALENS" in vcf.header.info
        assert "task|ref|alt|diff|log2fc" in vcf.header.info["DNALENS"].description
        rows = list(vcf)
    assert [(r.chrom, r.pos, r.ref, r.alts) for r in rows] == [
        ("chr1", 20, "G", ("A",)), ("chr2", 9, "A", ("G",))]
    assert rows[0].info["DNALENS"] == ("g|3|2|-1|", "a|1|2|1|")
    assert "DNALENS_PADDED" not in rows[0].info
    assert rows[1].info["DNALENS_PADDED"]


def test_write_variant_vcf_refuses_task_names_info_cannot_hold(genome, tmp_path):
    from dnalens.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot carry"):
        write_variant_vcf(tmp_path / "o.tsv", tmp_path / "o.vcf", genome, ["a|b"])


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def test_cli_end_to_end(genome, tmp_path, write_text):
    from dnalens.cli.variants import register
    from dnalens.models.registry import build_model
    from dnalens.models.store import save_model

    run = save_model(build_model("mlp", input_length=20, n_tasks=2), tmp_path / "run",
                     tasks=["x", "y"])
    vcf = write_text("a.vcf", vcf_lines("1 20 rs1 G A,C", "chr1 20 . T A", "chr2 9 . A <DEL>"))
    app = typer.Typer()
    register(app)
    app.command("noop", hidden=True)(lambda: None)  # keep `variants` a named subcommand
    out, out_vcf = tmp_path / "o.tsv", tmp_path / "o.vcf.gz"
    result = CliRunner().invoke(app, [
        "variants", str(run), "--vcf", str(vcf), "--genome", str(genome.path), "--out",
        str(out), "--out-vcf", str(out_vcf), "--both-strands", "--batch-size", "1",
        "--device", "cpu"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, sep="\t")
    assert table["id"].tolist() == ["rs1", "rs1"]
    assert table["alt"].tolist() == ["A", "C"]
    assert "2 kept; 2 skipped (1 ref_mismatch, 1 symbolic_allele)" in result.output
    assert "2 variants scored" in result.output
    with pysam.VariantFile(str(out_vcf)) as written:
        assert len(list(written)) == 2


def test_cli_devices_runs_the_predict_loop_and_writes_the_same_table(genome, tmp_path,
                                                                    write_text):
    from dnalens.cli.variants import register
    from dnalens.models.registry import build_model
    from dnalens.models.store import save_model

    run = save_model(build_model("mlp", input_length=20, n_tasks=2), tmp_path / "run",
                     tasks=["x", "y"])
    vcf = write_text("a.vcf", vcf_lines("1 20 rs1 G A,C", "chr1 7 . C T"))
    app = typer.Typer()
    register(app)
    app.command("noop", hidden=True)(lambda: None)
    common = ["variants", str(run), "--vcf", str(vcf), "--genome", str(genome.path),
              "--device", "cpu", "--batch-size", "2"]
    plain = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "a.tsv")])
    ddp = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "b.tsv"), "--devices", "1"])
    assert plain.exit_code == 0 and ddp.exit_code == 0, ddp.output
    assert "3 variants scored on 1 device(s)" in ddp.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.tsv", sep="\t"),
                                  pd.read_csv(tmp_path / "b.tsv", sep="\t"))
    refused = CliRunner().invoke(app, [*common, "--out", str(tmp_path / "c.tsv"),
                                       "--devices", "1", "--resume"])
    assert refused.exit_code != 0
