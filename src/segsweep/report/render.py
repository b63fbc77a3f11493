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

SHOWN = ["status", "dice", "ci95", "iou", "empty_correct", "val_dice", "selected_epoch", "vs reference", "p (Holm)"]
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
    "empty_correct": "empty predicted empty",
    "val_dice": "val. Dice",
    "selected_epoch": "epoch",
    "vs reference": "Δ Dice vs reference [95 % CI]",
    "p (Holm)": "p (Holm)",
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


def label(column: str) -> str:
    """A column's header for people: ``optimizer.lr`` -> ``learning rate``."""
    return LABELS.get(column) or column.rsplit(".", 1)[-1].replace("_", " ")


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: label(c) for c in frame.columns})


def _fmt(v, decimals: int) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.{decimals}f}"
    return str(v)


def _vs_reference(r, decimals: int) -> tuple[str, str]:
    """The difference from the reference row with its interval, and the Holm-adjusted p
    (``n.s.`` when not below alpha; ``p ≥ floor`` never printed below the test's floor)."""
    if r["test"] == "reference":
        return "reference", ""
    if r["test"] == "threshold":
        return "not compared", ""
    if pd.isna(r["diff"]):
        return ("" if r["n_ok"] == 0 else "no test"), ""
    diff = f"{r['diff']:+.{decimals}f} [{r['diff_ci95_low']:+.{decimals}f}, {r['diff_ci95_high']:+.{decimals}f}]"
    p = max(float(r["p_holm"]), float(r["p_floor"]) if not pd.isna(r["p_floor"]) else 0.0)
    text = f"{p:.2g}" if p >= 0.001 else "<0.001"
    return diff, text if r["significant"] else f"n.s. ({text})"


def display_rows(df: pd.DataFrame, decimals: int) -> tuple[pd.DataFrame, frozenset]:
    """The table as text, and the (row, column) positions to set in bold: the best value
    of each metric column (test Dice, IoU, empty predicted empty, validation Dice) among
    rows with an ok seed. Dice reads ``mean ± std`` where a row has several seeds; the
    seeds and interval columns appear only then, the status column only when a seed
    failed."""
    several = bool((df["n"] > 1).any())
    failed = bool(((df["status"] != "ok") & (df["test"] != "threshold")).any())  # not the reference row
    keys = [c for c in df.columns if (c not in METRICS and c != "seeds") or (c == "seeds" and several)]
    header = keys + [c for c in SHOWN if (c != "ci95" or several) and (c != "status" or failed)]
    rows = []
    for _, r in df.iterrows():
        # parameter values as written (1e-4 must not round to 0.000); metrics to `decimals`
        row = [f"{r[k]:g}" if isinstance(r[k], float) else str(r[k]) for k in keys]
        none_ok = r["n_ok"] == 0
        dice = _fmt(r["dice"], decimals)
        if r["n"] > 1 and not math.isnan(r["dice_std"]):
            dice += f" ± {_fmt(r['dice_std'], decimals)}"
        shown = {
            "status": r["status"],
            "dice": r["status"] if none_ok else dice,
            "ci95": ""
            if math.isnan(r["ci95_low"])
            else f"[{_fmt(r['ci95_low'], decimals)}, {_fmt(r['ci95_high'], decimals)}]",
            "iou": "" if none_ok else _fmt(r["iou"], decimals),
            "empty_correct": _fmt(r["empty_correct"], decimals),
            "val_dice": _fmt(r["val_dice"], decimals),
            "selected_epoch": ""
            if math.isnan(r["selected_epoch"])
            else (f"{r['selected_epoch']:.0f}" if r["n_ok"] == 1 else f"{r['selected_epoch']:.1f}"),
        }
        shown["vs reference"], shown["p (Holm)"] = _vs_reference(r, decimals)
        rows.append(row + [shown[c] for c in header[len(keys) :]])
    bold = set()
    for col in ("dice", "iou", "empty_correct", "val_dice"):
        values = df[col].astype(float)
        if values.notna().any():
            bold |= {(i, header.index(col)) for i in range(len(df)) if values.iloc[i] == values.max()}
    return pd.DataFrame(rows, columns=header), frozenset(bold)


def to_markdown(df: pd.DataFrame, decimals: int = 3, note: str = "") -> str:
    text, bold = display_rows(df, decimals)
    return frame_markdown(labelled(text), bold) + (f"\n{note}\n" if note else "")


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def to_latex(df: pd.DataFrame, caption: str, decimals: int = 3, note: str = "", label: str = "") -> str:
    """A study table as a LaTeX ``table``: parameters left-aligned, metrics right-aligned,
    best values bold, the note in the caption, scaled down to ``\\linewidth`` when wider.
    Needs ``\\usepackage{booktabs,graphicx}``."""
    text, bold = display_rows(df, decimals)
    first = text.columns.get_loc("status" if "status" in text.columns else "dice")
    align = "l" * first + "r" * (len(text.columns) - first)
    caption = f"{caption}. {note}" if note else caption
    return latex_table(labelled(text), caption, label, bold, align)


