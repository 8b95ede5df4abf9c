"""Real users' VCFs through `dnalens variants` and `splice score`: a faulty record is skipped,
counted and named by its line while every good record is scored exactly as in a clean file; a
faulty file is one `error:` line, exit 2, and nothing is left behind."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pysam
import pytest

from dnalens.cli.main import main
from planted import scoring_inputs, write_planted_genome

HEADER = "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
GOOD_POSITIONS = (150, 250, 350, 450, 550, 650)


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("vcf_faults")
    genome, bed = write_planted_genome(root)
    return scoring_inputs(root, genome, bed, name="tiny", exons="100\t900\t100,400,\t300,900,")


def _alt(base: str) -> str:
    return "ACGT"[("ACGT".index(base) + 1) % 4]


def _good_lines(seq: str) -> list[str]:
    return [f"chr1\t{p + 1}\tv{p}\t{seq[p]}\t{_alt(seq[p])}\t.\tPASS\t." for p in GOOD_POSITIONS]


def _vcf_text(seq: str, bad: str | None = None, header: str = HEADER) -> str:
    """The good records, with ``bad`` as the third record (line 6 of the file)."""
    lines = _good_lines(seq)
    if bad is not None:
        lines.insert(2, bad)
    return header + "\n".join(lines) + "\n"


def _score(command: str, setup: dict, vcf: Path, out_dir: Path) -> tuple[int, pd.DataFrame | None]:
    """Run one command; its exit status and its table (None when it wrote none)."""
    table = out_dir / f"{command}.tsv"
    if command == "variants":
        args = ["variants", str(setup["run"]), "--vcf", str(vcf), "--out", str(table),
                "--out-vcf", str(out_dir / "variants.vcf")]
    else:
        args = ["splice", "score", "--vcf", str(vcf), "--genome", str(setup["genome"]),
                "--annotation", str(setup["genes"]), "--model", str(setup["splice_model"]),
                "--out", str(out_dir / "splice.vcf.gz"), "--out-tsv", str(table),
                "--distance", "10", "--device", "cpu"]
    code = main(args)
    return code, (pd.read_csv(table, sep="\t") if table.exists() else None)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


@pytest.fixture(scope="module")
def clean_tables(setup) -> dict[str, pd.DataFrame]:
    folder = setup["root"] / "clean"
    folder.mkdir()
    vcf = folder / "clean.vcf"
    vcf.write_text(_vcf_text(setup["seq"]))
    tables = {}
    for command in ("variants", "splice"):
        code, table = _score(command, setup, vcf, folder)
        assert code == 0 and table is not None and len(table) == len(GOOD_POSITIONS)
        tables[command] = table
    return tables


BAD_RECORDS = {
    "too_few_columns": ("chr1\t300\tbad", "expected 8 tab-separated columns", "found 3"),
    "spaces_not_tabs": ("chr1 300 bad A C . . .", "found 1 (separated by spaces, not tabs?)",
                        "malformed_record"),
    "pos_zero": ("chr1\t0\tp0\tA\tC\t.\t.\t.", "POS 0 is not a position", "invalid_position"),
    "pos_not_a_number": ("chr1\t3e2\tpx\tA\tC\t.\t.\t.", "POS must be a whole number, found "
                         "'3e2'", "malformed_record"),
    "unknown_chromosome": ("chr9\t11\tuc\tA\tT\t.\t.\t.", "chr9", "unknown_chromosome"),
    "bad_info": ("chr1\t300\tbi\tA\tC\t.\t.\t=x", "INFO entry '=x' is not KEY or KEY=VALUE",
                 "malformed_record"),
}


@pytest.mark.parametrize("command", ["variants", "splice"])
@pytest.mark.parametrize("case", sorted(BAD_RECORDS))
def test_a_bad_record_is_skipped_named_and_the_rest_scored_exactly(
        command, case, setup, clean_tables, tmp_path, capsys):
    bad, message, reason = BAD_RECORDS[case]
    vcf = tmp_path / "in.vcf"
    vcf.write_text(_vcf_text(setup["seq"], bad))
    code, table = _score(command, setup, vcf, tmp_path)
    assert code == 0
    pd.testing.assert_frame_equal(table, clean_tables[command])
    err = capsys.readouterr().err
    assert f"{vcf}:6:" in err and message in err and reason in err, err
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("command", ["variants", "splice"])
def test_a_ref_that_disagrees_with_the_genome_is_skipped(command, setup, clean_tables,
                                                         tmp_path, capsys):
    seq = setup["seq"]
    wrong = _alt(seq[299])
    vcf = tmp_path / "in.vcf"
    vcf.write_text(_vcf_text(seq, f"chr1\t300\tmm\t{wrong}\t{_alt(wrong)}\t.\t.\t."))
    code, table = _score(command, setup, vcf, tmp_path)
    assert code == 0
    pd.testing.assert_frame_equal(table, clean_tables[command])
    err = capsys.readouterr().err
    assert "ref_mismatch" in err and f"{vcf}:6:" in err
    assert "chr1:300 " in err and f"REF expected '{seq[299]}' (from genome.fa), found " \
        f"'{wrong}' in the VCF" in err


@pytest.mark.parametrize("command", ["variants", "splice"])
def test_plain_gzip_reads_as_the_plain_file(command, setup, clean_tables, tmp_path):
    vcf = tmp_path / "in.vcf.gz"
    vcf.write_bytes(gzip.compress(_vcf_text(setup["seq"]).encode()))  # not bgzip
    code, table = _score(command, setup, vcf, tmp_path)
    assert code == 0
    pd.testing.assert_frame_equal(table, clean_tables[command])


@pytest.mark.parametrize("command", ["variants", "splice"])
def test_header_without_contig_or_info_lines_gives_a_valid_vcf(command, setup, tmp_path):
    """htslib exits the process on such a record; the output header gets the lines added."""
    symbolic = "chr1\t500\tsv\tN\t<DEL>\t.\tPASS\tSVTYPE=DEL;END=600"
    vcf = tmp_path / "in.vcf"
    vcf.write_text(_vcf_text(setup["seq"], symbolic,
                             header=HEADER.replace("##contig=<ID=chr1>\n", "")))
    code, _ = _score(command, setup, vcf, tmp_path)
    assert code == 0
    out = tmp_path / ("variants.vcf" if command == "variants" else "splice.vcf.gz")
    with pysam.VariantFile(str(out)) as result:
        assert "chr1" in result.header.contigs
        records = list(result)
    assert [list(r.filter) for r in records if r.id != "sv"] == [["PASS"]] * 6
    if command == "splice":  # passed through unscored, its INFO defined in the header
        (sv,) = [r for r in records if r.id == "sv"]
        assert sv.stop == 600 and sv.info["SVTYPE"] == ("DEL",)


def _one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


FILE_FAULTS = {
    "empty": (b"", "no '#CHROM POS ID REF ALT QUAL FILTER INFO' header line"),
    "binary": (b"\x00\x01\x02\xff garbage", ":1: cannot be read as a VCF"),
    "no_header": (b"chr1\t10\t.\tA\tC\t.\t.\t.\n", ":1: cannot be read as a VCF: expected '##'"),
    "bcf": (b"BCF\x02\x02rest", "is a BCF (binary) file"),
}


@pytest.mark.parametrize("command", ["variants", "splice"])
@pytest.mark.parametrize("case", [*sorted(FILE_FAULTS), "truncated_gzip", "missing"])
def test_a_file_that_is_not_a_vcf_is_one_error_line(command, case, setup, tmp_path, capsys):
    vcf = tmp_path / "in.vcf"
    if case == "truncated_gzip":
        vcf = tmp_path / "in.vcf.gz"
        vcf.write_bytes(gzip.compress(_vcf_text(setup["seq"]).encode())[:-30])
        expected = "the compressed data is corrupt or cut short"
    elif case == "missing":
        expected = "no such VCF file"
    else:
        data, expected = FILE_FAULTS[case]
        vcf.write_bytes(data)
    code, table = _score(command, setup, vcf, tmp_path)
    assert code == 2 and table is None
    line = _one_error_line(capsys)
    assert line.startswith(f"error: {vcf}") and expected in line, line
    assert _leftovers(tmp_path) == [] and not any(p.name.startswith(("variants", "splice"))
                                                 for p in tmp_path.iterdir())
