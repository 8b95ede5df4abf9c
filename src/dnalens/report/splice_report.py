"""An HTML page about scored splice variants: the strongest effects and their exon views."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from torch import nn

from dnalens.files import write_text_atomic
from dnalens.io.annotation import GeneTable
from dnalens.io.genome import Genome
from dnalens.report.page import Section, escape, html_table, image, render_page

__all__ = ["write_splice_report"]

_DS = ["ds_ag", "ds_al", "ds_dg", "ds_dl"]
_NAMES = {"ds_ag": "acceptor gain", "ds_al": "acceptor loss", "ds_dg": "donor gain",
          "ds_dl": "donor loss"}


def write_splice_report(table: pd.DataFrame, model: nn.Module, genome: Genome,
                        genes: GeneTable, out: str | Path, *, top: int = 20, views: int = 3,
                        flank: int = 300, title: str = "Splice variants") -> Path:
    """Write a self-contained HTML page: the ``top`` variants by largest delta score, and the
    exon view (ref vs alt acceptor/donor tracks over the exons) of the ``views`` strongest.

    Parameters
    ----------
    table : DataFrame
        The TSV of ``dnalens splice score --out-tsv`` (chrom, pos, id, ref, alt, gene, strand,
        ds_ag ... dp_dl).
    model, genome, genes
        What the scores came from (the exon views are recomputed).
    out : path of the page (written atomically)
    top, views, flank : int
        Rows in the table, variants drawn, bases drawn each side of a variant.

    Returns
    -------
    Path
    """
    from dnalens.apply.splicing import splice_tracks
    from dnalens.io.contigs import genome_name
    from dnalens.plot.splicing import plot_splice_tracks

    out = Path(out)
    table = table.assign(max_ds=table[_DS].abs().max(axis=1)) if len(table) else table
    ranked = table.sort_values("max_ds", ascending=False, kind="stable") if len(table) else table
    summary = Section("Strongest predicted effects", f"The {top} allele x transcript pairs "
                      "with the largest delta score (DS: change in splice-site probability "
                      "within the scored distance; DP: its offset from the variant, bases).")
    if len(ranked) == 0:
        summary.note = "No variant was scored (see the command's summary of skipped records)."
    else:
        shown = ranked.head(top)[["chrom", "pos", "id", "ref", "alt", "gene", "strand",
                                  *_DS, "dp_ag", "dp_al", "dp_dg", "dp_dl", "max_ds"]]
        summary.body.append(html_table(shown, highlight={"max_ds": "key"}))
    sections = [summary]
    by_name = {t.name: t for t in genes}
    with tempfile.TemporaryDirectory(prefix="dnalens-splice-") as tmp_name:
        for k, (_, row) in enumerate(ranked.head(views).iterrows()):
            gene = by_name.get(row["gene"])
            chrom = genome_name(str(row["chrom"]), genome)
            if gene is None or chrom is None:
                continue
            start, ref, alt = splice_tracks(model, genome, gene, chrom, int(row["pos"]) - 1,
                                            str(row["ref"]), str(row["alt"]), flank=flank)
            kind = _NAMES[max(_DS, key=lambda c: abs(row[c]))]
            label = f"{row['chrom']}:{row['pos']:,} {row['ref']}>{row['alt']} in {gene.name}"
            png = plot_splice_tracks(start, ref, alt, list(zip(gene.exon_starts.tolist(),
                                                               gene.exon_ends.tolist(),
                                                               strict=True)),
                                     int(row["pos"]) - 1, Path(tmp_name) / f"view{k}.png",
                                     strand=gene.strand,
                                     title=f"{label} · {kind} {row['max_ds']:.2f}")
            section = Section(
                f"Exon view: {label}", f"Acceptor and donor probability of every base within "
                f"{flank} bp, reference (grey, upward) and alternative (red, downward, aligned "
                f"to the reference), over the exons of {gene.name} ({gene.strand} strand); the "
                "dashed line is the variant.")
            section.body.append(image(png, f"exon view {k}", cls="wide"))
            sections.append(section)
        header = (f'<header><p class="kicker">dnalens splice report</p><h1>{escape(title)}'
                  f'</h1><p class="path">{len(table):,} allele x transcript scores</p>'
                  "</header>")
        text = render_page(title, header, sections)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(out, text)

