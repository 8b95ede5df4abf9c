"""Property tests: GTF/GFF, SpliceAI gene tables and BEDPE, random and damaged.

Random valid files parse to the values they were written from (GTF's 1-based inclusive
coordinates come back 0-based half-open); every damaged version either parses (to the same
values, for a harmless re-encoding such as CRLF, a BOM or gzip) or raises a one-line
DnalensError naming the file. ``CASES`` counts the examples for benchmarks/fuzz_parsers.py.
"""

from __future__ import annotations

import collections
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parser_fuzz_cases import BENIGN, check_refusal, mutated, names

from dnalens.io.annotation import read_gene_table, read_gtf
from dnalens.io.genome import Genome
from dnalens.io.pairs import read_bedpe

CASES: collections.Counter[str] = collections.Counter()
# benchmarks/fuzz_parsers.py raises the count through DNALENS_FUZZ_EXAMPLES.
SETTINGS = settings(max_examples=int(os.environ.get("DNALENS_FUZZ_EXAMPLES", "80")),
                    deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TABLE_HEADER = "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
CHROM_SIZES = {"chr1": 1000, "chr2": 500}


@st.composite
def transcripts(draw: st.DrawFn) -> list[dict]:
    """1 to 4 transcripts, each with 1 to 4 non-overlapping exons (0-based half-open)."""
    out = []
    for k in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, 5000))
        starts, ends = [], []
        for e in range(draw(st.integers(1, 4))):
            pos += draw(st.integers(1, 60)) if e else 0
            starts.append(pos)
            pos += draw(st.integers(1, 60))
            ends.append(pos)
        out.append({"id": f"T{k}", "gene": draw(names), "starts": starts, "ends": ends,
                    "chrom": draw(st.sampled_from(["chr1", "2", "NC_004353.4"])),
                    "strand": draw(st.sampled_from("+-"))})
    return out


def _gtf_text(txs: list[dict], reverse: bool = False) -> str:
    """RefSeq-like GTF: gene rows with ``transcript_id ""``, transcript rows, exon rows."""
    rows = []
    for k, t in enumerate(txs):
        lo, hi = t["starts"][0] + 1, t["ends"][-1]  # 0-based half-open -> 1-based inclusive
        ids = f'gene_id "G{k}"; transcript_id "{t["id"]}"; gene_name "{t["gene"]}";'
        rows.append(f'{t["chrom"]}\tsrc\tgene\t{lo}\t{hi}\t.\t{t["strand"]}\t.\t'
                    f'gene_id "G{k}"; transcript_id ""; gene_name "{t["gene"]}";')
        rows.append(f'{t["chrom"]}\tsrc\ttranscript\t{lo}\t{hi}\t.\t{t["strand"]}\t.\t{ids}')
        exons = [f'{t["chrom"]}\tsrc\texon\t{s + 1}\t{e}\t.\t{t["strand"]}\t.\t{ids} '
                 f'exon_number "{n + 1}";'
                 for n, (s, e) in enumerate(zip(t["starts"], t["ends"], strict=True))]
        rows.extend(exons[::-1] if reverse else exons)
    return "#!genome-build test\n" + "\n".join(rows) + "\n"


def _table_text(txs: list[dict]) -> str:
    rows = [f'{t["gene"]}\t{t["chrom"]}\t{t["strand"]}\t{t["starts"][0]}\t{t["ends"][-1]}\t'
            + "".join(f"{s}," for s in t["starts"]) + "\t" + "".join(f"{e}," for e in t["ends"])
            for t in txs]
    return TABLE_HEADER + "\n".join(rows) + "\n"


def _as_tuples(table) -> list[tuple]:
    return sorted((t.name, t.chrom, t.strand, t.tx_start, t.tx_end, tuple(t.exon_starts.tolist()),
                   tuple(t.exon_ends.tolist())) for t in table)


def _expected(txs: list[dict]) -> list[tuple]:
    return sorted((t["gene"], t["chrom"], t["strand"], t["starts"][0], t["ends"][-1],
                   tuple(t["starts"]), tuple(t["ends"])) for t in txs)


def _write(folder: str, name: str, data: bytes | str) -> Path:
    path = Path(folder) / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


