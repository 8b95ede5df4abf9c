"""Chromosome names and lengths against the genome: renames, assembly guesses, hints."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd
import pytest

from dnalens.errors import ContigError, CoordinateError
from dnalens.io.contigs import (
    KNOWN_ASSEMBLIES,
    check_within_chromosomes,
    describe_missing_contig,
    guess_assembly,
    match_contigs,
)


class FakeGenome:
    """What the contig checks read from a Genome: chrom_sizes, chroms and path."""

    def __init__(self, chrom_sizes: dict[str, int], path: str = "genome.fa") -> None:
        self.chrom_sizes = chrom_sizes
        self.path = Path(path)

    @property
    def chroms(self) -> list[str]:
        return list(self.chrom_sizes)


UCSC = FakeGenome({"chr1": 1000, "chr2": 500, "chrM": 100})
ENSEMBL = FakeGenome({"1": 1000, "2": 500, "MT": 100})


def test_guess_assembly_hg38_with_ucsc_names():
    sizes = {f"chr{c}": n for c, n in KNOWN_ASSEMBLIES["hg38"].items()}
    sizes["chrM"] = 16569
    sizes["chrUn_KI270302v1"] = 2274
    assert guess_assembly(sizes) == "hg38"


def test_guess_assembly_hg19_with_ensembl_names():
    assert guess_assembly(dict(KNOWN_ASSEMBLIES["hg19"])) == "hg19"


def test_guess_assembly_from_one_shared_chromosome():
    assert guess_assembly({"chr1": 248956422}) == "hg38"
    assert guess_assembly({"1": 249250621}) == "hg19"


def test_guess_assembly_unknown():
    assert guess_assembly({"chr1": 1000}) is None
    assert guess_assembly({"scaffold_1": 248956422}) is None  # no shared name
    # One mismatching length is enough to rule an assembly out.
    mixed = {"chr1": 248956422, "chr2": 243199373}
    assert guess_assembly(mixed) is None


def test_match_contigs_identity():
    assert match_contigs(["chr1", "chr2", "chr1"], UCSC, source="a.bed") == {
        "chr1": "chr1", "chr2": "chr2"}


def test_match_contigs_renames_and_logs(caplog):
    with caplog.at_level(logging.WARNING, logger="dnalens.io.contigs"):
        mapping = match_contigs(["1", "2", "MT"], UCSC, source="a.bed")
    assert mapping == {"1": "chr1", "2": "chr2", "MT": "chrM"}
    assert "a.bed: renamed chromosomes to the genome's style: '1->chr1'" in caplog.text


def test_match_contigs_renames_ucsc_to_ensembl():
    assert match_contigs(["chr1", "chrM"], ENSEMBL, source="a.bed") == {"chr1": "1", "chrM": "MT"}


def test_match_contigs_without_rename_states_the_mapping_to_use():
    expected = ("a.bed: chromosome '1' is not in genome.fa, which names it 'chr1'; map the names "
                "(rename_contigs: true in the config, or chrom_map: {'1': 'chr1'})")
    with pytest.raises(ContigError, match=re.escape(expected)):
        match_contigs(["chr2", "1"], UCSC, source="a.bed", rename=False)


def test_match_contigs_chrom_map_applied_first():
    mapping = match_contigs(["scaffold_1", "chr2", "two"], UCSC, source="a.bed",
                            chrom_map={"scaffold_1": "chr1", "two": "2"}, rename=True)
    assert mapping == {"scaffold_1": "chr1", "chr2": "chr2", "two": "chr2"}


def test_match_contigs_unknown_name_lists_the_genome_names():
    expected = "a.bed: chromosome 'chrZ' is not in genome.fa (has 'chr1', 'chr2', 'chrM')"
    with pytest.raises(ContigError, match=re.escape(expected)):
        match_contigs(["chr1", "chrZ"], UCSC, source="a.bed")


def test_missing_contig_message_shortens_long_name_lists():
    genome = FakeGenome({f"chr{i}": 10 for i in range(1, 31)})
    message = describe_missing_contig("chrZ", genome)
    assert message == ("chromosome 'chrZ' is not in genome.fa (has 'chr1', 'chr2', 'chr3', "
                       "'chr4', 'chr5', 'chr6', ... (30 in all))")


def frame(rows, with_line=True):
    df = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    if with_line:
        df["line"] = range(5, 5 + len(df))
    return df


def test_check_within_chromosomes_accepts_intervals_inside():
    check_within_chromosomes(frame([("chr1", 0, 1000), ("chr2", 10, 20)]), UCSC, source="a.bed")


def test_check_within_chromosomes_names_file_line_and_length():
    df = frame([("chr1", 0, 1000), ("chr2", 400, 501), ("chr2", 450, 600)])
    expected = ("a.bed:6: interval chr2:400-501 ends past the end of chr2 (500 bp in genome.fa); "
                "2 interval(s) do")
    with pytest.raises(CoordinateError, match=re.escape(expected)):
        check_within_chromosomes(df, UCSC, source="a.bed")


def test_check_within_chromosomes_without_line_column():
    df = frame([("chr2", 400, 501)], with_line=False)
    with pytest.raises(CoordinateError, match=r"^a\.bed: interval chr2:400-501 ends past"):
        check_within_chromosomes(df, UCSC, source="a.bed")


def test_past_the_end_of_hg38_suggests_hg19():
    genome = FakeGenome({"chr1": 248956422}, path="hg38.fa")
    df = frame([("chr1", 248_999_000, 249_000_000)])
    expected = ("peaks.bed:5: interval chr1:248999000-249000000 ends past the end of chr1 "
                "(248,956,422 bp in hg38.fa); 1 interval(s) do; it fits hg19 (hg38.fa looks like "
                "hg38): were the coordinates made on hg19?")
    with pytest.raises(CoordinateError, match=re.escape(expected)):
        check_within_chromosomes(df, genome, source="peaks.bed")


def test_past_the_end_of_every_known_assembly_gets_no_hint():
    genome = FakeGenome({"chr1": 249250621}, path="hg19.fa")  # hg19's chr1 is the longer one
    df = frame([("chr1", 249_250_000, 249_260_000)])
    with pytest.raises(CoordinateError, match=r"1 interval\(s\) do$"):
        check_within_chromosomes(df, genome, source="peaks.bed")


def test_toy_genome_is_called_shorter_not_another_build():
    # A 1 kb toy genome is no evidence of any build: say the genome is shorter than the BED's.
    genome = FakeGenome({"chr1": 1000}, path="mine.fa")
    df = frame([("chr1", 900, 2000)])
    expected = ("peaks.bed:5: interval chr1:900-2000 ends past the end of chr1 (1,000 bp in "
                "mine.fa); 1 interval(s) do; is the BED for another genome, or mine.fa only part "
                "of it? give the full genome with --genome (genome: in a config)")
    with pytest.raises(CoordinateError, match=f"^{re.escape(expected)}$"):
        check_within_chromosomes(df, genome, source="peaks.bed")


def test_slice_of_hg38_gets_no_build_hint():
    # The shared chr2_hg38 genome: 1.75 Mb of hg38 chr2. A BED made on full hg38 (or hg19)
    # overruns it because the genome is a slice, not because of the build.
    genome = FakeGenome({"chr2": 1_750_000}, path="chr2_1-1750000.hg38.fa.gz")
    df = frame([("chr2", 1_999_000, 2_000_000)])
    with pytest.raises(CoordinateError) as info:
        check_within_chromosomes(df, genome, source="peaks.bed")
    message = str(info.value)
    assert "hg19" not in message
    assert "check the genome build" not in message
    assert message.endswith("is the BED for another genome, or chr2_1-1750000.hg38.fa.gz only "
                            "part of it? give the full genome with --genome (genome: in a config)")


def test_match_contigs_names_the_line_when_given():
    with pytest.raises(ContigError, match=re.escape(
            "a.bed:7: chromosome 'chrZ' is not in genome.fa (has 'chr1', 'chr2', 'chrM')")):
        match_contigs(["chr1", "chrZ"], UCSC, source="a.bed", lines={"chr1": 2, "chrZ": 7})
