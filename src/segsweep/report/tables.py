"""Study tables from the cells' summary (``results/summary/cells.csv``), as data.

One table per study. A row is a group of cells that differ only by seed: the parameter
values that vary within the study (``–`` where the row's loss / optimizer / scheduler
does not take that setting), seed and status counts (failed seeds counted, never
averaged), test Dice as mean, standard deviation and 95 % interval, IoU, empty images
predicted empty, validation Dice and epoch of the scored weights, and the paired
comparison with the study's reference row (``segsweep.report.stats``). These columns
are the CSV; ``segsweep.report.render`` turns them into Markdown, LaTeX and HTML text.
"""

from __future__ import annotations

import math

import pandas as pd

from segsweep.progress import progress
from segsweep.report.stats import compare, holm, mean_interval, min_detectable_effect, seeds_needed, wide_dice
from segsweep.study_results import seed_groups

METRICS = [
    "n",
    "n_seeds",
    "n_ok",
    "n_diverged",
    "n_collapsed",
    "status",
    "dice",
    "dice_std",
    "ci95_low",
    "ci95_high",
    "iou",
    "empty_correct",
    "val_dice",
    "selected_epoch",
    "selection",
    "steps",
    "n_test_images",
    "test",
    "n_pairs",
    "diff",
    "diff_ci95_low",
    "diff_ci95_high",
    "p",
    "p_holm",
    "p_floor",
    "p_improve",
    "mde",
    "significant",
]


def _t_interval(x: pd.Series) -> tuple[float, float, float, float]:
    """mean, std (ddof 1), and the 95 % t-interval of ``x`` (NaN where undefined)."""
    from scipy import stats

    n = len(x)
    mean = float(x.mean()) if n else math.nan
    std = float(x.std(ddof=1)) if n > 1 else math.nan
    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)) if n > 1 else math.nan
    return mean, std, mean - half, mean + half


def param_columns(table: pd.DataFrame) -> list[str]:
    """The study table's columns of params that vary (not metrics, ids or seeds)."""
    return [c for c in table.columns if c not in METRICS and c not in ("cell", "seeds")]


IGNORED = "–"  # a setting the row's component does not take (adam has no momentum)


def _own_settings(sub: pd.DataFrame) -> pd.DataFrame:
    """``sub`` with each component setting its row's component does not have shown as
    ``IGNORED``: a cell records only its loss / optimizer / scheduler's own settings, so
    a blank there means "not a setting of this component" (adam has no momentum), never
    a missing value."""
    sub = sub.copy()
    fields = [
        c
        for c in sub.columns
        if c.split(".")[:2] in (["params", "loss"], ["params", "optimizer"], ["params", "scheduler"])
        and not c.endswith(".name")
    ]
    sub[fields] = sub[fields].astype(object).where(sub[fields].notna(), IGNORED)
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
    return {
        "n": n,
        "n_seeds": n,
        "n_ok": counts["ok"],
        "n_diverged": counts["diverged"],
        "n_collapsed": counts["collapsed"],
        "status": ", ".join(bad) or "ok",
    }


def study_table(
    cells: pd.DataFrame,
    ids: list[str],
    per_image: pd.DataFrame | None = None,
    alpha: float = 0.05,
    n_resamples: int = 10_000,
    seed: int = 0,
    reference: str = "baseline",
) -> pd.DataFrame:
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
    per_image = wide_dice(per_image)  # once for the study, not once per row
    raw = cells.set_index("cell").loc[ids]
    sub = _own_settings(raw)
    params = _varying_params(raw, sub)
    rows = [
        _row(sub.loc[group], group, params, cells, per_image, n_resamples, seed)
        for group in progress(seed_groups(cells, ids), desc="report rows", unit="row")
    ]
    out = pd.DataFrame(rows)
    ref = next((i for i, r in out.iterrows() if reference in r["_cells"]), 0)
    out = pd.concat([out, _tests(out, ref, cells, per_image, alpha, n_resamples, seed)], axis=1)
    out["p_holm"] = holm(out["p"].astype(float).tolist())
    out["significant"] = [None if math.isnan(p) else bool(p < alpha) for p in out["p_holm"]]
    return out.drop(columns="_cells")


def _varying_params(raw: pd.DataFrame, sub: pd.DataFrame) -> list[str]:
    """The params columns the study varies (not the seeds); a value no row's component
    takes is not shown at all."""
    return [
        c
        for c in sub.columns
        if c.startswith("params.")
        and c not in ("params.seed", "params.split_seed")
        and raw[c].astype(str).nunique() > 1
        and (sub[c] != IGNORED).any()
    ]


def _row(g: pd.DataFrame, group: list[str], params: list[str], cells, per_image, n_resamples: int, seed: int) -> dict:
    """One table row: a seed group's settings, status counts and statistics over its ok seeds."""
    ok = g[g["status"] == "ok"]
    mean, std, _, _ = _t_interval(ok["dice"].astype(float))
    low, high = mean_interval(list(ok.index), cells, per_image, n_resamples, seed)
    return {
        "cell": group[0],
        "seeds": ", ".join(str(s) for s in g["seed"]),
        **{c[len("params.") :]: g[c].iloc[0] for c in params},
        **_status_counts(g["status"]),
        "dice": mean,
        "dice_std": std,
        "ci95_low": low,
        "ci95_high": high,
        **{k: _mean(ok, k) for k in ("iou", "empty_correct", "val_dice", "selected_epoch")},
        "selection": ", ".join(sorted(set(g["selection"].astype(str)))) if "selection" in g else "",
        "steps": _mean(ok, "steps_run"),
        "n_test_images": int(g["n_test_images"].max()) if "n_test_images" in g else 0,
        "_cells": group,
    }