@SETTINGS
@given(txs=transcripts(), reverse=st.booleans())
def test_random_gtf_parses_to_half_open_exons(txs, reverse):
    CASES["gtf valid"] += 1
    with tempfile.TemporaryDirectory() as folder:  # exon lines in either order
        table = read_gtf(_write(folder, "a.gtf", _gtf_text(txs, reverse)), transcripts="all")
    assert _as_tuples(table) == _expected(txs)


@SETTINGS
@given(txs=transcripts())
def test_random_gene_table_parses(txs):
    CASES["gene table valid"] += 1
    with tempfile.TemporaryDirectory() as folder:
        table = read_gene_table(_write(folder, "genes.txt", _table_text(txs)))
    assert _as_tuples(table) == _expected(txs)


# Each transcript format: (how it is written, how it is read, the damaged file's name).
FORMATS = {
    "gtf": (_gtf_text, lambda p: read_gtf(p, transcripts="all"), "damaged.gtf"),
    "gene table": (_table_text, read_gene_table, "damaged_genes.txt"),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@SETTINGS
@given(txs=transcripts(), data=st.data())
def test_damaged_transcripts_parse_or_name_the_file(fmt, txs, data):
    write_text, read, name = FORMATS[fmt]
    kind, damaged = data.draw(mutated(write_text(txs)))
    CASES[f"{fmt} mutated"] += 1
    with tempfile.TemporaryDirectory() as folder:
        got = check_refusal(read, _write(folder, name, damaged))
    if kind in BENIGN:
        assert got is not None and _as_tuples(got) == _expected(txs)


@pytest.fixture(scope="module")
def genome():
    with tempfile.TemporaryDirectory() as folder:
        fasta = Path(folder) / "genome.fa"
        fasta.write_text("".join(f">{c}\n{'ACGT' * (n // 4)}\n" for c, n in CHROM_SIZES.items()))
        yield Genome(fasta)


@st.composite
def pairs(draw: st.DrawFn) -> list[tuple]:
    """1 to 6 pairs (chrom1, start1, end1, chrom2, start2, end2, label) inside the genome."""
    out = []
    for _ in range(draw(st.integers(1, 6))):
        row = []
        for _anchor in (1, 2):
            chrom = draw(st.sampled_from(sorted(CHROM_SIZES)))
            start = draw(st.integers(0, CHROM_SIZES[chrom] - 1))
            row += [chrom, start, draw(st.integers(start + 1, CHROM_SIZES[chrom]))]
        out.append((*row, draw(st.sampled_from([0.0, 1.0]))))
    return out


def _bedpe_text(rows: list[tuple], header: bool) -> str:
    head = "#chrom1\tstart1\tend1\tchrom2\tstart2\tend2\tlabel\n" if header else ""
    return head + "".join("\t".join(str(v) for v in r[:6]) + f"\t{int(r[6])}\n" for r in rows)


def _pair_values(df) -> list[tuple]:
    columns = ["chrom1", "start1", "end1", "chrom2", "start2", "end2", "label"]
    return [tuple(r) for r in df[columns].itertuples(index=False)]


@SETTINGS
@given(rows=pairs(), header=st.booleans())
def test_random_bedpe_parses(genome, rows, header):
    CASES["bedpe valid"] += 1
    with tempfile.TemporaryDirectory() as folder:
        df = read_bedpe(_write(folder, "p.bedpe", _bedpe_text(rows, header)), genome)
    assert _pair_values(df) == rows
    assert df["line"].tolist() == list(range(1 + header, len(rows) + 1 + header))


@SETTINGS
@given(rows=pairs(), header=st.booleans(), data=st.data())
def test_damaged_bedpe_parses_or_names_the_file(genome, rows, header, data):
    kind, damaged = data.draw(mutated(_bedpe_text(rows, header)))
    CASES["bedpe mutated"] += 1
    with tempfile.TemporaryDirectory() as folder:
        got = check_refusal(lambda p: read_bedpe(p, genome),
                            _write(folder, "damaged.bedpe", damaged))
    if kind in BENIGN:
        assert got is not None and _pair_values(got) == rows
