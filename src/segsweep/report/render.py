"""Study tables as people read them: Markdown, LaTeX (booktabs) and the text the HTML
page shows, with human-readable headers, bold best values, the comparison with the
reference row, and two-factor pivots. The CSVs keep the machine columns of
``segsweep.report.tables``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from segsweep.report.tables import METRICS, param_columns

SHOWN = [
    "status",
    "dice",
    "ci95",
    "dice_ok",
    "vs reference",
    "p (Holm)",
    "p_improve",
    "verdict",
    "seeds_needed",
    "nsd",
    "empty_correct",
    "val_dice",
    "selected_epoch",
]
LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # non-ASCII the report writes, for pdflatex without extra packages
    "±": r"$\pm$",
    "Δ": r"$\Delta$",
    "γ": r"$\gamma$",
    "λ": r"$\lambda$",
    "–": "--",
    "≥": r"$\geq$",
    "→": r"$\to$",
    "∞": r"$\infty$",
    "−": r"$-$",  # a real minus sign (numbers are written with U+2212, not a hyphen)
    "†": r"$^{\dagger}$",
    "÷": r"$\div$",
}


# Column headers of the human-readable renderings (HTML, Markdown, LaTeX); CSV and JSON
# keep the machine names. Other params columns read as their last dotted part.
LABELS = {
    "cell": "cell",
    "seeds": "seeds",
    "status": "status",
    "dice": "Dice",
    "ci95": "95 % CI",
    "iou": "IoU",
    "nsd": "NSD",
    "empty_correct": "empty predicted empty",
    "val_dice": "val. Dice",
    "selected_epoch": "epoch",
    "dice_ok": "Dice, ok seeds",
    "vs reference": "Δ Dice vs reference [95 % CI]",
    "p (Holm)": "p (Holm)",
    "p_improve": "P(better)",
    "verdict": "verdict",
    "seeds_needed": "seeds for 80 % power (Δ / Δ÷2)",
    "optimizer.lr": "learning rate",
    "optimizer.weight_decay": "weight decay",
    "optimizer.name": "optimizer",
    "loss.name": "loss",
    "scheduler.name": "scheduler",
    "scheduler.gamma": "γ",
    "model.norm": "normalisation",
    "train_fraction": "train fraction",
    "loss.lam": "λ",
}


VERDICTS = ("better", "worse", "equivalent", "inconclusive")


def label(column: str) -> str:
    """A column's header for people: ``optimizer.lr`` -> ``learning rate``."""
    return LABELS.get(column) or column.rsplit(".", 1)[-1].replace("_", " ")


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: label(c) for c in frame.columns})


def _fmt(v, decimals: int) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.{decimals}f}"
    return str(v)


def _signed(v: float, decimals: int) -> str:
    """``+0.012`` / ``−0.012`` with a real minus sign (U+2212), as print wants it."""
    return f"{v:+.{decimals}f}".replace("-", "−")


def _vs_reference(r, decimals: int) -> tuple[str, str]:
    """The difference from the reference row with its interval, and the Holm-adjusted p
    (``<0.001`` below that)."""
    if r["test"] == "reference":
        return "reference", ""
    if r["test"] == "threshold":
        return "not compared", ""
    if pd.isna(r["diff"]):
        return ("" if r["n_ok"] == 0 else "no test"), ""
    low, high = _signed(r["diff_ci95_low"], decimals), _signed(r["diff_ci95_high"], decimals)
    diff = f"{_signed(r['diff'], decimals)} [{low}, {high}]"
    if pd.isna(r.get("p_holm")):
        return diff, ""
    p = float(r["p_holm"])
    return diff, f"{p:.2g}" if p >= 0.001 else "<0.001"


def _seeds_needed(r) -> str:
    """``a / b``: seeds for 80 % power at the observed difference and at half of it;
    ``∞``: more seeds alone cannot (the test images' own spread, or no effect)."""
    lo, hi = r.get("seeds_needed", math.nan), r.get("seeds_needed_half", math.nan)
    if pd.isna(lo):
        return ""

    def one(v):
        return "∞" if math.isinf(v) else f"{v:.0f}"

    return one(lo) if pd.isna(hi) else f"{one(lo)} / {one(hi)}"


def _dice_text(r, decimals: int) -> str:
    """``mean ± std`` over all seeds; ``†`` when the row was still improving."""
    if r.get("n_diverged", 0) == r["n"] and r["n"] > 0:  # nothing was scored: say so, not "0.000"
        return "diverged"
    if pd.isna(r["dice"]):
        return ""
    dice = _fmt(r["dice"], decimals)
    if r["n"] > 1 and not math.isnan(r["dice_std"]):
        dice += f" ± {_fmt(r['dice_std'], decimals)}"
    return dice + (" †" if r.get("converged") is False else "")


