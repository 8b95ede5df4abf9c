"""Property tests: FASTA, BED/narrowPeak and VCF, random and damaged.

Random valid files parse to the values they were written from (VCF's 1-based POS comes back
0-based); every damaged version either parses or raises a one-line DnalensError naming the
file, and a damaged VCF record is a skipped record whose message names its line, never a
lost file. ``CASES`` counts the examples for benchmarks/fuzz_parsers.py.
"""

from __future__ import annotations

import collections
import gzip
import os
import tempfile
from pathlib import Path

import pysam
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parser_fuzz_cases import check_refusal, mutated

from dnalens.errors import DnalensError
from dnalens.io.genome import Genome
from dnalens.io.intervals import read_bed
from dnalens.io.variants import read_vcf
from dnalens.io.vcf_text import VcfFault, VcfLine, VcfText

CASES: collections.Counter[str] = collections.Counter()
# benchmarks/fuzz_parsers.py raises the count through DNALENS_FUZZ_EXAMPLES.
SETTINGS = settings(max_examples=int(os.environ.get("DNALENS_FUZZ_EXAMPLES", "80")),
                    deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
IUPAC = "ACGTNRYSWKMBDHVacgtnryswkmbdhv"
SEQ_NAMES = st.from_regex(r"[A-Za-z0-9_.|][A-Za-z0-9_.|:-]{0,11}", fullmatch=True)

# FASTA ------------------------------------------------------------------------------------


@st.composite
def fasta_records(draw: st.DrawFn) -> tuple[dict[str, str], int]:
    """1 to 4 records of IUPAC letters (any case) and the line width they are wrapped at."""
    names = draw(st.lists(SEQ_NAMES, min_size=1, max_size=4, unique=True))
    records = {name: draw(st.text(IUPAC, min_size=1, max_size=300)) for name in names}
    return records, draw(st.integers(1, 80))


def _fasta_text(records: dict[str, str], width: int) -> str:
    return "".join(f">{name} description\n" + "".join(
        seq[i : i + width] + "\n" for i in range(0, len(seq), width))
        for name, seq in records.items())


def _read_all(path: Path) -> dict[str, str]:
    genome = Genome(path)
    return {name: genome.fetch(name, 0, size) for name, size in genome.chrom_sizes.items()}


@SETTINGS
@given(fasta_records(), st.sampled_from(["plain", "crlf", "bgzip"]))
def test_fasta_reads_back_every_record(drawn, encoding):
    records, width = drawn
    CASES["fasta_valid"] += 1
    text = _fasta_text(records, width)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("g.fa.gz" if encoding == "bgzip" else "g.fa")
        if encoding == "bgzip":
            with pysam.BGZFile(str(path), "wb") as out:
                out.write(text.encode())
        else:
            path.write_bytes(text.replace("\n", "\r\n" if encoding == "crlf" else "\n").encode())
        assert _read_all(path) == {name: seq.upper() for name, seq in records.items()}


@SETTINGS
@given(st.data())
def test_damaged_fasta_is_read_or_refused_naming_the_file(data):
    records, width = data.draw(fasta_records())
    kind, raw = data.draw(mutated(_fasta_text(records, width)))
    CASES[f"fasta_{kind}"] += 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.fa"
        path.write_bytes(raw)
        read = check_refusal(_read_all, path)
    if kind in ("crlf", "blank_lines_at_end") and read is not None:
        assert read == {name: seq.upper() for name, seq in records.items()}
    if read is not None:  # what was read is DNA, never the junk that damaged it
        assert all(set(seq) <= set(IUPAC.upper()) for seq in read.values())


# BED / narrowPeak --------------------------------------------------------------------------

CHROM_SIZES = {"chr1": 5000, "chr2": 800}


@st.composite
def intervals(draw: st.DrawFn) -> list[tuple[str, int, int, int]]:
    """1 to 8 (chrom, start, end, summit offset) inside CHROM_SIZES."""
    out = []
    for _ in range(draw(st.integers(1, 8))):
        chrom = draw(st.sampled_from(sorted(CHROM_SIZES)))
        start = draw(st.integers(0, CHROM_SIZES[chrom] - 1))
        end = draw(st.integers(start + 1, CHROM_SIZES[chrom]))
        out.append((chrom, start, end, draw(st.integers(0, end - start - 1))))
    return out


def _bed_text(rows: list[tuple[str, int, int, int]], narrow_peak: bool) -> str:
    if narrow_peak:
        return "".join(f"{c}\t{s}\t{e}\tpeak{k}\t0\t.\t5.0\t-1\t-1\t{summit}\n"
                       for k, (c, s, e, summit) in enumerate(rows))
    return "".join(f"{c}\t{s}\t{e}\n" for c, s, e, _ in rows)


def _genome(folder: str) -> Genome:
    path = Path(folder) / "genome.fa"
    path.write_text("".join(f">{c}\n" + "ACGT" * (n // 4) + "\n" for c, n in CHROM_SIZES.items()))
    return Genome(path)


@SETTINGS
@given(intervals(), st.booleans(), st.booleans())
def test_bed_reads_back_every_interval(rows, narrow_peak, gzipped):
    CASES["bed_valid"] += 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("p.bed.gz" if gzipped else "p.bed")
        text = _bed_text(rows, narrow_peak).encode()
        path.write_bytes(gzip.compress(text) if gzipped else text)
        df = read_bed(path, _genome(folder))
    assert list(zip(df["chrom"], df["start"], df["end"], strict=True)) == [
        (c, s, e) for c, s, e, _ in rows]


@SETTINGS
@given(st.data())
def test_damaged_bed_is_read_or_refused_naming_the_file(data):
    rows = data.draw(intervals())
    kind, raw = data.draw(mutated(_bed_text(rows, data.draw(st.booleans()))))
    CASES[f"bed_{kind}"] += 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.bed"
        path.write_bytes(raw)
        df = check_refusal(lambda p: read_bed(p, _genome(folder)), path)
    if df is not None:  # whatever was read is inside the genome, 0-based half-open
        for chrom, start, end in zip(df["chrom"], df["start"], df["end"], strict=True):
            assert 0 <= start < end <= CHROM_SIZES[chrom]


# VCF ---------------------------------------------------------------------------------------

VCF_HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=5000>\n"
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
ALLELES = st.text("ACGT", min_size=1, max_size=4)


@st.composite
def vcf_records(draw: st.DrawFn) -> list[tuple[int, str, str, str, str]]:
    """1 to 8 (POS, ID, REF, ALT, FILTER) on chr1; REF may disagree with any genome."""
    out = []
    for k in range(draw(st.integers(1, 8))):
        ref = draw(ALLELES)
        alt = draw(ALLELES.filter(lambda a, ref=ref: a != ref))
        out.append((draw(st.integers(1, 4990)), f"rs{k}", ref, alt,
                    draw(st.sampled_from([".", "PASS", "q10;lowDP"]))))
    return out


def _vcf_text(records: list[tuple[int, str, str, str, str]]) -> str:
    return VCF_HEADER + "".join(f"chr1\t{pos}\t{vid}\t{ref}\t{alt}\t.\t{filt}\tDP=3\n"
                                for pos, vid, ref, alt, filt in records)


@SETTINGS
@given(vcf_records(), st.sampled_from(["plain", "gzip", "bgzip"]))
def test_vcf_reads_back_every_record(records, encoding):
    CASES["vcf_valid"] += 1
    text = _vcf_text(records)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("v.vcf" if encoding == "plain" else "v.vcf.gz")
        if encoding == "gzip":
            path.write_bytes(gzip.compress(text.encode()))
        elif encoding == "bgzip":
            with pysam.BGZFile(str(path), "wb") as out:
                out.write(text.encode())
        else:
            path.write_text(text)
        read = list(read_vcf(path))
    assert [(r.pos0 + 1, r.id, r.ref, r.alt, r.filter) for r in read] == records
    assert [r.line for r in read] == list(range(4, 4 + len(records)))


def _read_vcf_items(path: Path) -> list[VcfLine | VcfFault]:
    return list(VcfText(path).records())


@SETTINGS
@given(st.data())
def test_damaged_vcf_skips_the_damaged_record_or_refuses_the_file(data):
    records = data.draw(vcf_records())
    kind, raw = data.draw(mutated(_vcf_text(records)))
    CASES[f"vcf_{kind}"] += 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.vcf"
        path.write_bytes(raw)
        items = check_refusal(_read_vcf_items, path)
        if items is not None:  # the genome-checked stream: skips, never an exception
            genome = _genome(folder)
            try:
                list(read_vcf(path, genome))
            except DnalensError as err:
                assert "damaged.vcf" in str(err)
    for item in items or ():
        if isinstance(item, VcfFault):
            assert item.message.startswith(f"{path}:{item.line}: ")
            assert "\n" not in item.message
        else:
            assert item.pos >= 1 and item.ref and item.chrom
