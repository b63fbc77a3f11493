"""Study tables from the cells' summary (``results/summary/cells.csv``).

One table per study: its cells, the parameter values that vary within the study, and
status, Dice, IoU, best epoch, final Dice. Diverged cells stay in the table, marked
``diverged``. Writers for Markdown and LaTeX (booktabs) mark the best Dice in bold and
escape LaTeX's special characters.
"""

from __future__ import annotations

import math

import pandas as pd

METRICS = ["status", "dice", "iou", "best_epoch", "final_dice"]
LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def study_table(cells: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """Rows of ``ids`` (in study order) with the varying ``params.*`` columns and metrics."""
    sub = cells.set_index("cell").loc[ids].reset_index()
    params = [c for c in sub.columns if c.startswith("params.") and sub[c].astype(str).nunique() > 1]
    out = sub[["cell", *params, *METRICS]].copy()
    out.columns = ["cell", *(c[len("params."):] for c in params), *METRICS]
    return out


def _fmt(v, decimals: int) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.{decimals}f}"
    return str(v)


def _cells_text(df: pd.DataFrame, decimals: int) -> tuple[list[str], list[list[str]]]:
    best = df.loc[df["status"] == "ok", "dice"].max() if (df["status"] == "ok").any() else None
    rows = []
    for _, r in df.iterrows():
        row = []
        for col in df.columns:
            v = r[col]
            if col in ("dice", "iou") and r["status"] != "ok":
                row.append("diverged")
            else:
                row.append(_fmt(v, decimals))
        rows.append((row, best is not None and r["status"] == "ok" and r["dice"] == best))
    return list(df.columns), rows


def to_markdown(df: pd.DataFrame, decimals: int = 3) -> str:
    header, rows = _cells_text(df, decimals)
    dice = header.index("dice")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row, is_best in rows:
        if is_best:
            row = [*row[:dice], f"**{row[dice]}**", *row[dice + 1:]]
        lines.append("| " + " | ".join(x.replace("|", r"\|") for x in row) + " |")
    return "\n".join(lines) + "\n"


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def to_latex(df: pd.DataFrame, caption: str, decimals: int = 3) -> str:
    header, rows = _cells_text(df, decimals)
    dice = header.index("dice")
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{latex_escape(caption)}}}",
             r"\begin{tabular}{" + "l" * (len(header) - len(METRICS)) + "l" + "r" * (len(METRICS) - 1) + "}",
             r"\toprule", " & ".join(latex_escape(h) for h in header) + r" \\", r"\midrule"]
    for row, is_best in rows:
        cells = [latex_escape(x) for x in row]
        if is_best:
            cells[dice] = rf"\textbf{{{cells[dice]}}}"
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