def best_rows(df: pd.DataFrame) -> frozenset:
    """Rows that may be bold: every seed ok, not the threshold reference; none when
    fewer than two such rows (a lone row is not "best")."""
    eligible = (df["status"] == "ok") & (df["test"] != "threshold")
    return frozenset(np.flatnonzero(eligible.to_numpy())) if eligible.sum() >= 2 else frozenset()


def display_rows(df: pd.DataFrame, decimals: int) -> tuple[pd.DataFrame, frozenset]:
    """The table as text, and the (row, column) positions to set in bold: the best value
    of each metric column (test Dice, NSD, empty predicted empty, validation Dice) among
    rows whose seeds all succeeded. Dice reads ``mean ± std`` over all seeds where a row
    has several; the interval and power columns appear only then (the seeds column only
    where rows differ in their seeds), the status and
    ok-seeds columns only when a seed failed, the comparison columns only when a row
    was compared."""
    several = bool((df["n"] > 1).any())
    failed = bool(((df["status"] != "ok") & (df["test"] != "threshold")).any())  # not the reference row
    compared = bool(df["diff"].notna().any()) if "diff" in df else False
    hidden = set()
    hidden |= set() if several else {"ci95", "p_improve", "seeds_needed"}
    hidden |= set() if failed else {"status", "dice_ok"}
    hidden |= set() if compared else {"p (Holm)", "p_improve", "seeds_needed"}
    # the seeds column only where rows differ in their seeds: the note gives n per row
    trained = df[df["test"] != "threshold"] if "test" in df else df
    varied = several and trained["seeds"].astype(str).nunique() > 1 if "seeds" in df else False
    keys = [c for c in df.columns if (c not in METRICS and c != "seeds") or (c == "seeds" and varied)]
    header = keys + [c for c in SHOWN if c not in hidden]
    rows = []
    for _, r in df.iterrows():
        # parameter values as written (1e-4 must not round to 0.000); metrics to `decimals`
        row = [f"{r[k]:g}" if isinstance(r[k], float) else str(r[k]) for k in keys]
        none_ok = r["n_ok"] == 0
        shown = {
            "status": r["status"],
            "dice": _dice_text(r, decimals),
            "ci95": ""
            if math.isnan(r["ci95_low"])
            else f"[{_fmt(r['ci95_low'], decimals)}, {_fmt(r['ci95_high'], decimals)}]",
            "dice_ok": _fmt(r.get("dice_ok", math.nan), decimals),
            "p_improve": _fmt(r.get("p_improve", math.nan), 2),
            "verdict": str(r.get("verdict", "")) if not pd.isna(r.get("verdict", "")) else "",
            "seeds_needed": _seeds_needed(r),
            "nsd": "" if none_ok else _fmt(r.get("nsd", math.nan), decimals),
            "empty_correct": _fmt(r["empty_correct"], decimals),
            "val_dice": _fmt(r["val_dice"], decimals),
            "selected_epoch": ""
            if math.isnan(r["selected_epoch"])
            else (f"{r['selected_epoch']:.0f}" if r["n_ok"] == 1 else f"{r['selected_epoch']:.1f}"),
        }
        shown["vs reference"], shown["p (Holm)"] = _vs_reference(r, decimals)
        rows.append(row + [shown[c] for c in header[len(keys) :]])
    bold, best = set(), best_rows(df)
    for col in ("dice", "nsd", "empty_correct", "val_dice"):
        if col not in df:
            continue
        values = df[col].astype(float).where([i in best for i in range(len(df))])
        if values.notna().any():
            bold |= {(i, header.index(col)) for i in best if values.iloc[i] == values.max()}
    return pd.DataFrame(rows, columns=header), frozenset(bold)


def to_markdown(df: pd.DataFrame, decimals: int = 3, note: str = "") -> str:
    text, bold = display_rows(df, decimals)
    return frame_markdown(labelled(text), bold) + (f"\n{note}\n" if note else "")


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


PRINT = {"dice": "Dice (mean ± sd)", "vs reference": "Δ Dice [95 % CI]", "verdict": "verdict"}


