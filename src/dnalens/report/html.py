"""One self-contained HTML page about a run: what it learned and how well it does.

Every figure is embedded as a base64 PNG data URI, the CSS is inline and there is no
script other than a tiny one that counts the images that loaded (``data-loaded`` on
``<body>``, used by tests that render the page in a headless browser). Sections whose
inputs are missing are kept, with a line saying why they are empty.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from dnalens.files import write_text_atomic

__all__ = ["write_report"]

log = logging.getLogger(__name__)

# Positive test windows used for filter PWMs; and the central window drawn for attributions.
MAX_EXAMPLES = 300
CENTRAL_BP = 200
TOP_VARIANTS = 20


@dataclass
class _Section:
    title: str
    caption: str
    body: list[str] = field(default_factory=list)
    note: str | None = None  # why the section is empty / partial

    def render(self) -> str:
        parts = [f"<section><h2>{_e(self.title)}</h2>"]
        if self.caption:
            parts.append(f'<p class="caption">{_e(self.caption)}</p>')
        if self.note:
            parts.append(f'<p class="note">{_e(self.note)}</p>')
        parts.extend(self.body)
        parts.append("</section>")
        return "\n".join(parts)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _img(path: Path, alt: str, *, cls: str = "fig") -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img class="{cls}" alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _fmt(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "–"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.4f}"
    return str(value)


def _table(frame: pd.DataFrame, *, highlight: dict[str, str] | None = None) -> str:
    """HTML table; numbers right-aligned. ``highlight`` maps column -> css class."""
    highlight = highlight or {}
    head = "".join(
        f'<th class="{"num" if pd.api.types.is_numeric_dtype(frame[c]) else ""}">{_e(c)}</th>'
        for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for c in frame.columns:
            numeric = pd.api.types.is_numeric_dtype(frame[c])
            cls = " ".join(x for x in ("num" if numeric else "", highlight.get(c, "")) if x)
            cells.append(f'<td class="{cls}">{_e(_fmt(row[c]))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _read_tsv(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        return pd.read_csv(path, sep="\t")
    except (OSError, ValueError, pd.errors.ParserError) as err:
        log.warning("%s: cannot read (%s)", path, err)
        return None


class _Run:
    """Lazily loaded pieces of a run folder."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir
        self._model = None
        self._card = None

    @property
    def card(self):
        if self._card is None:
            from dnalens.models.store import read_model_card

            self._card = read_model_card(self.dir)
        return self._card

    @property
    def model(self):
        if self._model is None:
            from dnalens.models.store import load_model

            self._model = load_model(self.dir).eval()
        return self._model


# ---------------------------------------------------------------------------- sections


def _header(run: _Run) -> str:
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
    items = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    return (f'<header><p class="kicker">dnalens run report</p><h1>{_e(title)}</h1>'
            f'<p class="path">{_e(run.dir)}</p><dl class="facts">{items}</dl></header>')


def _training(run: _Run, tmp: Path) -> _Section:
    from dnalens.plot.curves import plot_training_curves

    section = _Section("Training", "Loss per epoch (left; lower is better) and validation "
                       "AUROC/AUPRC (right; higher is better). Training loss falling while "
                       "validation loss rises is overfitting.")
    png = run.dir / "training.png"
    if not png.exists():
        png = plot_training_curves(run.dir / "metrics.csv", tmp / "training.png")
    if png is None:
        section.note = "No training.png or metrics.csv in the run folder."
    else:
        section.body.append(_img(png, "training curves"))
    return section


def _evaluation(run: _Run) -> tuple[_Section, pd.DataFrame | None]:
    section = _Section("Test-set evaluation", "Area under the ROC curve (0.5 = chance, 1 = "
                       "perfect) and under the precision-recall curve (chance = the fraction "
                       "of positives) on held-out data, next to a k-mer logistic-regression "
                       "baseline. The model should beat the baseline, most visibly in AUPRC.")
    table = _read_tsv(run.dir / "evaluation.tsv")
    if table is None:
        section.note = ("No evaluation.tsv in the run folder; run `dnalens evaluate RUN` "
                        "first.")
        return section, None
    shown = table[[c for c in ("task", "auroc", "auprc", "n_pos", "n_neg") if c in table]].copy()
    baseline = _read_tsv(run.dir / "evaluation_baseline.tsv")
    if baseline is not None and "task" in baseline:
        base = baseline.set_index("task")
        for metric in ("auroc", "auprc"):
            if metric in base:
                shown[f"kmer_{metric}"] = shown["task"].map(base[metric])
        if "auprc" in shown and "kmer_auprc" in shown:
            shown["auprc_gain"] = shown["auprc"] - shown["kmer_auprc"]
    else:
        section.note = "No evaluation_baseline.tsv: the k-mer baseline was not trained."
    section.body.append(_table(shown, highlight={"auroc": "key", "auprc": "key"}))
    figures = [_img(run.dir / name, name.split(".")[0].upper() + " curves")
               for name in ("roc.png", "pr.png") if (run.dir / name).exists()]
    if figures:
        section.body.append('<div class="pair">' + "".join(figures) + "</div>")
        section.body.append('<p class="caption">ROC: true- against false-positive rate; '
                            "PR: precision against recall, one line per task (dashed: "
                            "baseline).</p>")
    return section, table


