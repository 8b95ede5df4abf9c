"""Splice pages and sections: the strongest scored variants with their exon views, and, in a
trained splice run's report, the predicted sites along held-out genes."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd
from torch import nn

from dnalens.files import write_text_atomic
from dnalens.io.annotation import GeneTable, Transcript
from dnalens.io.genome import Genome
from dnalens.report.page import Section, escape, html_table, image, render_page

__all__ = ["splice_gene_sections", "splice_variant_sections", "write_splice_report"]

log = logging.getLogger(__name__)

_DS = ["ds_ag", "ds_al", "ds_dg", "ds_dl"]
_NAMES = {"ds_ag": "acceptor gain", "ds_al": "acceptor loss", "ds_dg": "donor gain",
          "ds_dl": "donor loss"}
# Longest gene drawn base by base in a run report (longer ones are unreadable at page width).
_MAX_GENE_BP = 6000


def _exons(gene: Transcript) -> list[tuple[int, int]]:
    return list(zip(gene.exon_starts.tolist(), gene.exon_ends.tolist(), strict=True))


def splice_variant_sections(table: pd.DataFrame, model: nn.Module, genome: Genome,
                            genes: GeneTable, tmp: Path, *, top: int = 20, views: int = 3,
                            flank: int = 300) -> list[Section]:
    """The ``top`` variants by largest delta score, and the exon views of the ``views``
    strongest (ref vs alt acceptor/donor tracks over the exons).

    Parameters
    ----------
    table : DataFrame
        The TSV of ``dnalens splice score --out-tsv`` (chrom, pos, id, ref, alt, gene, strand,
        ds_ag ... dp_dl).
    model, genome, genes
        What the scores came from (the exon views are recomputed).
    tmp : folder for the figures (embedded when the page is rendered)
    top, views, flank : int
        Rows in the table, variants drawn, bases drawn each side of a variant.
    """
    from dnalens.apply.splicing import splice_tracks
    from dnalens.io.contigs import genome_name
    from dnalens.plot.splicing import plot_splice_tracks

    table = table.assign(max_ds=table[_DS].abs().max(axis=1)) if len(table) else table
    ranked = table.sort_values("max_ds", ascending=False, kind="stable") if len(table) else table
    summary = Section("Strongest predicted splice effects", f"The {top} allele x transcript "
                      "pairs with the largest delta score (DS: change in splice-site "
                      "probability within the scored distance; DP: its offset from the "
                      "variant, bases).")
    if len(ranked) == 0:
        summary.note = "No variant was scored (see the command's summary of skipped records)."
    else:
        shown = ranked.head(top)[["chrom", "pos", "id", "ref", "alt", "gene", "strand",
                                  *_DS, "dp_ag", "dp_al", "dp_dg", "dp_dl", "max_ds"]]
        summary.body.append(html_table(shown, highlight={"max_ds": "key"}))
    sections = [summary]
    by_name = {t.name: t for t in genes}
    for k, (_, row) in enumerate(ranked.head(views).iterrows()):
        gene = by_name.get(row["gene"])
        chrom = genome_name(str(row["chrom"]), genome)
        if gene is None or chrom is None:
            continue
        start, ref, alt = splice_tracks(model, genome, gene, chrom, int(row["pos"]) - 1,
                                        str(row["ref"]), str(row["alt"]), flank=flank)
        kind = _NAMES[max(_DS, key=lambda c: abs(row[c]))]
        label = f"{row['chrom']}:{row['pos']:,} {row['ref']}>{row['alt']} in {gene.name}"
        png = plot_splice_tracks(start, ref, alt, _exons(gene), int(row["pos"]) - 1,
                                 tmp / f"variant_view{k}.png", strand=gene.strand,
                                 title=f"{label} · {kind} {row['max_ds']:.2f}")
        section = Section(
            f"Exon view: {label}", f"Acceptor and donor probability of every base within "
            f"{flank} bp, reference (grey, upward) and alternative (red, downward, aligned "
            f"to the reference), over the exons of {gene.name} ({gene.strand} strand); the "
            "dashed line is the variant.")
        section.body.append(image(png, f"exon view {k}", cls="wide"))
        sections.append(section)
    return sections


def write_splice_report(table: pd.DataFrame, model: nn.Module, genome: Genome,
                        genes: GeneTable, out: str | Path, *, top: int = 20, views: int = 3,
                        flank: int = 300, title: str = "Splice variants") -> Path:
    """Write a self-contained HTML page of :func:`splice_variant_sections`.

    Returns
    -------
    Path of the page (written atomically).
    """
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="dnalens-splice-") as tmp_name:
        sections = splice_variant_sections(table, model, genome, genes, Path(tmp_name),
                                           top=top, views=views, flank=flank)
        header = (f'<header><p class="kicker">dnalens splice report</p><h1>{escape(title)}'
                  f'</h1><p class="path">{len(table):,} allele x transcript scores</p>'
                  "</header>")
        text = render_page(title, header, sections)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(out, text)


def _held_out_genes(genes: GeneTable, genome: Genome, chroms: list[str], n: int
                    ) -> list[tuple[Transcript, str]]:
    """Up to ``n`` transcripts on ``chroms`` (any chromosome when empty) short enough to draw
    base by base, those with the most exons first."""
    from dnalens.io.contigs import genome_name

    found = []
    for gene in genes:
        chrom = genome_name(gene.chrom, genome)
        if chrom is None or (chroms and chrom not in chroms):
            continue
        if gene.tx_end - gene.tx_start <= _MAX_GENE_BP and len(gene.exon_starts) >= 2:
            found.append((gene, chrom))
    found.sort(key=lambda pair: (-len(pair[0].exon_starts), pair[0].tx_start))
    return found[:n]


def splice_gene_sections(run, tmp: Path, *, n_genes: int = 2, flank: int = 100
                         ) -> list[Section]:
    """Exon views of a trained splice run: predicted acceptor and donor probability of every
    base along held-out genes (test chromosomes, else validation ones), over their exons.

    Parameters
    ----------
    run : dnalens.report.run_view.RunView
        A run trained on ``data.splice``.
    tmp : folder for the figures
    n_genes, flank : int
        Genes drawn; bases shown each side of a gene.
    """
    from dnalens.apply.evaluate import load_run_config_of
    from dnalens.apply.tiling import predict_track
    from dnalens.io.annotation import read_annotation
    from dnalens.plot.splicing import plot_splice_tracks

    section = Section("Predicted splice sites along held-out genes", "Acceptor and donor "
                      "probability the model gives every base of genes it was not trained on, "
                      "above their annotated exons: a well-trained model peaks at exon starts "
                      "(acceptors) and exon ends (donors) and stays near zero elsewhere.")
    config = load_run_config_of(run.dir)
    splice = config.data.splice
    split = config.data.split
    genome = run.genome
    chosen = _held_out_genes(read_annotation(splice.annotation), genome,
                             list(split.test_chroms or split.valid_chroms), n_genes)
    if not chosen:
        section.note = (f"No transcript of at most {_MAX_GENE_BP:,} bp with two or more exons "
                        "on the held-out chromosomes.")
        return [section]
    for k, (gene, chrom) in enumerate(chosen):
        start = max(0, gene.tx_start - flank)
        end = min(genome.check_chrom(chrom), gene.tx_end + flank)
        track = predict_track(run.model, genome, chrom, start, end, strand=gene.strand)
        label = f"{gene.name} · {chrom}:{gene.tx_start:,}-{gene.tx_end:,} ({gene.strand})"
        png = plot_splice_tracks(start, track.values.T, None, _exons(gene), None,
                                 tmp / f"gene_view{k}.png", strand=gene.strand, title=label)
        section.body.append(image(png, f"gene view {k}", cls="wide"))
    return [section]
