"""Building blocks of the HTML report: sections, escaped text, embedded images, tables,
and the page around them (inline CSS, no external resource)."""

from __future__ import annotations

import base64
import html
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Section", "escape", "fmt", "html_table", "image", "read_tsv", "render_page"]

log = logging.getLogger(__name__)


@dataclass
class Section:
    title: str
    caption: str
    body: list[str] = field(default_factory=list)
    note: str | None = None  # why the section is empty / partial

    def render(self) -> str:
        parts = [f"<section><h2>{escape(self.title)}</h2>"]
        if self.caption:
            parts.append(f'<p class="caption">{escape(self.caption)}</p>')
        if self.note:
            parts.append(f'<p class="note">{escape(self.note)}</p>')
        parts.extend(self.body)
        parts.append("</section>")
        return "\n".join(parts)


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def image(path: Path, alt: str, *, cls: str = "fig") -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img class="{cls}" alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def fmt(value: object) -> str:
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


def html_table(frame: pd.DataFrame, *, highlight: dict[str, str] | None = None) -> str:
    """HTML table; numbers right-aligned. ``highlight`` maps column -> css class."""
    highlight = highlight or {}
    head = "".join(
        f'<th class="{"num" if pd.api.types.is_numeric_dtype(frame[c]) else ""}">{escape(c)}</th>'
        for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for c in frame.columns:
            numeric = pd.api.types.is_numeric_dtype(frame[c])
            cls = " ".join(x for x in ("num" if numeric else "", highlight.get(c, "")) if x)
            cells.append(f'<td class="{cls}">{escape(fmt(row[c]))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="tablewrap"><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def read_tsv(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        return pd.read_csv(path, sep="\t")
    except (OSError, ValueError, pd.errors.ParserError) as err:
        log.warning("%s: cannot read (%s)", path, err)
        return None


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


def render_page(title: str, header: str, sections: list[Section]) -> str:
    """The whole page: header, sections, footer and the image-counting script."""
    body = "\n".join(s.render() for s in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>{escape(title)} · dnalens report</title><style>{_CSS}</style></head>\n"
        f"<body data-loaded=\"0\"><main>\n{header}\n{body}\n"
        "<footer>Generated by <code>dnalens report</code>; this page is self-contained "
        "and can be shared as one file.</footer></main>\n"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


