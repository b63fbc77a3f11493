"""Study tables from the cells' summary (``results/summary/cells.csv``).

One table per study. A row is a group of cells that differ only by seed (one cell when
the study has no seed axis): the parameter values that vary within the study (``–``
where the row's loss / optimizer / scheduler does not take that setting), the
number of seeds, status, Dice as mean, standard deviation and 95 % t-interval over the
seeds, IoU, best epoch, final Dice (means over seeds), and the paired test against the
study's best row (``segsweep.report.stats``). Diverged cells stay in the table, marked
``diverged``. Writers for Markdown and LaTeX (booktabs) mark the best value of each
metric column in bold, mark
differences from the best that are not significant ``n.s.``, and escape LaTeX's
special characters.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from segsweep.report.stats import compare, holm, mean_interval, min_detectable_effect, seed_groups, seeds_needed

METRICS = ["n", "n_seeds", "n_ok", "n_diverged", "n_collapsed", "status", "dice", "dice_std", "ci95_low",
           "ci95_high", "iou", "empty_correct", "val_dice", "selected_epoch", "selection", "steps", "n_test_images",
           "test", "n_pairs", "diff", "diff_ci95_low", "diff_ci95_high", "p", "p_holm", "p_floor", "p_improve", "mde",
           "significant"]
SHOWN = ["status", "dice", "ci95", "iou", "empty_correct", "val_dice", "selected_epoch", "vs reference", "p (Holm)"]
LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 # non-ASCII the report writes, for pdflatex without extra packages
                 "±": r"$\pm$", "Δ": r"$\Delta$", "γ": r"$\gamma$", "λ": r"$\lambda$", "–": "--", "≥": r"$\geq$",
                 "→": r"$\to$", "∞": r"$\infty$"}


def _t_interval(x: pd.Series) -> tuple[float, float, float, float]:
    """mean, std (ddof 1), and the 95 % t-interval of ``x`` (NaN where undefined)."""
    from scipy import stats

    n = len(x)
    mean = float(x.mean()) if n else math.nan
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)) if n > 1 else math.nan
    return mean, std, mean - half, mean + half


IGNORED = "–"  # a setting the row's component does not take (adam has no momentum)

# Column headers of the human-readable renderings (HTML, Markdown, LaTeX); CSV and JSON
# keep the machine names. Other params columns read as their last dotted part.
LABELS = {"cell": "cell", "seeds": "seeds", "status": "status", "dice": "Dice", "ci95": "95 % CI", "iou": "IoU",
          "empty_correct": "empty predicted empty", "val_dice": "val. Dice", "selected_epoch": "epoch",
          "vs reference": "Δ Dice vs reference [95 % CI]", "p (Holm)": "p (Holm)", "optimizer.lr": "learning rate",
          "optimizer.weight_decay": "weight decay", "optimizer.name": "optimizer", "loss.name": "loss",
          "scheduler.name": "scheduler", "scheduler.gamma": "γ", "model.norm": "normalisation",
          "train_fraction": "train fraction", "loss.lam": "λ"}


def label(column: str) -> str:
    """A column's header for people: ``optimizer.lr`` -> ``learning rate``."""
    return LABELS.get(column) or column.rsplit(".", 1)[-1].replace("_", " ")


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: label(c) for c in frame.columns})


