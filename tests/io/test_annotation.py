"""Gene annotation: SpliceAI gene tables and GTF, splice sites by strand, lookups, errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from dnalens.errors import InputFileError
from dnalens.io.annotation import read_annotation, read_gene_table, read_gtf

HEADER = "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"


def test_gene_table_sites_by_strand(write_text):
    path = write_text("genes.txt", HEADER
                      + "PLUS\t1\t+\t100\t400\t100,200,300,\t150,250,400,\n"
                      + "MINUS\tchr1\t-\t1000\t1300\t1000,1200,\t1100,1300,\n")
    plus, minus = read_gene_table(path)
    # + strand: acceptors at the first base of exons 2.., donors at the last base of exons ..n-1
    assert plus.acceptors.tolist() == [200, 300]
    assert plus.donors.tolist() == [149, 249]
    # - strand: transcript order runs right to left
    assert minus.acceptors.tolist() == [1099]
    assert minus.donors.tolist() == [1200]


def test_lookup_is_half_open_and_ignores_the_chr_prefix(write_text):
    table = read_gene_table(write_text("g.txt", HEADER + "A\t2\t+\t10\t20\t10,\t20,\n"
                                       + "B\tchr2\t-\t15\t30\t15,\t30,\n"))
    assert [t.name for t in table.at("chr2", 10)] == ["A"]
    assert [t.name for t in table.at("2", 15)] == ["A", "B"]
    assert [t.name for t in table.at("chr2", 20)] == ["B"]
    assert table.at("chr2", 30) == [] and table.at("chr3", 15) == []


@pytest.mark.parametrize("row, message", [
    ("A\t1\t*\t10\t20\t10,\t20,\n", "STRAND must be"),
    ("A\t1\t+\t10\t20\t10,x,\t20,\n", "EXON_START must be a comma-separated"),
    ("A\t1\t+\t10\t20\t10,15,\t20,\n", "exon starts but"),
    ("A\t1\t+\t10\t20\t10,\t25,\n", "inside the transcript"),
    ("A\t1\t+\t10\t20\n", "expected 7 tab-separated"),
])
def test_bad_rows_name_file_and_line(write_text, row, message):
    path = write_text("bad.txt", HEADER + row)
    with pytest.raises(InputFileError, match=f"bad.txt:2: .*{message}"):
        read_gene_table(path)


def test_wrong_header_is_refused(write_text):
    with pytest.raises(InputFileError, match=r"bad.txt:1: expected the SpliceAI gene table"):
        read_gene_table(write_text("bad.txt", "name\tchrom\n"))


GTF = (
    '1\tsrc\tgene\t101\t400\t.\t+\t.\tgene_id "G1"; gene_name "ONE";\n'
    '1\tsrc\texon\t101\t150\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; gene_name "ONE";\n'
    '1\tsrc\texon\t301\t400\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; gene_name "ONE";\n'
    '1\tsrc\texon\t101\t150\t.\t+\t.\tgene_id "G1"; transcript_id "T2"; gene_name "ONE"; '
    'tag "basic"; tag "Ensembl_canonical";\n'
    '1\tsrc\texon\t201\t250\t.\t+\t.\tgene_id "G1"; transcript_id "T2"; gene_name "ONE"; '
    'tag "Ensembl_canonical";\n'
)


def test_gtf_gives_the_canonical_transcript_in_half_open_coordinates(write_text):
    table = read_gtf(write_text("a.gtf", GTF))
    (only,) = list(table)
    assert only.name == "ONE" and (only.tx_start, only.tx_end) == (100, 250)
    assert only.exon_starts.tolist() == [100, 200] and only.exon_ends.tolist() == [150, 250]
    assert len(read_gtf(write_text("b.gtf", GTF), transcripts="all")) == 2
    assert len(read_annotation(write_text("c.gtf", GTF))) == 1


def test_shared_gene_table(shared_dir):
    table = read_gene_table(shared_dir / "spliceai" / "annotation.txt")
    assert [t.name for t in table] == ["FAM110C", "SH3YL1", "ACP1", "FAM150B", "TMEM18",
                                       "SNTG2", "TPO", "PXDN", "MYT1L"]
    acp1 = table.transcripts[2]
    assert acp1.strand == "+" and acp1.acceptors[0] == 271865 and acp1.donors[0] == 265006
    assert np.all(np.diff(acp1.exon_starts) > 0)


EXON = '1\tsrc\texon\t{}\t{}\t.\t{}\t.\tgene_id "G1"; transcript_id "{}"; gene_name "ONE";\n'


@pytest.mark.parametrize(("text", "message"), [
    (EXON.format("x", 150, "+", "T1"), r"bad.gtf:1: start \(column 4\) must be a whole number; "
                                       r"got 'x'"),
    (EXON.format("1_0", 150, "+", "T1"), r"bad.gtf:1: start \(column 4\) must be a whole "
                                         r"number; got '1_0'"),
    (EXON.format(101, "2e2", "+", "T1"), r"bad.gtf:1: end \(column 5\) must be a whole number"),
    (EXON.format(0, 150, "+", "T1"), r"bad.gtf:1: start \(0\) must be >= 1; GTF/GFF is 1-based, "
                                     r"inclusive"),
    (EXON.format(150, 101, "+", "T1"), r"bad.gtf:1: end \(101\) must be >= start \(150\)"),
    (EXON.format(101, 150, ".", "T1"), r"bad.gtf:1: strand \(column 7\) of an exon must be \+ "
                                       r"or -; got '.'"),
    (EXON.format(101, 150, "+", "T1") + EXON.format(301, 400, "-", "T1"),
     r"bad.gtf:2: exon of transcript 'T1' is on strand - but its exon on line 1 is on strand \+"),
    (EXON.format(101, 150, "+", "T1") + "\n" + EXON.format(140, 200, "+", "T1"),
     r"bad.gtf:3: exons of 'ONE' on lines 1 and 3 overlap"),
    (EXON.format(101, 150, "+", "T1").replace("\t.\t+", " . +"),
     r"bad.gtf:1: expected 9 tab-separated GTF/GFF columns; got 7"),
    ("", r"bad.gtf: no exon lines \(column 3 'exon'\)"),
])
def test_gtf_faults_name_file_and_line(write_text, text, message):
    with pytest.raises(InputFileError, match=message):
        read_gtf(write_text("bad.gtf", text))


@pytest.mark.parametrize(("data", "message"), [
    (EXON.format(101, 150, "+", "T\u00e9").encode("latin-1"),
     r"bad.gtf:1: not a text GTF/GFF file \(byte 0xe9 at column \d+ is not UTF-8"),
    (b"\x00\x01" * 40, r"bad.gtf:1: not a text GTF/GFF file \(NUL byte at column 1"),
    (gzip.compress(EXON.format(101, 150, "+", "T1").encode() * 50)[:40],
     r"bad.gtf:1: truncated or corrupt gzip file"),
])
def test_gtf_bytes_faults(tmp_path, data, message):
    (tmp_path / "bad.gtf").write_bytes(data)
    with pytest.raises(InputFileError, match=message):
        read_gtf(tmp_path / "bad.gtf")


def test_gtf_folder_and_missing_file(tmp_path):
    with pytest.raises(InputFileError, match=r"a.gtf: is a folder, not a GTF/GFF file"):
        read_gtf((tmp_path / "a.gtf").mkdir() or tmp_path / "a.gtf")
    with pytest.raises(InputFileError, match=r"none.gtf: no such GTF/GFF file"):
        read_gtf(tmp_path / "none.gtf")


def test_gtf_crlf_bom_and_gzip_by_content_read_the_same(tmp_path):
    expected = [(t.name, t.exon_starts.tolist()) for t in read_gtf(_write(tmp_path, "a.gtf",
                                                                          GTF.encode()))]
    for name, data in [("crlf.gtf", GTF.replace("\n", "\r\n").encode()),
                       ("bom.gtf", b"\xef\xbb\xbf" + GTF.encode()),
                       ("zipped.gtf", gzip.compress(GTF.encode())),
                       ("plain.gtf.gz", GTF.encode())]:
        got = [(t.name, t.exon_starts.tolist()) for t in read_gtf(_write(tmp_path, name, data))]
        assert got == expected == [("ONE", [100, 200])], name


def _write(folder, name, data: bytes):
    (folder / name).write_bytes(data)
    return folder / name


def test_one_transcript_id_on_two_chromosomes_is_two_transcripts(write_text):
    text = (EXON.format(101, 150, "+", "T1").replace("1\t", "chrX\t", 1)
            + EXON.format(201, 250, "+", "T1").replace("1\t", "chrY\t", 1))
    got = sorted((t.chrom, t.exon_starts.tolist()) for t in
                 read_gtf(write_text("par.gtf", text), transcripts="all"))
    assert got == [("chrX", [100]), ("chrY", [200])]


def test_real_refseq_gtf_reads_half_open(shared_dir):
    path = shared_dir / "data" / "drosophila_chr4" / "dm6_chr4.gtf.gz"
    assert len(read_gtf(path)) == 107
    every = read_gtf(path, transcripts="all")
    assert len(every) == 338
    # First exon line: NC_004353.4 RefSeq exon 879 1079 + (1-based inclusive).
    first = every.transcripts[0]
    assert (first.name, first.strand, first.tx_start, first.tx_end) == (
        "Dmel_CG45760", "+", 878, 5039)
    assert first.exon_starts[:2].tolist() == [878, 1143]
    assert first.exon_ends[:2].tolist() == [1079, 1410]


@pytest.mark.parametrize(("text", "message"), [
    (HEADER + "A\t1\t+\t1_0\t20\t10,\t20,\n", r"bad.txt:2: TX_START must be an integer >= 0; "
                                              r"got '1_0'"),
    (HEADER + "A\t1\t+\t-10\t20\t-10,\t20,\n", r"bad.txt:2: TX_START must be an integer >= 0"),
    (HEADER + "A\t1\t+\t10\t20\t1e1,\t20,\n", r"bad.txt:2: EXON_START must be a comma-separated "
                                              r"list of integers >= 0; got '1e1,'"),
    ("", r"bad.txt: empty file; expected the SpliceAI gene table header"),
    ("\n" + HEADER, r"bad.txt:1: expected the SpliceAI gene table header .*; got an empty line"),
])
def test_gene_table_faults(write_text, text, message):
    with pytest.raises(InputFileError, match=message):
        read_gene_table(write_text("bad.txt", text))


def test_gene_table_bytes_faults_and_crlf(tmp_path):
    row = "A\t1\t+\t10\t20\t10,\t20,\n"
    crlf = read_gene_table(_write(tmp_path, "crlf.txt", (HEADER + row).replace("\n", "\r\n")
                                  .encode()))
    assert [(t.name, t.tx_start, t.exon_ends.tolist()) for t in crlf] == [("A", 10, [20])]
    with pytest.raises(InputFileError, match=r"l1.txt:2: not a text gene table \(byte 0xc4"):
        read_gene_table(_write(tmp_path, "l1.txt", (HEADER + "\u00c4" + row).encode("latin-1")))
    with pytest.raises(InputFileError, match=r"d.txt: is a folder, not a gene table"):
        read_gene_table((tmp_path / "d.txt").mkdir() or tmp_path / "d.txt")
