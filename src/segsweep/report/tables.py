"""Study tables from the cells' summary (``results/summary/cells.csv``), as data.

One table per study. A row is a group of cells that differ only by seed: the parameter
values that vary within the study (``–`` where the row's loss / optimizer / scheduler
does not take that setting), seed and status counts (failed seeds counted, never
averaged), test Dice as mean, standard deviation and 95 % interval, the median over
test images of each image's seed-averaged Dice, NSD and HD95 (``segsweep.metrics``), IoU, empty images
predicted empty, validation Dice and epoch of the scored weights, whether validation
Dice was still rising at the end of the budget, and the paired comparison with the
study's reference row (``segsweep.report.compare``) with its verdict: better, worse,
equivalent (TOST within ``report.equivalence_margin``) or inconclusive, and the seeds
80 % power would need. Test Dice is over all seeds (failed ones counted, see
``compare``); ``dice_ok`` beside it over the ok seeds alone. Holm's correction runs over
a *family*: every comparison on the report page (``adjust_family``). These columns are
the CSV; ``segsweep.report.render`` turns them into Markdown, LaTeX and HTML text.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from segsweep.progress import progress
from segsweep.report.compare import compare, effective_dice, row_estimate, wide_dice
from segsweep.report.convergence import row_convergence
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
    "dice_ok",
    "dice_median",
    "nsd",
    "hd95",
    "nsd_tolerance_mm",
    "boundary_spacing",
    "iou",
    "empty_correct",
    "val_dice",
    "selected_epoch",
    "selection",
    "steps",
    "val_dice_change",
    "converged",
    "n_test_images",
    "n_test_scored",
    "test",
    "n_pairs",
    "diff",
    "diff_ci95_low",
    "diff_ci95_high",
    "p",
    "p_holm",
    "p_equiv",
    "p_equiv_holm",
    "p_improve",
    "mde",
    "seeds_needed",
    "seeds_needed_half",
    "significant",
    "equivalent",
    "verdict",
]


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
    margin: float = 0.01,
    reference: str = "baseline",
    curves: Path | None = None,
    convergence: tuple[float, float] = (0.3, 0.01),
    adjust: bool = True,
) -> pd.DataFrame:
    """One row per seed group of ``ids`` (study order) with varying params, statistics
    and the paired comparison with the reference row (``segsweep.report.compare``).

    Args:
        cells: the summary table (``cells.csv``).
        ids: the study's cell ids.
        per_image: ``per_image.csv`` (cell, case, dice), long or wide; ``None``: seeds only.
        alpha: level below which a Holm-adjusted p counts.
        margin: equivalence margin in Dice (TOST).
        reference: a cell id of the reference row; the first row when no row holds it.
        curves: the summary's ``curves/`` folder (per-cell histories) for the
            convergence check; None: not checked.
        convergence: (window, tolerance): a row is still rising when its mean validation
            Dice gains more than ``tolerance`` over the last ``window`` of its steps.
        adjust: Holm over this table alone (True), or leave the family's adjustment to
            ``adjust_family`` (the report: every comparison of the page).
    """
    per_image = wide_dice(per_image)  # once for the study, not once per row
    raw = cells.set_index("cell").loc[ids]
    sub = _own_settings(raw)
    params = _varying_params(raw, sub)
    rows = [
        _row(sub.loc[group], group, params, cells, per_image)
        for group in progress(seed_groups(cells, ids), desc="report rows", unit="row")
    ]
    out = pd.DataFrame(rows)
    if curves is not None:
        window, tolerance = convergence
        change = [row_convergence(curves, group, window) for group in out["_cells"]]
        out["val_dice_change"] = change
        out["converged"] = [None if math.isnan(c) else bool(c <= tolerance) for c in change]
    ref = next((i for i, r in out.iterrows() if reference in r["_cells"]), 0)
    out = pd.concat([out, _tests(out, ref, cells, per_image, margin)], axis=1).drop(columns="_cells")
    if adjust:
        from segsweep.report.verdicts import adjust_family

        return adjust_family([out], alpha)[0]
    return out


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


def _row(g: pd.DataFrame, group: list[str], params: list[str], cells, per_image) -> dict:
    """One table row: a seed group's settings, status counts and statistics; test Dice
    over all its seeds (``compare.effective_dice``), the rest over the scored seeds."""
    ok = g[g["status"] == "ok"]
    scored = g[g["status"] != "diverged"]
    dice = effective_dice(cells).loc[group]
    est = row_estimate(group, cells, per_image)
    low, high = est.interval(bounds=(0.0, 1.0)) if est is not None else (math.nan, math.nan)
    return {
        "cell": group[0],
        "seeds": ", ".join(str(s) for s in g["seed"]),
        **{c[len("params.") :]: g[c].iloc[0] for c in params},
        **_status_counts(g["status"]),
        "dice": float(dice.mean()),
        "dice_std": float(dice.std(ddof=1)) if len(dice) > 1 else math.nan,
        "ci95_low": low,
        "ci95_high": high,
        "dice_ok": _mean(ok, "dice"),
        "dice_median": _median_image(per_image, list(scored.index)),
        **{k: _mean(scored, k) for k in ("nsd", "hd95", "iou", "empty_correct", "val_dice", "selected_epoch")},
        "selection": ", ".join(sorted(set(g["selection"].astype(str)))) if "selection" in g else "",
        "steps": float(g["steps_run"].max()) if "steps_run" in g else math.nan,  # the budget given
        "n_test_images": int(g["n_test_images"].max()) if "n_test_images" in g else 0,
        "n_test_scored": int(g["n_test_scored"].max()) if "n_test_scored" in g else 0,
        "nsd_tolerance_mm": float(g["nsd_tolerance_mm"].max()) if "nsd_tolerance_mm" in g else math.nan,
        "boundary_spacing": ", ".join(sorted(set(g["boundary_spacing"].dropna().astype(str))))
        if "boundary_spacing" in g
        else "",
        "_cells": group,
    }


def _median_image(per_image: pd.DataFrame | None, cells: list[str]) -> float:
    """Median over test images of each image's Dice averaged over ``cells`` (a row's
    scored seeds): a mean hides a tail of failed images, a median beside it shows it."""
    if per_image is None or not cells:
        return math.nan
    rows = per_image.reindex(cells)
    return float(rows.mean(axis=0).median()) if rows.notna().any().any() else math.nan


TEST_COLUMNS = ["test", "n_pairs", "diff", "diff_ci95_low", "diff_ci95_high", "p", "p_equiv", "p_improve", "_est"]


def _tests(out: pd.DataFrame, ref: int, cells, per_image, margin: float) -> pd.DataFrame:
    """Each row's paired comparison with the reference row (``compare.compare``); the
    estimate rides along in ``_est`` until the family is adjusted."""
    tests = []
    for i, r in out.iterrows():
        if i == ref:
            tests.append({"test": "reference"})
            continue
        c = compare(r["_cells"], out.at[ref, "_cells"], cells, per_image)
        if c.est is None:
            tests.append({"test": c.test, "n_pairs": c.n_pairs})
            continue
        low, high = c.est.interval(bounds=(-1.0, 1.0))
        tests.append(
            {
                "test": c.test,
                "n_pairs": c.n_pairs,
                "diff": c.est.mean,
                "diff_ci95_low": low,
                "diff_ci95_high": high,
                "p": c.est.p_value() if c.replicated else math.nan,
                "p_equiv": c.est.p_equivalent(margin) if c.replicated else math.nan,
                "p_improve": c.p_improve,
                "_est": c.est if c.replicated else None,
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


def seed_table(cells: pd.DataFrame, per_image: pd.DataFrame | None = None) -> pd.DataFrame:
    """Cells that differ only by ``seed``, grouped: seeds, status counts, mean and std
    of the test Dice over all seeds (failed ones counted as in the study tables,
    ``compare.effective_dice``) and its 95 % interval (``compare.row_estimate``), and
    the mean over the ok seeds beside it. Groups with a single seed are omitted."""
    params = [c for c in cells.columns if c.startswith("params.") and c != "params.seed"]
    per_image = wide_dice(per_image)  # once, not once per group
    dice = effective_dice(cells)
    rows = []
    for _, group in cells.groupby(params, dropna=False, sort=False):
        if len(group) < 2:
            continue
        ids = list(group["cell"])
        est = row_estimate(ids, cells, per_image)
        low, high = est.interval(bounds=(0.0, 1.0)) if est is not None else (math.nan, math.nan)
        ok = group[group["status"] == "ok"]
        rows.append(
            {
                "cells": ", ".join(ids),
                "seeds": ", ".join(map(str, group["seed"])),
                **_status_counts(group["status"]),
                "dice_mean": float(dice.loc[ids].mean()),
                "dice_std": float(dice.loc[ids].std(ddof=1)),
                "ci95_low": low,
                "ci95_high": high,
                "dice_ok": _mean(ok, "dice"),
            }
        )
    columns = ["cells", "seeds", "n", "n_ok", "n_diverged", "n_collapsed", "status"]
    columns += ["dice_mean", "dice_std", "ci95_low", "ci95_high", "dice_ok"]
    return pd.DataFrame(rows).reindex(columns=columns)