def _own_settings(sub: pd.DataFrame) -> pd.DataFrame:
    """``sub`` with each component setting its component does not take replaced by
    ``IGNORED``: the loss / optimizer / scheduler sections hold the fields of every
    member of their family, and a table that printed ``momentum 0.9`` beside adam would
    say adam used it. Which fields a component takes is its builder's signature, the
    same rule ``build_*`` use to call it."""
    from segsweep.registries import LOSSES, OPTIMIZERS, SCHEDULERS

    sub = sub.copy()
    for section, registry in (("loss", LOSSES), ("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS)):
        name_col = f"params.{section}.name"
        if name_col not in sub.columns:
            continue
        fields = [c for c in sub.columns if c.startswith(f"params.{section}.") and c != name_col]
        sub[fields] = sub[fields].astype(object)  # numbers and IGNORED side by side
        for cell, name in sub[name_col].items():
            if name not in registry:  # not a registered name (hand-made summary): show as is
                continue
            own = registry.settings(name, {c.rsplit(".", 1)[-1]: None for c in fields})
            sub.loc[cell, [c for c in fields if c.rsplit(".", 1)[-1] not in own]] = IGNORED
    return sub


def _mean(frame: pd.DataFrame, column: str) -> float:
    """Mean of a metric over the row's ok seeds (NaN when none or the column is absent)."""
    if column not in frame or frame.empty:
        return math.nan
    return float(pd.to_numeric(frame[column], errors="coerce").mean())


def _status_counts(status: pd.Series) -> dict:
    """``n`` / ``n_seeds``, counts per status, and the status text (``ok``, or e.g.
    ``1/3 diverged, 1/3 collapsed``). Failed seeds are counted, never averaged."""
    n = len(status)
    counts = {k: int((status == k).sum()) for k in ("ok", "diverged", "collapsed")}
    bad = [f"{counts[k]}/{n} {k}" if counts[k] < n else k for k in ("diverged", "collapsed") if counts[k]]
    return {"n": n, "n_seeds": n, "n_ok": counts["ok"], "n_diverged": counts["diverged"],
            "n_collapsed": counts["collapsed"], "status": ", ".join(bad) or "ok"}


def study_table(cells: pd.DataFrame, ids: list[str], per_image: pd.DataFrame | None = None,
                alpha: float = 0.05, n_resamples: int = 10_000, seed: int = 0,
                reference: str = "baseline") -> pd.DataFrame:
    """One row per seed group of ``ids`` (study order) with varying params, statistics
    and the paired comparison with the reference row (``segsweep.report.stats``).

    Args:
        cells: the summary table (``cells.csv``).
        ids: the study's cell ids.
        per_image: ``per_image.csv`` (cell, case, dice) for hierarchical intervals and
            single-seed tests over images; ``None``: seeds only.
        alpha: level below which a Holm-adjusted p counts as significant.
        n_resamples, seed: bootstrap resamples and resampling seed.
        reference: a cell id of the reference row; the first row when no row holds it.
    """
    per_image = per_image if per_image is not None else pd.DataFrame(columns=["cell", "case", "dice"])
    raw = cells.set_index("cell").loc[ids]
    sub = _own_settings(raw)
    # columns the study varies; a value no row's component takes is not shown at all
    params = [c for c in sub.columns if c.startswith("params.") and c not in ("params.seed", "params.split_seed")
              and raw[c].astype(str).nunique() > 1 and (sub[c] != IGNORED).any()]
    rows = []
    for group in seed_groups(cells, ids):
        g = sub.loc[group]
        ok = g[g["status"] == "ok"]
        mean, std, _, _ = _t_interval(ok["dice"].astype(float))
        low, high = mean_interval(list(ok.index), cells, per_image, n_resamples, seed)
        rows.append({
            "cell": group[0], "seeds": ", ".join(str(s) for s in g["seed"]),
            **{c[len("params."):]: g[c].iloc[0] for c in params},
            **_status_counts(g["status"]),
            "dice": mean, "dice_std": std, "ci95_low": low, "ci95_high": high,
            **{k: _mean(ok, k) for k in ("iou", "empty_correct", "val_dice", "selected_epoch")},
            "selection": ", ".join(sorted(set(g["selection"].astype(str)))) if "selection" in g else "",
            "steps": _mean(ok, "steps_run"),
            "n_test_images": int(g["n_test_images"].max()) if "n_test_images" in g else 0,
            "_cells": group,
        })
    out = pd.DataFrame(rows)
    ref = next((i for i, r in out.iterrows() if reference in r["_cells"]), 0)
    tests = []
    for i, r in out.iterrows():
        if i == ref:
            tests.append({"test": "reference"})
            continue
        c = compare(r["_cells"], out.at[ref, "_cells"], cells, per_image, n_resamples, seed)
        tests.append({"test": c.test, "n_pairs": c.n_pairs, "diff": c.diff, "diff_ci95_low": c.low,
                      "diff_ci95_high": c.high, "p": c.p, "p_floor": c.p_floor, "p_improve": c.p_improve,
                      "mde": min_detectable_effect(c.sd, c.n_pairs, alpha)})
    tests = pd.DataFrame(tests, index=out.index).reindex(
        columns=["test", "n_pairs", "diff", "diff_ci95_low", "diff_ci95_high", "p", "p_floor", "p_improve", "mde"])
    out = pd.concat([out, tests], axis=1)
    out["p_holm"] = holm(out["p"].astype(float).tolist())
    out["significant"] = [None if math.isnan(p) else bool(p < alpha) for p in out["p_holm"]]
    return out.drop(columns="_cells")


def _join(values) -> str:
    return " / ".join(str(v) for v in sorted({int(v) for v in values if not pd.isna(v)})) or "?"


def table_note(table: pd.DataFrame, alpha: float) -> str:
    """What every table must state: n seeds, n test images, the test, the correction,
    and the smallest difference the design can resolve."""
    rows = table[table["test"] != "threshold"]
    compared = rows[~rows["test"].isin(["reference"]) & rows["p"].notna()]
    ref = rows[rows["test"] == "reference"]
    text = (f"n = {_join(rows['n_seeds'])} seeds per row, {_join(rows['n_test_images'])} test images per cell "
            f"(the same images for every row).")
    if ref.empty or compared.empty:
        return text + " No paired comparison."
    tests = ", ".join(sorted(set(compared["test"])))
    text += (f" Each row vs the reference row ({ref['cell'].iloc[0]}): {tests}; p Holm-adjusted over "
             f"{len(compared)} comparisons.")
    floor = float(compared["p_floor"].min())
    if floor >= alpha:
        return text + (f" With these pairs the smallest possible p is {floor:.2g} ≥ {alpha:g}: no difference can be "
                       f"significant (the exact test needs at least {seeds_needed(alpha)} seeds); read the intervals.")
    mde = compared["mde"].replace(float("inf"), float("nan")).dropna()
    if len(mde):
        text += f" Smallest difference detectable with 80 % power: {mde.median():.3f} Dice (median over rows)."
    return text


def _fmt(v, decimals: int) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.{decimals}f}"
    return str(v)


def _vs_reference(r, decimals: int) -> tuple[str, str]:
    """The difference from the reference row with its interval, and the Holm-adjusted p
    (``n.s.`` when not below alpha; ``p ≥ floor`` never printed below the test's floor)."""
    if r["test"] == "reference":
        return "reference", ""
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
    failed = bool((df["status"] != "ok").any())
    keys = [c for c in df.columns if c not in METRICS and c != "seeds" or (c == "seeds" and several)]
    header = keys + [c for c in SHOWN if (c != "ci95" or several) and (c != "status" or failed)]
    rows = []
    for _, r in df.iterrows():
        # parameter values as written (1e-4 must not round to 0.000); metrics to `decimals`
        row = [f"{r[k]:g}" if isinstance(r[k], float) else str(r[k]) for k in keys]
        none_ok = r["n_ok"] == 0
        dice = _fmt(r["dice"], decimals)
        if r["n"] > 1 and not math.isnan(r["dice_std"]):
            dice += f" ± {_fmt(r['dice_std'], decimals)}"
        shown = {"status": r["status"], "dice": r["status"] if none_ok else dice,
                 "ci95": "" if math.isnan(r["ci95_low"]) else
                 f"[{_fmt(r['ci95_low'], decimals)}, {_fmt(r['ci95_high'], decimals)}]",
                 "iou": "" if none_ok else _fmt(r["iou"], decimals),
                 "empty_correct": _fmt(r["empty_correct"], decimals), "val_dice": _fmt(r["val_dice"], decimals),
                 "selected_epoch": "" if math.isnan(r["selected_epoch"]) else
                 (f"{r['selected_epoch']:.0f}" if r["n_ok"] == 1 else f"{r['selected_epoch']:.1f}")}
        shown["vs reference"], shown["p (Holm)"] = _vs_reference(r, decimals)
        rows.append(row + [shown[c] for c in header[len(keys):]])
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
    text = labelled(text)
    caption = f"{caption}. {note}" if note else caption
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{latex_escape(caption)}}}"]
    lines += [rf"\label{{{label}}}"] if label else []
    # shrink to \linewidth only when wider (graphicx's \resizebox sees the natural \width)
    return "\n".join([*lines, r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%",
                      frame_latex(text, bold, align).rstrip("\n") + "}", r"\end{table}"]) + "\n"


