"""Splice delta scores with a model whose answer is known: it calls an acceptor at every G
and a donor at every T (after reverse complement on minus-strand genes)."""

from __future__ import annotations

import numpy as np
import pysam
import pytest
import torch
from torch import nn

from dnalens.apply.splice_vcf import score_splice_variants
from dnalens.io.annotation import read_gene_table
from dnalens.io.genome import Genome
from dnalens.models import build_model

HEADER = "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
VCF_HEAD = "##fileformat=VCFv4.2\n##contig=<ID=1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


class GTCaller(nn.Module):
    """Output j sees input j + context/2: acceptor where it is G, donor where it is T."""

    def __init__(self, context: int = 6) -> None:
        super().__init__()
        self.context = context
        self.scale = nn.Parameter(torch.tensor(12.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = self.context // 2
        centre = x[:, :, half : x.shape[2] - half]
        neither = torch.zeros_like(centre[:, 0])
        return torch.stack([neither, self.scale * (centre[:, 2] - 0.5),
                            self.scale * (centre[:, 3] - 0.5)], dim=1)


@pytest.fixture
def inputs(tmp_path, write_fasta, write_text):
    seq = "A" * 40 + "CCACCACCAC" * 4 + "A" * 40 + "CCACCACCAC" * 4 + "A" * 40  # 200 bp
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": seq})
    genes = write_text("genes.txt", HEADER + "PLUS\t1\t+\t30\t90\t30,60,\t50,90,\n"
                       + "MINUS\t1\t-\t110\t170\t110,150,\t130,170,\n")
    return Genome(fasta), read_gene_table(genes), seq


def _score(inputs, tmp_path, rows, **kwargs):
    genome, genes, _ = inputs
    vcf = tmp_path / "v.vcf"
    vcf.write_text(VCF_HEAD + "".join(f"1\t{r}\t.\t.\t.\n" for r in rows))
    out = tmp_path / "out.vcf"
    summary = score_splice_variants(GTCaller(), genome, genes, vcf, out, distance=5,
                                    device="cpu", **kwargs)
    with pysam.VariantFile(str(out)) as result:
        infos = [r.info.get("SpliceAI") for r in result]
    return [list(i) if i else None for i in infos], summary


def test_snv_creating_a_g_is_an_acceptor_gain_at_offset_0(inputs, tmp_path):
    _, _, seq = inputs
    assert seq[44] == "C"  # POS 45, inside PLUS, not at an exon boundary
    (info,), _ = _score(inputs, tmp_path, ["45\tv1\tC\tG"])
    allele, gene, ag, al, dg, dl, p_ag, *_ = info[0].split("|")
    assert (allele, gene) == ("G", "PLUS")
    assert float(ag) == pytest.approx(1.0, abs=0.01) and p_ag == "0"
    assert float(al) == 0 and float(dg) == 0 and float(dl) == 0


def test_masking_zeroes_a_gain_at_an_annotated_boundary(inputs, tmp_path):
    # POS 61 (0-based 60) is the first base of PLUS's second exon.
    plain, _ = _score(inputs, tmp_path, ["61\tv1\tC\tG"])
    masked, _ = _score(inputs, tmp_path, ["61\tv1\tC\tG"], mask=True)
    assert float(plain[0][0].split("|")[2]) == pytest.approx(1.0, abs=0.01)
    assert masked[0][0].split("|")[2] == "0.00"


def test_minus_strand_reads_the_reverse_complement(inputs, tmp_path):
    # On MINUS the model reads the reverse complement: a C>A on + is G>T there, i.e. an
    # acceptor (G) lost and a donor (T) gained at the same base.
    _, _, seq = inputs
    assert seq[121] == "C"
    (info,), _ = _score(inputs, tmp_path, ["122\tv1\tC\tA"])
    _, gene, ag, al, dg, dl, _, p_al, p_dg, _ = info[0].split("|")
    assert gene == "MINUS"
    assert float(al) == pytest.approx(1.0, abs=0.01) and float(dg) == pytest.approx(1, abs=0.01)
    assert p_al == p_dg == "0" and float(ag) == 0 and float(dl) == 0


def test_skips_are_counted_and_records_kept(inputs, tmp_path):
    rows = ["5\tinter\tA\tG", "45\tbad\tG\tA", "44\tcomplex\tCC\tGA", "45\tsym\tC\t<DEL>",
            "45\tok\tC\tG"]
    infos, summary = _score(inputs, tmp_path, rows)
    assert len(infos) == 5  # every record written
    assert infos[0] is None and infos[1] is None and infos[3] is None
    assert infos[2] == ["GA|PLUS|.|.|.|.|.|.|.|."]
    assert summary.skipped == {"outside_genes": 1, "ref_mismatch": 1, "complex_allele": 1,
                               "symbolic_or_missing_allele": 1}
    assert "REF expected 'C' (from g.fa), found 'G'" in summary.examples["ref_mismatch"][0]


def test_batched_indels_equal_one_at_a_time(inputs, tmp_path):
    """Windows of different lengths share a batch (padded on the right) without changing
    any score: a random SpliceAI-80 model, SNVs, deletions and insertions on both strands."""
    genome, genes, _ = inputs
    torch.manual_seed(0)
    model = build_model("spliceai", context=80, channels=8).eval()
    vcf = tmp_path / "v.vcf"
    rows = ["45\ta\tC\tG", "48\tb\tACCA\tA", "52\tc\tC\tCGGTA", "122\td\tC\tA",
            "125\te\tCCA\tC", "140\tf\tA\tATTTTTG"]
    vcf.write_text(VCF_HEAD + "".join(f"1\t{r}\t.\t.\t.\n" for r in rows))
    outs = []
    for size in (1, 6):
        out = tmp_path / f"out{size}.vcf"
        tsv = tmp_path / f"out{size}.tsv"
        score_splice_variants(model, genome, genes, vcf, out, distance=3, batch_size=size,
                              out_tsv=tsv, device="cpu")
        outs.append(np.loadtxt(tsv, skiprows=1, usecols=range(7, 19), delimiter="\t"))
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-6)
    assert np.abs(outs[0][:, :4]).max() > 0  # not all zeros


def test_exon_view_tracks_and_plot(inputs, tmp_path):
    from dnalens.apply.splicing import splice_tracks
    from dnalens.plot.splicing import plot_splice_tracks

    genome, genes, _ = inputs
    plus = genes.transcripts[0]
    start, ref, alt = splice_tracks(GTCaller(), genome, plus, "chr1", 44, "C", "G", flank=10,
                                    device=torch.device("cpu"))
    assert start == 34 and ref.shape == alt.shape == (21, 3)
    # The new G at position 44 is an acceptor in alt only; everything else is unchanged.
    assert alt[10, 1] > 0.99 and ref[10, 1] < 0.01
    np.testing.assert_allclose(np.delete(alt, 10, axis=0), np.delete(ref, 10, axis=0))
    # A deletion's alt track is aligned to ref (zeros where the deleted bases were).
    _, ref_d, alt_d = splice_tracks(GTCaller(), genome, plus, "chr1", 43, "CCA", "C", flank=5,
                                    device=torch.device("cpu"))
    assert alt_d.shape == ref_d.shape and (alt_d[6:8] == 0).all()
    png = plot_splice_tracks(start, ref, alt, list(zip(plus.exon_starts, plus.exon_ends,
                                                      strict=True)), 44, tmp_path / "v.png",
                             strand="+", title="C>G")
    assert png.read_bytes().startswith(b"\x89PNG")
