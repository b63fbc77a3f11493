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


def seed_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells that differ only by ``seed``, grouped: n, mean, std and a 95 % t-interval
    of the validation Dice (diverged seeds counted in ``n_diverged``, left out of the
    statistics). Groups with a single seed are omitted."""
    from scipy import stats

    params = [c for c in cells.columns if c.startswith("params.") and c != "params.seed"]
    rows = []
    for _, group in cells.groupby(params, dropna=False, sort=False):
        if len(group) < 2:
            continue
        ok = group.loc[group["status"] == "ok", "dice"].astype(float)
        n = len(ok)
        mean = float(ok.mean()) if n else math.nan
        std = float(ok.std(ddof=1)) if n > 1 else math.nan
        half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)) if n > 1 else math.nan
        rows.append({"cells": ", ".join(group["cell"]), "seeds": ", ".join(map(str, group["seed"])),
                     "n": n, "n_diverged": int((group["status"] != "ok").sum()), "dice_mean": mean,
                     "dice_std": std, "ci95_low": mean - half, "ci95_high": mean + half})
    return pd.DataFrame(rows, columns=["cells", "seeds", "n", "n_diverged", "dice_mean", "dice_std",
                                       "ci95_low", "ci95_high"])


def frame_markdown(df: pd.DataFrame) -> str:
    """A plain table (already formatted values) as Markdown."""
    text = df.astype(str)
    lines = ["| " + " | ".join(text.columns) + " |", "|" + "|".join("---" for _ in text.columns) + "|"]
    lines += ["| " + " | ".join(v.replace("|", r"\|") for v in row) + " |" for row in text.to_numpy()]
    return "\n".join(lines) + "\n"


def frame_latex(df: pd.DataFrame) -> str:
    """A plain table as a booktabs tabular, LaTeX specials escaped."""
    text = df.astype(str)
    lines = [r"\begin{tabular}{" + "l" * len(text.columns) + "}", r"\toprule",
             " & ".join(latex_escape(c) for c in text.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_escape(v) for v in row) + r" \\" for row in text.to_numpy()]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
