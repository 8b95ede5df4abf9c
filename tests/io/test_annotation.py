"""Gene annotation: SpliceAI gene tables and GTF, splice sites by strand, lookups, errors."""

from __future__ import annotations

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