def latex_table(
    text: pd.DataFrame, caption: str, label: str = "", bold: frozenset = frozenset(), align: str | None = None
) -> str:
    """A formatted frame as a LaTeX ``table`` float with caption and label, scaled down
    to ``\\linewidth`` only when wider. Needs ``\\usepackage{booktabs,graphicx}``."""
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{latex_escape(caption)}}}"]
    lines += [rf"\label{{{label}}}"] if label else []
    # shrink to \linewidth only when wider (graphicx's \resizebox sees the natural \width)
    return (
        "\n".join(
            [
                *lines,
                r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%",
                frame_latex(text, bold, align).rstrip("\n") + "}",
                r"\end{table}",
            ]
        )
        + "\n"
    )


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


def factor_columns(table: pd.DataFrame, axis: str) -> list[str]:
    """The table's varying-params columns that grid axis ``axis`` sets. A loss /
    optimizer / scheduler axis owns every column of its section (a mapping value such
    as ``{name: sgd, momentum: 0.95}`` sets several)."""
    from segsweep.grid import AXES

    cols = []
    for path in AXES[axis]:
        section, _, field = path.rpartition(".")
        if field == "name":
            cols += [c for c in table.columns if c.startswith(section + ".")]
        elif path in table.columns:
            cols.append(path)
    return cols


def factor_labels(table: pd.DataFrame, cols: list[str]) -> list[str]:
    """Short labels of a factor's values: the component name, plus the settings that
    tell apart rows sharing that name (``exponential, gamma=0.97``)."""
    names = [c for c in cols if c.endswith(".name")]
    if len(cols) == 1 and not names:
        return [str(v) for v in table[cols[0]]]
    out = []
    for _, r in table.iterrows():
        same = table[table[names[0]].astype(str) == str(r[names[0]])] if names else table
        extra = [c for c in cols if c not in names and (not names or same[c].astype(str).nunique() > 1)]
        out.append(", ".join([str(r[n]) for n in names] + [f"{c.rsplit('.', 1)[-1]}={r[c]}" for c in extra]))
    return out


def row_labels(table: pd.DataFrame, reference: str = "baseline") -> list[str]:
    """Legend names of a study table's rows: the values of the params that vary in the
    study (``sgd, lr=0.01, momentum=0.95``; ``train fraction = 0.25``), the reference
    row marked ``(reference)``, never a cell id."""
    cols = param_columns(table)
    if not cols:
        names = [str(c) for c in table["cell"]]
    elif len(cols) == 1 and not cols[0].endswith(".name"):
        names = [f"{label(cols[0])} = {v}" for v in table[cols[0]]]
    else:
        names = factor_labels(table, cols)
    return [f"{n} (reference)" if c == reference else n for n, c in zip(names, table["cell"])]


def pivot_table(table: pd.DataFrame, axes: list[str], decimals: int = 3) -> tuple[pd.DataFrame, frozenset] | None:
    """A two-factor study as the grid papers print: rows the first axis's values,
    columns the second's, cells the Dice (mean ± std with several seeds, ``diverged``,
    ``n.s.`` appended where not significantly below the best). ``None`` unless the study
    has exactly two axes besides ``seed``.

    Returns:
        ``(frame, bold)``: text frame (first column: the row factor) and the position of
        the best cell.
    """
    factors = [a for a in axes if a != "seed"]
    if len(factors) != 2:
        return None
    cols = [factor_columns(table, a) for a in factors]
    if not all(cols):
        return None
    rows, columns = factor_labels(table, cols[0]), factor_labels(table, cols[1])
    text, _ = display_rows(table, decimals)
    cell = {}
    for (row, col), shown, (_, r) in zip(zip(rows, columns), text["dice"], table.iterrows()):
        cell[row, col] = shown + (" n.s." if r["significant"] is False else "")
    row_keys, col_keys = list(dict.fromkeys(rows)), list(dict.fromkeys(columns))
    frame = pd.DataFrame(
        [[k, *(cell.get((k, c), "") for c in col_keys)] for k in row_keys],
        columns=[factors[0] + " \\ " + factors[1], *col_keys],
    )
    scored = table["dice"].astype(float)
    bold = frozenset()
    if scored.notna().any():
        i = int(np.nanargmax(scored.to_numpy()))
        bold = frozenset({(row_keys.index(rows[i]), 1 + col_keys.index(columns[i]))})
    return frame, bold
