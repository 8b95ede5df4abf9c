"""Report sections built from files other commands leave in the run folder: TF-MoDISco
patterns (``dnalens motifs --modisco``) and variant effects (``dnalens variants``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from dnalens.report.page import Section, escape, fmt, html_table, image, read_tsv
from dnalens.report.run_view import RunView

__all__ = ["TOP_VARIANTS", "match_card", "modisco_section", "variants_section"]

log = logging.getLogger(__name__)

TOP_VARIANTS = 20
# Bases drawn on each side of the variant in the variant effect plot.
VARIANT_FLANK = 30


def match_card(png: Path, name: str, best: pd.Series | None) -> str:
    """A logo with its best database match and q-value (``best``: a row of tomtom_matches)."""
    if best is not None:
        alt = best.get("target_alt")
        label = str(best["target"]) + (f" ({alt})" if isinstance(alt, str) and alt else "")
        q = float(best["q_value"])
        cls = "good" if q < 0.05 else "weak"
        match = f'<p class="match {cls}">{escape(label)}<br><span>q = {escape(fmt(q))}</span></p>'
    else:
        match = '<p class="match weak">no match</p>'
    return (f'<figure class="card">{image(png, name, cls="logo")}'
            f"<figcaption>{match}</figcaption></figure>")


def modisco_section(run: RunView, tmp: Path) -> Section:
    """TF-MoDISco patterns from ``RUN/motifs/patterns.meme`` and their matches."""
    from dnalens.io.meme import read_meme
    from dnalens.plot.logos import plot_pwm_logo

    section = Section("Motifs discovered by TF-MoDISco", "Recurring high-attribution "
                      "subsequences (DeepSHAP) of test sequences, clustered into patterns; "
                      "each is compared with the JASPAR database (TOMTOM), best match shown.")
    folder = run.dir / "motifs"
    meme = folder / "patterns.meme"
    if not meme.exists():
        section.note = ("No patterns: run `dnalens motifs RUN --bed PEAKS --modisco --out "
                        "RUN/motifs` (needs modisco-lite).")
        return section
    patterns = read_meme(meme)
    matches = read_tsv(folder / "patterns.tsv")
    best = (matches[matches["rank"] == 1].set_index("query")
            if matches is not None and len(matches) else pd.DataFrame())
    cards = []
    for name, motif in patterns.items():
        png = plot_pwm_logo(motif, tmp / f"pattern_{len(cards)}.png", title=name)
        cards.append(match_card(png, name, best.loc[name] if name in best.index else None))
    section.body.append('<div class="grid">' + "".join(cards) + "</div>")
    return section


def variants_section(run: RunView, path: Path | None, tmp: Path) -> Section:
    """The variants with the largest effects, and the attribution of the top one."""
    section = Section("Top variants", f"The {TOP_VARIANTS} variants with the largest "
                      "predicted effect (the largest |alt − ref| over tasks); positive diff "
                      "means the alternative allele raises the prediction.")
    if path is None:
        section.note = ("No variants table: run `dnalens variants RUN --vcf ... --out "
                        "RUN/variants.tsv` or pass --variants.")
        return section
    table = read_tsv(path)
    diffs = [c for c in table.columns if c.endswith("_diff")] if table is not None else []
    if table is None or not diffs or len(table) == 0:
        section.note = f"{path}: not a variants table with <task>_diff columns and rows."
        return section
    effect = table[diffs].abs().to_numpy(np.float64)
    table = table.assign(max_abs_diff=np.nanmax(effect, axis=1),
                         task=[diffs[k][: -len("_diff")] for k in np.nanargmax(effect, axis=1)])
    top = table.sort_values("max_abs_diff", ascending=False, kind="stable").head(TOP_VARIANTS)
    section.body.append(html_table(_top_rows(top), highlight={"diff": "key"}))
    section.body.append(f'<p class="caption">{len(table):,} variants in {escape(path.name)}; '
                        "ref/alt are the predictions for each allele.</p>")
    try:
        section.body += _variant_plot(run, top.iloc[0], tmp)
    except Exception as err:  # the table is worth keeping when the plot cannot be made
        log.warning("variant effect plot skipped: %s", err)
        section.note = f"Effect plot of the top variant skipped: {err}"
    return section


def _top_rows(top: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, row in top.iterrows():
        task = row["task"]
        item = {c: row[c] for c in ("chrom", "pos", "id", "ref", "alt") if c in top}
        item["task"] = task
        for kind in ("ref", "alt", "diff", "log2fc"):
            if f"{task}_{kind}" in top:
                item[kind if kind not in item else f"{kind}_score"] = row[f"{task}_{kind}"]
        rows.append(item)
    return pd.DataFrame(rows)


def _variant_plot(run: RunView, row: pd.Series, tmp: Path) -> list[str]:
    """Reference vs alternative attribution logos around the top variant."""
    from dnalens.apply.variants import variant_windows
    from dnalens.interpret.attribution import attribute
    from dnalens.io.variants import VariantRecord
    from dnalens.plot.variants import plot_variant_effect
    from dnalens.sequence.encoding import one_hot

    record = VariantRecord(str(row["chrom"]), int(row["pos"]) - 1, str(row["ref"]),
                           str(row["alt"]), str(row.get("id", ".")), 0)
    length = run.card.input_length
    ref_seq, alt_seq, _ = variant_windows(run.genome, record, length)
    x = one_hot([ref_seq, alt_seq])
    target = list(run.card.tasks).index(row["task"])
    attr = attribute(run.model, x, method="grad_x_input", target=target)
    projected = (attr * x).numpy()
    centre = length // 2 - len(record.ref) // 2
    label = f"{record.chrom}:{record.pos0 + 1:,} {record.ref}>{record.alt}"
    png = plot_variant_effect(projected[0], projected[1], tmp / "variant_effect.png",
                              centre=centre, flank=VARIANT_FLANK,
                              title=f"{label} · task {row['task']} · gradient × input",
                              ref_label=f"ref ({row[row['task'] + '_ref']:.3f})",
                              alt_label=f"alt ({row[row['task'] + '_alt']:.3f})")
    caption = (f"Why the top variant ({label}, id {escape(record.id)}) matters: the "
               "contribution of each base to the prediction of task "
               f"{escape(row['task'])} for the reference (top) and alternative (bottom) "
               f"allele, {VARIANT_FLANK} bp each side, on one scale; the variant is shaded. "
               "A motif that loses its letters in the lower row was broken by the variant.")
    return [image(png, "variant effect", cls="wide"), f'<p class="caption">{caption}</p>']