def seed_table(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells that differ only by ``seed``, grouped: n, mean, std and a 95 % t-interval
    of the validation Dice (diverged seeds counted in ``n_diverged``, left out of the
    statistics). Groups with a single seed are omitted."""
    params = [c for c in cells.columns if c.startswith("params.") and c != "params.seed"]
    rows = []
    for _, group in cells.groupby(params, dropna=False, sort=False):
        if len(group) < 2:
            continue
        ok = group.loc[group["status"] == "ok", "dice"].astype(float)
        n = len(ok)
        mean, std, low, high = _t_interval(ok)
        rows.append({"cells": ", ".join(group["cell"]), "seeds": ", ".join(map(str, group["seed"])),
                     "n": n, "n_diverged": int((group["status"] != "ok").sum()), "dice_mean": mean,
                     "dice_std": std, "ci95_low": low, "ci95_high": high})
    return pd.DataFrame(rows, columns=["cells", "seeds", "n", "n_diverged", "dice_mean", "dice_std",
                                       "ci95_low", "ci95_high"])


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
    lines = [r"\begin{tabular}{" + (align or "l" * len(text.columns)) + "}", r"\toprule",
             " & ".join(latex_escape(c) for c in text.columns) + r" \\", r"\midrule"]
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
    frame = pd.DataFrame([[k, *(cell.get((k, c), "") for c in col_keys)] for k in row_keys],
                         columns=[factors[0] + " \\ " + factors[1], *col_keys])
    scored = table["dice"].astype(float)
    bold = frozenset()
    if scored.notna().any():
        i = int(np.nanargmax(scored.to_numpy()))
        bold = frozenset({(row_keys.index(rows[i]), 1 + col_keys.index(columns[i]))})
    return frame, bold
