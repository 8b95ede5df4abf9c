"""VCF reading: 1-based POS -> 0-based pos0, multi-allelic split, skips counted by reason."""

from __future__ import annotations

import pysam
import pytest

from dnalens.errors import InputFileError
from dnalens.io.genome import Genome
from dnalens.io.variants import VariantRecord, read_vcf

CHR1 = "ACGTAACCGGTTAAACCCGGGTTTACGATCGATGCATGCA"  # 40 bp
CHR2 = "GGGGGGGGGG"  # 10 bp
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


@pytest.fixture
def genome(tmp_path, write_fasta) -> Genome:
    return Genome(write_fasta(tmp_path / "g.fa", {"chr1": CHR1, "chr2": CHR2}))


def vcf_lines(*rows: str) -> str:
    return HEADER + "".join("\t".join([*row.split(), ".", ".", "."]) + "\n" for row in rows)


def test_pos_is_converted_and_multiallelic_split(genome, write_text):
    # POS 2 is the 'C' of ACGT...: 0-based 1.
    path = write_text("a.vcf", vcf_lines("chr1 2 rs1 C A,G,T", "chr1 10 . G GA"))
    stream = read_vcf(path, genome)
    records = list(stream)
    assert records == [
        VariantRecord("chr1", 1, "C", "A", "rs1", 3),
        VariantRecord("chr1", 1, "C", "G", "rs1", 3),
        VariantRecord("chr1", 1, "C", "T", "rs1", 3),
        VariantRecord("chr1", 9, "G", "GA", ".", 4),
    ]
    assert CHR1[records[0].pos0] == "C"
    assert (stream.summary.records, stream.summary.alleles, stream.summary.kept) == (2, 4, 4)
    assert stream.summary.n_skipped == 0


def test_bgzipped_vcf_reads_the_same(genome, write_text, tmp_path):
    plain = write_text("a.vcf", vcf_lines("chr1 2 rs1 C A,G", "chr2 3 . G T"))
    gz = tmp_path / "a.vcf.gz"
    pysam.tabix_compress(str(plain), str(gz))
    assert list(read_vcf(gz, genome)) == list(read_vcf(plain, genome))


def test_ref_mismatch_is_skipped_with_expected_and_found(genome, write_text):
    path = write_text("a.vcf", vcf_lines("chr1 3 . T A", "chr1 4 . T C"))
    stream = read_vcf(path, genome)
    records = list(stream)
    assert [(r.pos0, r.ref) for r in records] == [(3, "T")]
    assert stream.summary.skipped == {"ref_mismatch": 1}
    message = stream.summary.examples["ref_mismatch"][0]
    assert message.startswith(f"{path}:3: chr1:3 T>A: ")
    assert "REF expected 'G'" in message and "found 'T'" in message


def test_unknown_chromosome_is_skipped(genome, write_text):
    path = write_text("a.vcf", vcf_lines("chr3 3 . T A", "chr2 1 . G A"))
    stream = read_vcf(path, genome)
    assert [r.chrom for r in stream] == ["chr2"]
    assert stream.summary.skipped == {"unknown_chromosome": 1}
    assert "chromosome 'chr3' is not in g.fa" in stream.summary.examples["unknown_chromosome"][0]


@pytest.mark.parametrize("alt", ["<DEL>", "C[chr2:5[", "]chr2:5]C", "*"])
def test_symbolic_alleles_are_skipped(genome, write_text, alt):
    path = write_text("a.vcf", vcf_lines(f"chr1 2 . C {alt}", "chr1 2 . C G"))
    stream = read_vcf(path, genome)
    assert [r.alt for r in stream] == ["G"]
    assert stream.summary.skipped == {"symbolic_allele": 1}
    assert alt in stream.summary.examples["symbolic_allele"][0]


def test_ref_past_chromosome_end_is_skipped(genome, write_text):
    path = write_text("a.vcf", vcf_lines("chr2 10 . GG G"))
    stream = read_vcf(path, genome)
    assert list(stream) == []
    assert stream.summary.skipped == {"past_chromosome_end": 1}
    assert "past the end of chr2 (10 bp" in stream.summary.examples["past_chromosome_end"][0]


def test_chr_prefix_mapped_to_the_genome(genome, write_text):
    path = write_text("a.vcf", vcf_lines("1 2 . C A", "2 1 . G T"))
    assert [r.chrom for r in read_vcf(path, genome)] == ["chr1", "chr2"]
    stream = read_vcf(path, genome, rename_contigs=False)
    assert list(stream) == []
    assert stream.summary.skipped == {"unknown_chromosome": 2}
    assert "names it 'chr1'" in stream.summary.examples["unknown_chromosome"][0]


def test_without_genome_nothing_is_checked(write_text):
    path = write_text("a.vcf", vcf_lines("7 5 . T A,<DEL>"))
    stream = read_vcf(path)
    assert list(stream) == [VariantRecord("7", 4, "T", "A", ".", 3)]
    assert stream.summary.skipped == {"symbolic_allele": 1}


def test_empty_vcf_gives_no_records_and_says_so(genome, write_text):
    stream = read_vcf(write_text("e.vcf", HEADER), genome)
    assert list(stream) == []
    assert stream.summary.empty
    assert "no variant records" in stream.summary.describe()


def test_missing_or_non_vcf_file_is_an_error(genome, tmp_path, write_text):
    with pytest.raises(InputFileError, match="no such VCF file"):
        read_vcf(tmp_path / "nope.vcf", genome)
    with pytest.raises(InputFileError, match=r"x\.vcf:1: cannot be read as a VCF: expected "
                       r"'##' header lines .* found 'hello'"):
        read_vcf(write_text("x.vcf", "hello\n"), genome)


def test_skip_callback_and_frame(genome, write_text):
    path = write_text("a.vcf", vcf_lines("chr1 2 . C A,<INS>", "chr9 1 . A C"))
    seen = []
    frame = read_vcf(path, genome, on_skip=seen.append).to_frame()
    assert frame.to_dict("records") == [
        {"chrom": "chr1", "pos0": 1, "ref": "C", "alt": "A", "id": ".", "line": 3}]
    assert [(s.line, s.reason) for s in seen] == [(3, "symbolic_allele"),
                                                  (4, "unknown_chromosome")]


def test_alleles_other_than_acgtn_are_skipped(genome, write_text):
    path = write_text("a.vcf", vcf_lines("chr1 2 . C R", "chr1 2 . C A"))
    stream = read_vcf(path, genome)
    assert [r.alt for r in stream] == ["A"]
    assert stream.summary.skipped == {"invalid_allele": 1}
    assert "alleles must be A, C, G, T or N" in stream.summary.examples["invalid_allele"][0]


def test_alt_equal_to_ref_is_skipped(tmp_path):
    from dnalens.io.variants import read_vcf

    vcf = tmp_path / "same.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   "chr1\t5\t.\tA\tA,G\t.\t.\t.\n")
    stream = read_vcf(vcf)
    records = list(stream)
    assert [r.alt for r in records] == ["G"]
    assert stream.summary.skipped == {"invalid_allele": 1}