def _score_columns(predictions: pd.DataFrame, tasks: list[str]) -> list[str]:
    return [f"{t}_score" for t in tasks if f"{t}_score" in predictions]


def _examples(run: _Run) -> tuple[pd.DataFrame, np.ndarray, list[str]] | str:
    """Top-scoring positive test windows: (regions, scores (n, tasks), tasks), or a reason."""
    predictions = _read_tsv(run.dir / "predictions.tsv")
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


def _windows(run: _Run, regions: pd.DataFrame):
    from dnalens.apply.predict import region_windows
    from dnalens.cli.common import run_genome

    return region_windows(run_genome(run.dir, None), regions, run.card.input_length)


def _filters(run: _Run, x, n_filters: int, tmp: Path, n_examples: int) -> _Section:
    from dnalens.interpret.filters import filter_motifs
    from dnalens.interpret.matching import tomtom_matches
    from dnalens.io.motifs import jaspar_motifs
    from dnalens.plot.logos import plot_pwm_logo

    section = _Section("First-layer filters", f"The {n_filters} convolution filters of the "
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
        if motif.name in best.index:
            row = best.loc[motif.name]
            alt = row.get("target_alt")
            name = str(row["target"]) + (f" ({alt})" if isinstance(alt, str) and alt else "")
            q = float(row["q_value"])
            cls = "good" if q < 0.05 else "weak"
            match = (f'<p class="match {cls}">{_e(name)}<br><span>q = {_e(_fmt(q))}'
                     f"</span></p>")
        else:
            match = '<p class="match weak">no match</p>'
        cards.append(f'<figure class="card">{_img(png, motif.name, cls="logo")}'
                     f"<figcaption>{match}</figcaption></figure>")
    section.body.append('<div class="grid">' + "".join(cards) + "</div>")
    return section


def _strongest(run: _Run, x, regions: pd.DataFrame, scores: np.ndarray, tasks: list[str],
               tmp: Path) -> list[_Section]:
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

    attr_section = _Section("Attribution of the strongest test sequence", "How much each "
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
        attr_section.body.append(_img(png, "attribution logo", cls="wide"))

    ism_section = _Section("In-silico mutagenesis", "Change in the predicted score of task "
                           f"{task} for every single-base substitution in the same central "
                           f"{end - start} bp: blue lowers the prediction, red raises it; the "
                           "reference base is white. Blue blocks mark bases the model needs.")
    delta = ism(run.model, xi, target=target).numpy()[0]
    for k, (a, b) in enumerate(_halves(start, end)):
        png = plot_ism_heatmap(delta[:, a:b], tmp / f"ism{k}.png",
                               title=f"{where} · {task} · positions {a}–{b} (axis from {a})")
        ism_section.body.append(_img(png, "ISM heatmap", cls="wide"))
    return [attr_section, ism_section]


def _halves(start: int, end: int) -> list[tuple[int, int]]:
    """A long window in two rows, so that letters stay legible."""
    if end - start <= 100:
        return [(start, end)]
    mid = (start + end) // 2
    return [(start, mid), (mid, end)]


def _variants(path: Path | None) -> _Section:
    section = _Section("Top variants", f"The {TOP_VARIANTS} variants with the largest "
                       "predicted effect (the largest |alt − ref| over tasks); positive diff "
                       "means the alternative allele raises the prediction.")
    if path is None:
        section.note = ("No variants table: run `dnalens variants RUN --vcf ... --out "
                        "RUN/variants.tsv` or pass --variants.")
        return section
    table = _read_tsv(path)
    diffs = [c for c in table.columns if c.endswith("_diff")] if table is not None else []
    if table is None or not diffs:
        section.note = f"{path}: not a variants table with <task>_diff columns."
        return section
    effect = table[diffs].abs().to_numpy(np.float64)
    table = table.assign(max_abs_diff=np.nanmax(effect, axis=1),
                         task=[diffs[k][: -len("_diff")] for k in np.nanargmax(effect, axis=1)])
    top = table.sort_values("max_abs_diff", ascending=False, kind="stable").head(TOP_VARIANTS)
    rows = []
    for _, row in top.iterrows():
        task = row["task"]
        item = {c: row[c] for c in ("chrom", "pos", "id", "ref", "alt") if c in top}
        item["task"] = task
        for kind in ("ref", "alt", "diff", "log2fc"):
            if f"{task}_{kind}" in top:
                item[kind if kind not in item else f"{kind}_score"] = row[f"{task}_{kind}"]
        rows.append(item)
    frame = pd.DataFrame(rows)
    section.body.append(_table(frame, highlight={"diff": "key"}))
    section.body.append(f'<p class="caption">{len(table):,} variants in {_e(path.name)}; '
                        "ref/alt are the predictions for each allele.</p>")
    return section


# ------------------------------------------------------------------------------- page

_CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#f6f7f9;--accent:#2b5fab}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
 font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 28px 60px}
header{background:#fff;border:1px solid var(--line);border-radius:10px;padding:20px 24px}
.kicker{margin:0;color:var(--accent);font-size:12px;text-transform:uppercase;
 letter-spacing:.08em;font-weight:600}
h1{margin:2px 0 0;font-size:28px}
.path{margin:2px 0 14px;color:var(--muted);font:12px ui-monospace,Menlo,Consolas,monospace}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px 20px;
 margin:0}
.facts dt{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em}
.facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:18px 24px;
 margin-top:18px}