def _settings(df: pd.DataFrame) -> tuple[str, list[str]]:
    """The first column of a printed table: its header and each row's settings in
    words (one factor: its values under its name; several: component names and the
    settings that tell rows apart); a failed seed's status beside it; ``threshold``
    for the no-learning reference row."""
    from segsweep.report.pivot import factor_labels

    cols = param_columns(df)
    if len(cols) == 1 and not cols[0].endswith(".name"):
        header, names = label(cols[0]), [f"{v:g}" if isinstance(v, float) else str(v) for v in df[cols[0]]]
    elif cols:
        header, names = "setting", factor_labels(df, cols)
    else:
        header, names = "cell", [str(c) for c in df["cell"]]
    names = [
        "threshold" if r["test"] == "threshold" else (n if r["status"] == "ok" else f"{n}, {r['status']}")
        for n, (_, r) in zip(names, df.iterrows())
    ]
    return header, names


def print_rows(df: pd.DataFrame, decimals: int) -> tuple[pd.DataFrame, frozenset]:
    """A study table as a paper prints it, narrow enough for one column: the row's
    settings, Dice mean ± sd, Δ vs the reference with its interval, the verdict; bold
    positions of the best Dice. Every other column stays in the CSV."""
    text, bold = display_rows(df, decimals)
    header, names = _settings(df)
    out = text[list(PRINT)].rename(columns=PRINT)
    out.insert(0, header, names)
    threshold = (df["test"] == "threshold").to_numpy()
    out.loc[threshold, [PRINT["vs reference"], PRINT["verdict"]]] = "–"
    dice = text.columns.get_loc("dice")
    return out, frozenset((i, 1) for i, j in bold if j == dice)


def to_latex(df: pd.DataFrame, caption: str, decimals: int = 3, note: str = "", label: str = "") -> str:
    """A study table as a LaTeX ``table`` at its natural size (``print_rows``): the
    settings left-aligned, numbers right-aligned, the best Dice bold, the note in the
    caption, real minus signs. Needs ``\\usepackage{booktabs}``."""
    text, bold = print_rows(df, decimals)
    align = "l" + "r" * (len(text.columns) - 1)
    threshold = "Threshold: one global grey threshold fitted on the training cases (no learning)."
    caption = " ".join(p for p in (f"{caption}.", note, threshold if (df["test"] == "threshold").any() else "") if p)
    return latex_table(text, caption, label, bold, align, fit=False)


def latex_table(
    text: pd.DataFrame,
    caption: str,
    label: str = "",
    bold: frozenset = frozenset(),
    align: str | None = None,
    fit: bool = True,
) -> str:
    """A formatted frame as a LaTeX ``table`` float with caption and label. ``fit``:
    scaled down to ``\\linewidth`` only when wider (wide reference tables: seeds,
    datasets, pivots; needs graphicx); the study tables are built to fit and print at
    their natural size. Needs ``\\usepackage{booktabs}``."""
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{latex_escape(caption)}}}"]
    lines += [] if fit else [r"\setlength{\tabcolsep}{4pt}"]
    lines += [rf"\label{{{label}}}"] if label else []
    body = frame_latex(text, bold, align).rstrip("\n")
    if fit:  # shrink to \linewidth only when wider (graphicx's \resizebox sees the natural \width)
        body = r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%" + "\n" + body + "}"
    return "\n".join([*lines, body, r"\end{table}"]) + "\n"


def formatted(frame: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """Every float with ``decimals`` digits (``0.710``, not ``0.71``), NaN blank: the
    digits the HTML, Markdown and LaTeX renderings share."""
    return frame.astype(object).map(lambda v: _fmt(v, decimals))


def frame_markdown(df: pd.DataFrame, bold: frozenset = frozenset()) -> str:
    """A plain table (already formatted values) as Markdown; ``bold``: (row, column)
    positions to set in bold."""
    text = df.astype(str)
    lines = ["| " + " | ".join(text.columns) + " |", "|" + "|".join("---" for _ in text.columns) + "|"]
    for i, row in enumerate(text.to_numpy()):
        cells = [v.replace("|", r"\|") for v in row]
        cells = [f"**{v}**" if (i, j) in bold else v for j, v in enumerate(cells)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def frame_latex(df: pd.DataFrame, bold: frozenset = frozenset(), align: str | None = None) -> str:
    """A plain table as a booktabs tabular, LaTeX specials escaped; ``align``: column
    alignment (default all ``l``)."""
    text = df.astype(str)
    lines = [
        r"\begin{tabular}{" + (align or "l" * len(text.columns)) + "}",
        r"\toprule",
        " & ".join(latex_escape(c) for c in text.columns) + r" \\",
        r"\midrule",
    ]
    for i, row in enumerate(text.to_numpy()):
        cells = [latex_escape(v) for v in row]
        cells = [rf"\textbf{{{v}}}" if (i, j) in bold else v for j, v in enumerate(cells)]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