TEST_COLUMNS = ["test", "n_pairs", "diff", "diff_ci95_low", "diff_ci95_high", "p", "p_floor", "p_improve", "mde"]


def _tests(out: pd.DataFrame, ref: int, cells, per_image, alpha: float, n_resamples: int, seed: int) -> pd.DataFrame:
    """Each row's paired comparison with the reference row (``stats.compare``)."""
    tests = []
    for i, r in out.iterrows():
        if i == ref:
            tests.append({"test": "reference"})
            continue
        c = compare(r["_cells"], out.at[ref, "_cells"], cells, per_image, n_resamples, seed)
        tests.append(
            {
                "test": c.test,
                "n_pairs": c.n_pairs,
                "diff": c.diff,
                "diff_ci95_low": c.low,
                "diff_ci95_high": c.high,
                "p": c.p,
                "p_floor": c.p_floor,
                "p_improve": c.p_improve,
                "mde": min_detectable_effect(c.sd, c.n_pairs, alpha),
            }
        )
    return pd.DataFrame(tests, index=out.index).reindex(columns=TEST_COLUMNS)


def top_rows(table: pd.DataFrame, k: int) -> list[int]:
    """Positions of the rows a page shows of a study table of more than ``k`` rows: the
    reference row and the best others by mean validation Dice (rows without one last),
    in table order. Chosen on validation, never on the test numbers shown."""
    if len(table) <= k:
        return list(range(len(table)))
    is_ref = (table["test"] == "reference").to_numpy()
    val = pd.to_numeric(table["val_dice"], errors="coerce").to_numpy()
    order = sorted((i for i in range(len(table)) if not is_ref[i]), key=lambda i: (math.isnan(val[i]), -val[i], i))
    keep = [i for i in range(len(table)) if is_ref[i]] + order
    return sorted(keep[:k])


def _join(values) -> str:
    return " / ".join(str(v) for v in sorted({int(v) for v in values if not pd.isna(v)})) or "?"


def table_note(table: pd.DataFrame, alpha: float) -> str:
    """What every table must state: n seeds, n test images, the test, the correction,
    and the smallest difference the design can resolve."""
    rows = table[table["test"] != "threshold"]
    compared = rows[~rows["test"].isin(["reference"]) & rows["p"].notna()]
    ref = rows[rows["test"] == "reference"]
    text = (
        f"n = {_join(rows['n_seeds'])} seeds per row, {_join(rows['n_test_images'])} test images per cell "
        f"(the same images for every row)."
    )
    if ref.empty or compared.empty:
        return text + " No paired comparison."
    tests = ", ".join(sorted(set(compared["test"])))
    text += (
        f" Each row vs the reference row ({ref['cell'].iloc[0]}): {tests}; p Holm-adjusted over "
        f"{len(compared)} comparisons."
    )
    floor = float(compared["p_floor"].min())
    if floor >= alpha:
        return text + (
            f" With these pairs the smallest possible p is {floor:.2g} ≥ {alpha:g}: no difference can be "
            f"significant (the exact test needs at least {seeds_needed(alpha)} seeds); read the intervals."
        )
    mde = compared["mde"].replace(float("inf"), float("nan")).dropna()
    if len(mde):
        text += f" Smallest difference detectable with 80 % power: {mde.median():.3f} Dice (median over rows)."
    return text


def seed_table(
    cells: pd.DataFrame, per_image: pd.DataFrame | None = None, n_resamples: int = 10_000, seed: int = 0
) -> pd.DataFrame:
    """Cells that differ only by ``seed``, grouped: n, mean and std of the test Dice and
    its 95 % interval (``stats.mean_interval``: hierarchical bootstrap over seeds and test
    images, inside [0, 1], as in the study tables); failed seeds counted in
    ``n_diverged``, left out of the statistics. Groups with a single seed are omitted."""
    params = [c for c in cells.columns if c.startswith("params.") and c != "params.seed"]
    per_image = wide_dice(per_image)  # once, not once per group
    rows = []
    for _, group in cells.groupby(params, dropna=False, sort=False):
        if len(group) < 2:
            continue
        ok = group[group["status"] == "ok"]
        mean, std, _, _ = _t_interval(ok["dice"].astype(float))
        low, high = mean_interval(list(ok["cell"]), cells, per_image, n_resamples, seed)
        rows.append(
            {
                "cells": ", ".join(group["cell"]),
                "seeds": ", ".join(map(str, group["seed"])),
                "n": len(ok),
                "n_diverged": int((group["status"] != "ok").sum()),
                "dice_mean": mean,
                "dice_std": std,
                "ci95_low": low,
                "ci95_high": high,
            }
        )
    return pd.DataFrame(
        rows, columns=["cells", "seeds", "n", "n_diverged", "dice_mean", "dice_std", "ci95_low", "ci95_high"]
    )
