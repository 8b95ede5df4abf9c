"""Splice-variant delta scores match the original SpliceAI tool record by record.

``../shared/spliceai/`` holds 180 VCF records on real hg38 sequence (SNVs at and near exon
boundaries, deletions, insertions, multi-allelic and intergenic records) and the output of
``spliceai -D 50`` with and without ``-M 1``. Both are checked from one scoring pass: every
record must carry the same entries, each score within 0.01 (SpliceAI prints two decimals)
and each position equal wherever its score is not negligible.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pysam
import pytest

from dnalens.apply.splice_vcf import splice_scores
from dnalens.apply.splicing import SpliceSummary
from dnalens.io.annotation import read_gene_table
from dnalens.io.genome import Genome

pytestmark = pytest.mark.slow

TOLERANCE = 0.01
NEGLIGIBLE = 0.02  # below this a score's argmax position is a tie-break among ~zeros


def _expected(path: Path) -> dict[str, list[str]]:
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        info = fields[7]
        out[fields[2]] = info.removeprefix("SpliceAI=").split(",") if info != "." else []
    return out


@pytest.fixture(scope="module")
def scored(shared_dir: Path) -> tuple[dict, SpliceSummary]:
    folder = shared_dir / "spliceai"
    if not (folder / "expected_D50.vcf").is_file():
        pytest.skip("../shared/spliceai/expected_D50.vcf is absent")
    if importlib.util.find_spec("spliceai") is None:
        pytest.skip("the spliceai package (weights) is not installed; pip install -e '.[splice]'")
    from dnalens.models.spliceai_keras import import_spliceai, published_h5_paths

    model, _ = import_spliceai(published_h5_paths())
    genome = Genome(folder / "genome_chr2_0_2333275.fa")
    genes = read_gene_table(folder / "annotation.txt")
    summary = SpliceSummary(Path("-"))
    with pysam.VariantFile(str(folder / "variants.vcf")) as source:
        results = {s.record.id: (s.entries, s.masked)
                   for s in splice_scores(model, genome, genes, source, distance=50,
                                          summary=summary)}
    return results, summary


def _compare(ours: list[str], theirs: list[str], record: str) -> None:
    assert len(ours) == len(theirs), (record, ours, theirs)
    for mine, expected in zip(ours, theirs, strict=True):
        a, b = mine.split("|"), expected.split("|")
        assert a[:2] == b[:2], (record, mine, expected)  # allele and gene
        if b[2] == ".":
            assert a[2:] == b[2:], (record, mine, expected)
            continue
        for k in range(4):
            score, position = float(b[2 + k]), int(b[6 + k])
            assert abs(float(a[2 + k]) - score) <= TOLERANCE + 1e-9, (record, mine, expected)
            if abs(score) >= NEGLIGIBLE:
                assert int(a[6 + k]) == position, (record, k, mine, expected)


@pytest.mark.parametrize("masked, name", [(False, "expected_D50.vcf"),
                                          (True, "expected_D50_masked.vcf")])
def test_every_record_matches_the_original(scored, shared_dir, masked, name):
    results, _ = scored
    expected = _expected(shared_dir / "spliceai" / name)
    assert set(results) == set(expected)
    for record, theirs in expected.items():
        _compare(results[record][int(masked)], theirs, record)


def test_intergenic_records_are_counted_not_scored(scored):
    results, summary = scored
    intergenic = [r for r in results if "intergenic" in r]
    assert len(intergenic) == 9 and all(results[r] == ([], []) for r in intergenic)
    assert summary.skipped["outside_genes"] == 9
    assert summary.records == 180