h2{margin:0 0 4px;font-size:19px}
.caption{margin:0 0 12px;color:var(--muted);font-size:13.5px;max-width:80ch}
.note{margin:6px 0 12px;padding:8px 12px;background:#fff7e0;border-left:3px solid #e0a800;
 font-size:13.5px}
img{display:block;max-width:100%;height:auto}
.fig{margin:0 auto}
.wide{width:100%}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin-top:14px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:12px}
.card{margin:0;border:1px solid var(--line);border-radius:8px;padding:8px;background:#fff}
.logo{width:100%}
.match{margin:6px 2px 0;font-weight:600;font-size:13.5px}
.match span{font-weight:400;color:var(--muted);font-size:12.5px}
.match.weak{color:var(--muted);font-weight:500}
.tablewrap{overflow-x:auto}
table{border-collapse:collapse;font-size:14px;min-width:50%}
th,td{padding:6px 12px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.num{text-align:right;font-variant-numeric:tabular-nums}
td.key{font-weight:700}
tbody tr:hover{background:#f2f5fa}
footer{margin-top:24px;color:var(--muted);font-size:12px;text-align:center}
@media (max-width:700px){.pair{grid-template-columns:1fr}}
"""

# Counts images that decoded (naturalWidth > 0) into <body data-loaded="N">.
_SCRIPT = """
window.addEventListener("load",function(){var n=0,im=document.images;
for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0){n++;}}
document.body.setAttribute("data-loaded",String(n));
document.body.setAttribute("data-images",String(im.length));});
"""


def _page(title: str, header: str, sections: list[_Section]) -> str:
    body = "\n".join(s.render() for s in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>{_e(title)} · dnalens report</title><style>{_CSS}</style></head>\n"
        f"<body data-loaded=\"0\"><main>\n{header}\n{body}\n"
        "<footer>Generated by <code>dnalens report</code>; this page is self-contained "
        "and can be shared as one file.</footer></main>\n"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


def write_report(run_dir: str | os.PathLike[str], *, out: str | os.PathLike[str] | None = None,
                 n_filters: int = 8, variants_tsv: str | os.PathLike[str] | None = None
                 ) -> Path:
    """Write one self-contained HTML report of a run.

    Parameters
    ----------
    run_dir : run folder (model.json, metrics.csv and, after ``dnalens evaluate``,
        evaluation.tsv, evaluation_baseline.tsv, predictions.tsv, roc.png, pr.png)
    out : output file; default ``run_dir/report.html``
    n_filters : number of first-layer filters shown as logos
    variants_tsv : output of ``dnalens variants``; default ``run_dir/variants.tsv`` if present

    Returns
    -------
    Path of the page, written atomically.
    """
    from dnalens.errors import DnalensError

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DnalensError(f"{run_dir}: no such run folder")
    out = Path(out) if out is not None else run_dir / "report.html"
    run = _Run(run_dir)
    sections: list[_Section] = []
    with tempfile.TemporaryDirectory(prefix="dnalens-report-") as tmp_name:
        tmp = Path(tmp_name)
        header = _header(run)
        sections.append(_training(run, tmp))
        sections.append(_evaluation(run)[0])
        sections += _interpretation(run, n_filters, tmp)
        if variants_tsv is None and (run_dir / "variants.tsv").exists():
            variants_tsv = run_dir / "variants.tsv"
        sections.append(_variants(Path(variants_tsv) if variants_tsv is not None else None))
        text = _page(run.dir.name, header, sections)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(out, text)


def _interpretation(run: _Run, n_filters: int, tmp: Path) -> list[_Section]:
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
    placeholder = _Section("What the model learned", "Filter logos, attributions and "
                           "in-silico mutagenesis of top test sequences.")
    placeholder.note = f"Skipped: {reason}"
    return [placeholder]
