"""One self-contained HTML page about a run: what it learned and how well it does.

Every figure is embedded as a base64 PNG data URI, the CSS is inline and there is no
script other than a tiny one that counts the images that loaded (``data-loaded`` on
``<body>``, used by tests that render the page in a headless browser). Sections whose
inputs are missing are kept, with a line saying why they are empty.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from dnalens.files import write_text_atomic
from dnalens.report.page import Section, escape, html_table, image, read_tsv, render_page
from dnalens.report.run_view import RunView
from dnalens.report.sections import match_card, modisco_section, variants_section

__all__ = ["write_report"]

log = logging.getLogger(__name__)

# Positive test windows used for filter PWMs; and the central window drawn for attributions.
MAX_EXAMPLES = 300
CENTRAL_BP = 200


# ---------------------------------------------------------------------------- sections


def _header(run: RunView) -> str:
    from dnalens.models.store import dnalens_version

    title = run.dir.name
    facts: list[tuple[str, str]] = []
    try:
        card = run.card
        title = str(card.extra.get("run", title))
        facts.append(("model", card.name))
        try:
            n_params = sum(p.numel() for p in run.model.parameters())
            facts.append(("parameters", f"{n_params:,}"))
        except Exception as err:  # a report should not die on a model it cannot load
            log.warning("cannot load the model: %s", err)
        facts.append(("tasks", f"{len(card.tasks)}: " + ", ".join(card.tasks)))
        facts.append(("input length", f"{card.input_length:,} bp"))
        facts.append(("trained with", f"dnalens {card.dnalens_version}"))
        stamp = (run.dir / "model.json").stat().st_mtime
        facts.append(("trained", datetime.fromtimestamp(stamp, timezone.utc)
                      .strftime("%Y-%m-%d %H:%M UTC")))
    except Exception as err:
        facts.append(("model", f"not readable ({err})"))
    facts.append(("report", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
                  + f", dnalens {dnalens_version()}"))
    items = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in facts)
    return (f'<header><p class="kicker">dnalens run report</p><h1>{escape(title)}</h1>'
            f'<p class="path">{escape(run.dir)}</p><dl class="facts">{items}</dl></header>')


def _training(run: RunView, tmp: Path) -> Section:
    from dnalens.plot.curves import plot_training_curves

    section = Section("Training", "Loss per epoch (left; lower is better) and validation "
                       "scores (right: AUROC/AUPRC, top-k accuracy or Pearson r; higher is "
                       "better). Training loss falling while "
                       "validation loss rises is overfitting.")
    png = run.dir / "training.png"
    if not png.exists():
        png = plot_training_curves(run.dir / "metrics.csv", tmp / "training.png")
    if png is None:
        section.note = "No training.png or metrics.csv in the run folder."
    else:
        section.body.append(image(png, "training curves"))
    return section


def _evaluation(run: RunView) -> tuple[Section, pd.DataFrame | None]:
    section = Section("Test-set evaluation", "Area under the ROC curve (0.5 = chance, 1 = "
                       "perfect) and under the precision-recall curve (chance = the fraction "
                       "of positives) on held-out data, next to a k-mer logistic-regression "
                       "baseline. The model should beat the baseline, most visibly in AUPRC.")
    table = read_tsv(run.dir / "evaluation.tsv")
    if table is None:
        section.note = ("No evaluation.tsv in the run folder; run `dnalens evaluate RUN` "
                        "first.")
        return section, None
    shown = table[[c for c in ("task", "top_k", "auroc", "auprc", "pearson", "spearman", "n",
                               "n_pos", "n_neg") if c in table]].copy()
    baseline = read_tsv(run.dir / "evaluation_baseline.tsv")
    if baseline is not None and "task" in baseline:
        base = baseline.set_index("task")
        for metric in ("auroc", "auprc"):
            if metric in base:
                shown[f"kmer_{metric}"] = shown["task"].map(base[metric])
        if "auprc" in shown and "kmer_auprc" in shown:
            shown["auprc_gain"] = shown["auprc"] - shown["kmer_auprc"]
    else:
        section.note = "No evaluation_baseline.tsv: the k-mer baseline was not trained."
    section.body.append(html_table(shown, highlight={"auroc": "key", "auprc": "key",
                                                     "pearson": "key"}))
    if "pearson" in table:
        section.caption = ("Pearson and Spearman correlation of predicted with observed values "
                        "over every bin (coverage) or map entry (contacts) of the held-out "
                        "windows; 0 is chance, 1 perfect.")
        section.note = None
        for name, alt in (("tracks.png", "predicted and observed tracks"),
                          ("maps.png", "observed and predicted contact maps"),
                          ("distance.png", "correlation by distance")):
            if (run.dir / name).exists():
                section.body.append(image(run.dir / name, alt, cls="wide"))
        return section, table
    figures = [image(run.dir / name, name.split(".")[0].upper() + " curves")
               for name in ("roc.png", "pr.png") if (run.dir / name).exists()]
    if figures:
        section.body.append('<div class="pair">' + "".join(figures) + "</div>")
        section.body.append('<p class="caption">ROC: true- against false-positive rate; '
                            "PR: precision against recall, one line per task (dashed: "
                            "baseline).</p>")
    return section, table


def _score_columns(predictions: pd.DataFrame, tasks: list[str]) -> list[str]:
    return [f"{t}_score" for t in tasks if f"{t}_score" in predictions]


def _examples(run: RunView) -> tuple[pd.DataFrame, np.ndarray, list[str]] | str:
    """Top-scoring positive test windows: (regions, scores (n, tasks), tasks), or a reason."""
    predictions = read_tsv(run.dir / "predictions.tsv")
    if predictions is None:
        return "No predictions.tsv in the run folder; run `dnalens evaluate RUN` first."
    tasks = [t for t in run.card.tasks if f"{t}_score" in predictions]
    if not tasks or not {"chrom", "start", "end"} <= set(predictions.columns):
        return "predictions.tsv has no chrom/start/end or score columns."
    scores = predictions[_score_columns(predictions, tasks)].to_numpy(np.float64)
    labels = [t for t in tasks if t in predictions]
    best = scores.max(axis=1)
    if labels:
        positive = (predictions[labels].to_numpy(np.float64) > 0).any(axis=1)
        if positive.sum() >= 10:  # else: fall back on the top-scoring windows
            best = np.where(positive, best, -np.inf)
    order = np.argsort(-best, kind="stable")[:MAX_EXAMPLES]
    order = order[np.isfinite(best[order])]
    regions = predictions.iloc[order][["chrom", "start", "end"]].reset_index(drop=True)
    return regions, scores[order], tasks


def _windows(run: RunView, regions: pd.DataFrame):
    from dnalens.apply.predict import region_windows

    return region_windows(run.genome, regions, run.card.input_length)


def _filters(run: RunView, x, n_filters: int, tmp: Path, n_examples: int) -> Section:
    from dnalens.interpret.filters import filter_motifs
    from dnalens.interpret.matching import tomtom_matches
    from dnalens.io.motifs import jaspar_motifs
    from dnalens.plot.logos import plot_pwm_logo

    section = Section("First-layer filters", f"The {n_filters} convolution filters of the "
                       f"first layer with the most sites in {n_examples} top-scoring positive "
                       "test windows, drawn as logos of the sequences that activate them "
                       "(letter height = information, at most 2 bits). Each is compared with "
                       "JASPAR 2024 by TOMTOM; a q-value below 0.05 is a confident match.")
    pwms, sites = filter_motifs(run.model, x)
    order = [i for i in np.argsort(-sites, kind="stable")[:n_filters] if sites[i] > 0]
    if not order:
        section.note = "No filter is activated by these sequences."
        return section
    chosen = [pwms[i] for i in order]
    try:
        matches = tomtom_matches(chosen, jaspar_motifs(), top=1)
        best = matches[matches["rank"] == 1].set_index("query")
    except Exception as err:
        log.warning("TOMTOM failed: %s", err)
        section.note = f"TOMTOM matching failed: {err}"
        best = pd.DataFrame()
    cards = []
    for i, motif in zip(order, chosen, strict=True):
        png = plot_pwm_logo(motif, tmp / f"{motif.name}.png",
                            title=f"{motif.name} · {int(sites[i]):,} sites")
        row = best.loc[motif.name] if motif.name in best.index else None
        cards.append(match_card(png, motif.name, row))
    section.body.append('<div class="grid">' + "".join(cards) + "</div>")
    return section


def _strongest(run: RunView, x, regions: pd.DataFrame, scores: np.ndarray, tasks: list[str],
               tmp: Path) -> list[Section]:
    from dnalens.apply.mutagenesis import ism
    from dnalens.interpret.attribution import attribute
    from dnalens.plot.logos import plot_attribution_logo, plot_ism_heatmap

    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    task = tasks[j]
    target = list(run.card.tasks).index(task)
    where = f"{regions.at[i, 'chrom']}:{regions.at[i, 'start']:,}-{regions.at[i, 'end']:,}"
    length = x.shape[2]
    start = max(0, length // 2 - CENTRAL_BP // 2)
    end = min(length, start + CENTRAL_BP)
    xi = x[i : i + 1]
    label = f"{where}, task {task}, score {scores[i, j]:.3f}"

    attr_section = Section("Attribution of the strongest test sequence", "How much each "
                            f"base of the central {end - start} bp of the top-scoring test "
                            f"window ({label}) pushes the prediction up (letters above the "
                            "line) or down (below). Motifs the model relies on stand out "
                            "as tall stacks of letters.")
    method = "deepshap"
    try:
        attr = attribute(run.model, xi, method=method, target=target, n_shuffles=10)
    except Exception as err:
        log.warning("DeepSHAP failed (%s); using gradient x input", err)
        method = "grad_x_input"
        attr = attribute(run.model, xi, method=method, target=target)
    projected = (attr * xi).numpy()[0]
    for k, (a, b) in enumerate(_halves(start, end)):
        png = plot_attribution_logo(projected, tmp / f"attribution{k}.png", a, b,
                                    title=f"{where} · {task} · {method} · positions {a}–{b}")
        attr_section.body.append(image(png, "attribution logo", cls="wide"))

    ism_section = Section("In-silico mutagenesis", "Change in the predicted score of task "
                           f"{task} for every single-base substitution in the same central "
                           f"{end - start} bp: blue lowers the prediction, red raises it; the "
                           "reference base is white. Blue blocks mark bases the model needs.")
    delta = ism(run.model, xi, target=target).numpy()[0]
    for k, (a, b) in enumerate(_halves(start, end)):
        png = plot_ism_heatmap(delta[:, a:b], tmp / f"ism{k}.png",
                               title=f"{where} · {task} · positions {a}–{b} (axis from {a})")
        ism_section.body.append(image(png, "ISM heatmap", cls="wide"))
    return [attr_section, ism_section]


def _halves(start: int, end: int) -> list[tuple[int, int]]:
    """A long window in two rows, so that letters stay legible."""
    if end - start <= 100:
        return [(start, end)]
    mid = (start + end) // 2
    return [(start, mid), (mid, end)]


def write_report(run_dir: str | os.PathLike[str], *, out: str | os.PathLike[str] | None = None,
                 n_filters: int = 8, variants_tsv: str | os.PathLike[str] | None = None,
                 splice_tsv: str | os.PathLike[str] | None = None) -> Path:
    """Write one self-contained HTML report of a run.

    Parameters
    ----------
    run_dir : run folder (model.json, metrics.csv and, after ``dnalens evaluate``,
        evaluation.tsv, evaluation_baseline.tsv, predictions.tsv, roc.png, pr.png)
    out : output file; default ``run_dir/report.html``
    n_filters : number of first-layer filters shown as logos
    variants_tsv : output of ``dnalens variants``; default ``run_dir/variants.tsv`` if present
    splice_tsv : ``--out-tsv`` of ``dnalens splice score`` (splice runs); default
        ``run_dir/splice_scores.tsv`` if present

    Returns
    -------
    Path of the page, written atomically.
    """
    from dnalens.errors import DnalensError

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DnalensError(f"{run_dir}: no such run folder")
    out = Path(out) if out is not None else run_dir / "report.html"
    run = RunView(run_dir)
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="dnalens-report-") as tmp_name:
        tmp = Path(tmp_name)
        header = _header(run)
        sections.append(_training(run, tmp))
        sections.append(_evaluation(run)[0])
        kind = _data_kind(run)
        if kind == "splice":
            sections += _splice_sections(run, splice_tsv, tmp)
        else:
            if kind in ("coverage", "contacts"):
                skipped = Section("What the model learned", "Filter logos, attributions and "
                                  "in-silico mutagenesis of top test sequences.")
                skipped.note = ("Not drawn for coverage and contact-map models; use `dnalens "
                                "attribute` on regions of interest.")
                sections.append(skipped)
            else:
                sections += _interpretation(run, n_filters, tmp)
            if variants_tsv is None and (run_dir / "variants.tsv").exists():
                variants_tsv = run_dir / "variants.tsv"
            sections.append(modisco_section(run, tmp))
            sections.append(variants_section(
                run, Path(variants_tsv) if variants_tsv is not None else None, tmp))
        text = render_page(run.dir.name, header, sections)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(out, text)


def _interpretation(run: RunView, n_filters: int, tmp: Path) -> list[Section]:
    """Filter logos, attribution and ISM; one placeholder section when they cannot be made."""
    try:
        found = _examples(run)
        if isinstance(found, str):
            reason = found
        else:
            regions, scores, tasks = found
            if len(regions) == 0:
                reason = "predictions.tsv has no rows."
            else:
                x = _windows(run, regions)
                sections = []
                if n_filters > 0:
                    sections.append(_filters(run, x, n_filters, tmp, len(regions)))
                return sections + _strongest(run, x, regions, scores, tasks, tmp)
    except Exception as err:  # one section failing should not lose the whole report
        log.warning("interpretation sections skipped: %s", err, exc_info=True)
        reason = f"could not be computed: {err}"
    placeholder = Section("What the model learned", "Filter logos, attributions and "
                           "in-silico mutagenesis of top test sequences.")
    placeholder.note = f"Skipped: {reason}"
    return [placeholder]


def _data_kind(run: RunView) -> str | None:
    """The run's data source (``DataConfig.kind``: 'peaks', 'splice', 'coverage', ...), or
    None for a model folder without a readable config."""
    try:
        from dnalens.apply.evaluate import load_run_config_of

        return load_run_config_of(run.dir).data.kind
    except Exception:  # no readable config: report what the model folder holds
        return None


def _splice_sections(run: RunView, splice_tsv: str | os.PathLike[str] | None,
                     tmp: Path) -> list[Section]:
    """Splice runs: genes along held-out chromosomes, and scored variants when there are."""
    from dnalens.report.splice_report import splice_gene_sections, splice_variant_sections

    sections: list[Section] = []
    try:
        sections += splice_gene_sections(run, tmp)
    except Exception as err:  # one section failing should not lose the whole report
        log.warning("splice gene views skipped: %s", err, exc_info=True)
        failed = Section("Predicted splice sites along held-out genes", "")
        failed.note = f"Skipped: could not be computed: {err}"
        sections.append(failed)
    path = Path(splice_tsv) if splice_tsv is not None else run.dir / "splice_scores.tsv"
    table = read_tsv(path)
    if table is None:
        if splice_tsv is not None:
            log.warning("%s: no such splice scores table", path)
        return sections
    from dnalens.apply.evaluate import load_run_config_of
    from dnalens.io.annotation import read_annotation

    genes = read_annotation(load_run_config_of(run.dir).data.splice.annotation)
    return sections + splice_variant_sections(table, run.model, run.genome, genes, tmp)
