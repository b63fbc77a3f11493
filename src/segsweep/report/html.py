"""The report page's HTML pieces: one stylesheet, tables that scroll inside their own box
on narrow screens and read well in a screen reader (caption, scoped headers), figures
with a caption and a description, download links. No script, no network."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd

CSS = """body{font-family:sans-serif;max-width:1300px;margin:1em auto;padding:0 1em;color:#222;line-height:1.4}
.scroll{overflow-x:auto;max-width:100%;margin:1em 0}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 6px;border-bottom:1px solid #ccc}
th{border-bottom:2px solid #444;text-align:left;vertical-align:bottom;min-width:3em}
caption{text-align:left;font-weight:bold;padding:4px 0}
figure{margin:1em 0}img{max-width:100%;height:auto}figcaption{color:#444;font-size:13px}
code{background:#f3f3f3;padding:1px 4px;word-break:break-all}.small{color:#555;font-size:12px}
a{color:#0b5394}"""

# What each probe / landscape figure shows (its alt text and caption), by file stem.
DESCRIPTIONS = {
    "patches_init": "Gradient 2-norm of each probed loss on foreground+background and on background-only patches, "
    "for freshly initialised U-Nets (log scale; the bg-only / fg+bg ratio is annotated).",
    "pixels_synthetic_curves": "One pixel's loss, dL/dp and dL/dlogit as its predicted probability sweeps (0, 1), "
    "for label 0 and 1, per loss.",
    "pixels_synthetic_maps": "Per-pixel |gradient| maps of each loss on a disk target, at p = 0.5 and at a "
    "partly-trained state.",
    "compare_line": "Loss along one filter-normalised random direction around each landscape cell's scored weights.",
    "compare_interpolation": "Loss along the straight line from initialisation (t = 0) to the scored weights "
    "(t = 1); × marks non-finite points.",
    "compare_contour": "Loss on a plane of two filter-normalised directions around each cell's scored weights "
    "(shared log-spaced contour levels).",
    "compare_surface": "The same planes as 3D surfaces.",
}


def describe(name: str) -> str:
    """A figure's description from its stem (``<folder>_<file>``), generic if unknown."""
    if name in DESCRIPTIONS:
        return DESCRIPTIONS[name]
    if name.startswith("dynamics_study_") and name.endswith("_trend"):
        study = name[len("dynamics_study_") : -len("_trend")]
        return (
            f"Study {study}: late / early per-layer gradient 2-norm (mean over the last vs the first 25 % of "
            "steps), geometric mean over seeds with a 95 % interval, per layer."
        )
    if name.startswith("dynamics_study_"):
        return f"Study {name[len('dynamics_study_') :]}: total gradient norm, update norm and loss per step."
    if name.startswith("patches_cell_"):
        return f"Gradient norms on fg+bg vs bg-only patches along the training of cell {name[len('patches_cell_') :]}."
    if name.startswith("pixels_cell_"):
        return f"|dL/dlogits| heatmaps on validation images along the training of cell {name[len('pixels_cell_') :]}."
    return name.replace("_", " ")


def _unbroken(text: str) -> str:
    """``text`` with no-break spaces inside each value (``0.937 ± 0.009``, an interval
    ``[−0.100, −0.030]``, ``7 / ∞``): cells wrap between values, never inside one."""
    text = re.sub(r"\[[^\]]*\]", lambda m: m.group(0).replace(" ", "\u00a0"), text)
    return text.replace(" ± ", "\u00a0±\u00a0").replace(" / ", "\u00a0/\u00a0").replace(" †", "\u00a0†")


def table(frame: pd.DataFrame, bold: frozenset = frozenset(), caption: str = "") -> str:
    """A table in a horizontally scrolling box, with a caption and column headers."""
    head = "".join(f'<th scope="col">{html.escape(str(c))}</th>' for c in frame.columns)

    def cell(i, j, v):
        text = html.escape(_unbroken(str(v)))
        return f"<td><b>{text}</b></td>" if (i, j) in bold else f"<td>{text}</td>"

    rows = "".join(
        "<tr>" + "".join(cell(i, j, v) for j, v in enumerate(row)) + "</tr>" for i, row in enumerate(frame.to_numpy())
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    label = html.escape(caption or "table", quote=True)
    return (
        f'<div class="scroll" role="region" aria-label="{label}" tabindex="0"><table>{cap}'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def figure(name: str, caption: str, pdf: bool = True) -> str:
    """``figures/<name>.png`` with its caption as alt text and figcaption, and its PDF."""
    src = html.escape(f"figures/{name}.png", quote=True)
    link = f' <a href="figures/{html.escape(name, quote=True)}.pdf">PDF</a>' if pdf else ""
    return (
        f'<figure><img src="{src}" alt="{html.escape(caption, quote=True)}" loading="lazy">'
        f"<figcaption>{html.escape(caption)}{link}</figcaption></figure>"
    )


def links(paths: list[str], root: Path) -> str:
    """Download links to the files among ``paths`` (relative to the report) that exist."""
    found = [p for p in paths if (root / p).exists()]
    return (
        "<p class=small>Download: "
        + " · ".join(f'<a href="{html.escape(p, quote=True)}">{html.escape(Path(p).name)}</a>' for p in found)
        + "</p>"
    )


def page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
