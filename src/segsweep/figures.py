"""One figure style for every output, made for a paper: single- (3.5 in) and
double-column (7 in) widths drawn at their final size (text stays ≥ 7 pt when placed at
that width), a colour-blind-safe palette that reads on white, legends outside the data,
PNG for the web next to a vector PDF.

The palette is Okabe & Ito's (Color Universal Design) without its orange, sky blue and
yellow: those three have a contrast below 3:1 on white (WCAG 2.1, 1.4.11; yellow
#F0E442 is 1.3:1). Beyond five rows a figure tells rows apart by marker and line style
as well (``row_style``), so no two rows of one figure look the same.
"""

from __future__ import annotations

import contextlib
import logging
import math
from pathlib import Path

import matplotlib
import matplotlib.text
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from segsweep.io import atomic_path

log = logging.getLogger("segsweep.figures")

SINGLE, DOUBLE = 3.5, 7.0  # inches: one column and the full text width of a two-column paper
MIN_PT = 7.0  # the smallest text a journal accepts at print size
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000"]  # blue, vermillion, green, purple, black
MARKERS = ["o", "s", "^", "D", "v"]
DASHES = ["-", "--", ":", "-."]
PNG_BUDGET = 400_000  # bytes: a web page holds dozens of figures


def rc(font_size: float = 8.0, dpi: int = 150) -> dict:
    """Matplotlib settings of the house style; every text size is ``font_size`` (no
    relative "small" sizes, which would drop below ``MIN_PT``)."""
    return {
        "figure.dpi": 110,
        "savefig.dpi": dpi,
        "font.size": font_size,
        "axes.titlesize": font_size,
        "axes.labelsize": font_size,
        "xtick.labelsize": font_size,
        "ytick.labelsize": font_size,
        "legend.fontsize": font_size,
        "legend.title_fontsize": font_size,
        "figure.titlesize": font_size + 1,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "lines.linewidth": 1.2,
        "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
        "legend.frameon": False,
        "pdf.fonttype": 42,  # editable text in the PDF
        "figure.constrained_layout.use": True,
    }


plt.rcParams.update(rc())


@contextlib.contextmanager
def style(font_size: float = 8.0, dpi: int = 150):
    """The house style with another text size or PNG resolution (report.figure)."""
    with plt.rc_context(rc(font_size, dpi)):
        yield


def row_style(i: int) -> dict:
    """Colour, marker and (past the palette and markers) dash of row ``i`` of a figure:
    distinct for every i < len(PALETTE) · len(MARKERS) · len(DASHES)."""
    n = len(PALETTE)
    return {
        "color": PALETTE[i % n],
        "marker": MARKERS[(i // n) % len(MARKERS)],
        "dash": DASHES[(i // (n * len(MARKERS))) % len(DASHES)],
    }


def subplots(nrows: int = 1, ncols: int = 1, width: float = DOUBLE, aspect: float = 0.4, **kw):
    """``plt.subplots`` at a paper width (``SINGLE`` or ``DOUBLE``), height
    ``width · aspect``; extra keywords go to ``plt.subplots``."""
    kw.setdefault("squeeze", False)
    return plt.subplots(nrows, ncols, figsize=(width, width * aspect), **kw)


class DistinctSci(matplotlib.ticker.Formatter):
    """Tick labels in scientific notation with the fewest significant digits (1 to 4)
    that write every tick exactly and tell them apart: ``1e-04, 2e-04``, but
    ``1.0e-04, 1.5e-04`` where "%.0e" printed 1e-04 twice and rounded 1.5e-04 to 2e-04
    (issue 27)."""

    def format_ticks(self, values):
        labels = []
        for digits in range(1, 5):
            labels = [f"{v:.{digits - 1}e}" for v in values]
            exact = all(math.isclose(float(lab), v, rel_tol=1e-6, abs_tol=1e-300) for lab, v in zip(labels, values))
            if exact and len(set(labels)) == len(labels):
                break
        return labels

    def __call__(self, x, pos=None):
        return f"{x:.1e}"


def legend_outside(fig, ax=None, **kw):
    """One legend for the figure, right of the axes (never over the data)."""
    handles, labels = (ax or fig.axes[0]).get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", **kw)


def check(fig) -> list[str]:
    """What keeps ``fig`` from going into a paper as drawn: a width other than
    ``SINGLE`` / ``DOUBLE``, text below ``MIN_PT``, text cut at the edge, text on text
    or on a legend, repeated tick labels (``segsweep.figure_text``)."""
    problems = []
    width = fig.get_size_inches()[0]
    if min(abs(width - SINGLE), abs(width - DOUBLE)) > 0.01:
        problems.append(f"width {width:.2f} in (want {SINGLE} or {DOUBLE})")
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip() and t.get_visible()]
    small = sorted({round(t.get_fontsize(), 1) for t in texts if t.get_fontsize() < MIN_PT})
    if small:
        problems.append(f"text at {small} pt, below {MIN_PT} pt")
    fig.draw_without_rendering()  # the layout, so text extents are final
    labels = _labels(fig)
    cut = [t.get_text() for t in labels if _outside(t.get_window_extent(), fig.bbox)]
    if cut:
        problems.append(f"text cut off at the figure's edge: {cut[0]!r}")
    from segsweep.figure_text import collisions

    return problems + collisions(fig, labels)


def _labels(fig) -> list:
    """Titles, axis labels, legend and free texts: what constrained layout must fit
    (tick labels are left out: matplotlib keeps stale ones outside the view)."""
    out = list(fig.texts) + [getattr(fig, f"_sup{k}", None) for k in ("title", "xlabel", "ylabel")]
    for legend in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        out += [*legend.texts, legend.get_title()] if legend is not None else []
    for ax in fig.axes:
        out += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        out += [ax.zaxis.label] if hasattr(ax, "zaxis") else []
    return [t for t in out if t is not None and t.get_visible() and t.get_text().strip()]


def _outside(extent, box, tol: float = 1.0) -> bool:
    return extent.x0 < box.x0 - tol or extent.x1 > box.x1 + tol or extent.y0 < box.y0 - tol or extent.y1 > box.y1 + tol


def _web_png(path: Path) -> None:
    """Re-encode a PNG over ``PNG_BUDGET`` bytes with an adaptive 256-colour palette
    (deterministic; heat maps and photos drop to about a third). The PDF beside it keeps
    every colour."""
    if path.stat().st_size <= PNG_BUDGET:
        return
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, format="png", optimize=True)


def save(fig, stem: Path, caption: str | None = None) -> list[Path]:
    """Write ``stem``.png and ``stem``.pdf atomically at the figure's own size (no tight
    bounding box: the width is the width in the paper) and close the figure. The PDF
    carries no creation date, so the same figure gives the same bytes (DVC hashes); a
    large PNG is reduced for the web (``_web_png``). ``caption`` (what is plotted, over
    which data, with which n) goes to ``stem``.caption.txt, where the report finds it."""
    for problem in check(fig):
        log.warning("figure %s: %s", Path(stem).name, problem)
    out = []
    for ext in ("png", "pdf"):
        path = Path(f"{stem}.{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, metadata={"CreationDate": None} if ext == "pdf" else None)
            if ext == "png":
                _web_png(tmp)
        out.append(path)
    if caption:
        path = Path(f"{stem}.caption.txt")
        with atomic_path(path) as tmp:
            tmp.write_text(caption.strip() + "\n")
        out.append(path)
    plt.close(fig)
    return out
