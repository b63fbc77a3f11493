"""What a page may claim: Holm's correction over the page's family of comparisons,
each row's verdict, the seeds that 80 % power would need, and the note every table
carries (n, budget, test, correction).

Verdicts: **better** / **worse** when the Holm-adjusted p of the difference is below
alpha; **equivalent** when the Holm-adjusted TOST p is (the difference lies within
``report.equivalence_margin``); **inconclusive** otherwise; **not replicated** when the
rows share one seed (one training run is no evidence of a difference). Never a bare
"n.s.": a row that is merely noisy and a row shown equal read differently.
"""

from __future__ import annotations

import math

import pandas as pd

from segsweep.report.stats import Estimate, holm, min_detectable_effect, seeds_needed


def adjust_family(tables: list[pd.DataFrame], alpha: float, plan: bool = True) -> list[pd.DataFrame]:
    """Holm over every comparison of ``tables`` together (a page's family), for the
    difference tests and, separately, the equivalence tests; then each row's verdict and
    the seeds 80 % power needs at the level Holm asks of the family's smallest p
    (alpha / m), at the observed difference and at half of it (few seeds overstate the
    effects that reach significance); ``plan=False`` leaves the power columns out."""
    tables = [t.copy() for t in tables]
    sizes = [len(t) for t in tables]
    p = [v for t in tables for v in t["p"].astype(float)]
    pe = [v for t in tables for v in t["p_equiv"].astype(float)]
    m = sum(not math.isnan(v) for v in p)
    p_holm, pe_holm = holm(p), holm(pe)
    start = 0
    for t, n in zip(tables, sizes):
        t["p_holm"], t["p_equiv_holm"] = p_holm[start : start + n], pe_holm[start : start + n]
        start += n
        t["significant"] = [None if math.isnan(v) else bool(v < alpha) for v in t["p_holm"]]
        t["equivalent"] = [None if math.isnan(v) else bool(v < alpha) for v in t["p_equiv_holm"]]
        t["verdict"] = [_verdict(r) for _, r in t.iterrows()]
        level = alpha / max(m, 1)
        if not plan:  # (the calibration benchmark: error rates only)
            continue
        for col, scale in (("seeds_needed", 1.0), ("seeds_needed_half", 0.5)):
            t[col] = [math.nan if e is None or pd.isna(d) else seeds_needed(e, d * scale, level) for e, d in _ests(t)]
        t["mde"] = [math.nan if e is None else min_detectable_effect(e, level) for e, _ in _ests(t)]
    return [t.drop(columns="_est") for t in tables]


def _ests(t: pd.DataFrame) -> list[tuple[Estimate | None, float]]:
    return [(e if isinstance(e, Estimate) else None, d) for e, d in zip(t["_est"], t["diff"])]


def _verdict(r) -> str:
    """better / worse (Holm-significant difference), equivalent (Holm-significant TOST),
    inconclusive; ``not replicated`` with one shared seed (no claim from one run)."""
    if r["test"] in ("reference", "threshold"):
        return r["test"]
    if r.get("n_pairs", 0) == 0 or pd.isna(r.get("n_pairs")):
        return "no test"
    if pd.isna(r["p"]):
        return "not replicated" if not pd.isna(r["diff"]) else "no test"
    if r["significant"]:
        return "better" if r["diff"] > 0 else "worse"
    return "equivalent" if r["equivalent"] else "inconclusive"


def _join(values) -> str:
    return " / ".join(str(v) for v in sorted({int(v) for v in values if not pd.isna(v)})) or "?"


def budget_note(table: pd.DataFrame, window: float = 0.3, tolerance: float = 0.01) -> str:
    """The step budget, and the rows still improving when it ran out."""
    rows = table[~table["test"].isin(["threshold"])]
    text = f"Budget: {_join(rows['steps'])} optimizer steps per cell."
    if "converged" not in rows:
        return text
    rising = rows[rows["converged"] == False]  # noqa: E712 (None: not checked)
    if rising.empty:
        return (
            text + f" Every row's validation Dice had levelled off (gain ≤ {tolerance:g} over the last {window:.0%})."
        )
    return text + (
        f" {len(rising)} of {len(rows)} rows were still improving (validation Dice gain > {tolerance:g} over "
        f"the last {window:.0%} of steps; marked †): these differences hold at this budget and may say how "
        "fast a setting learns rather than where it ends."
    )


def boundary_note(rows: pd.DataFrame) -> str:
    """What the NSD column is: its tolerance, and what a pixel counts as without spacing."""
    if "nsd" not in rows or not rows["nsd"].notna().any():
        return ""
    values = sorted(set(rows["nsd_tolerance_mm"].dropna())) if "nsd_tolerance_mm" in rows else []
    tolerance = " / ".join(f"{v:g}" for v in values) or "?"
    pixels = (
        " (2D images have no spacing: a pixel counts as 1 mm)"
        if "pixels" in " ".join(rows.get("boundary_spacing", pd.Series(dtype=str)).astype(str))
        else ""
    )
    return (
        f"NSD: normalised surface Dice at {tolerance} mm{pixels}, mean over scored seeds of the test images with "
        "foreground; HD95 and the median image Dice are in the CSV. "
    )


def table_note(
    table: pd.DataFrame,
    alpha: float,
    margin: float = 0.01,
    family: int | None = None,
    convergence: tuple[float, float] = (0.3, 0.01),
) -> str:
    """What every table must state: n seeds (failed ones counted), n test images (and
    how many enter the Dice mean), the budget, the test, the correction and its family,
    and how the verdicts are reached."""
    rows = table[table["test"] != "threshold"]
    compared = rows[~rows["test"].isin(["reference"]) & rows["p"].notna()]
    ref = rows[rows["test"] == "reference"]
    scored = _join(rows["n_test_scored"]) if "n_test_scored" in rows else "?"
    text = (
        f"n = {_join(rows['n_seeds'])} seeds per row, every seed counted (diverged as Dice 0, collapsed at its "
        f"Dice); {_join(rows['n_test_images'])} test images per cell, {scored} with a reference foreground in the "
        f"Dice mean (the same images for every row). {boundary_note(rows)}{budget_note(rows, *convergence)}"
    )
    if ref.empty or compared.empty:
        single = rows["verdict"].eq("not replicated").any() if "verdict" in rows else False
        return text + (" One seed per row: no difference is claimed from one training run." if single else "")
    m = family or len(compared)
    text += (
        f" Each row vs the reference row ({ref['cell'].iloc[0]}), paired by seed: mean difference with the wider "
        f"of two 95 % t-intervals (over per-seed means; over seeds and test images), p the larger of their "
        f"t-tests, Holm-adjusted over the {m} comparisons of the report. Verdict: better/worse (adjusted "
        f"p < {alpha:g}), equivalent (TOST within ±{margin:g} Dice, adjusted p < {alpha:g}), else inconclusive."
    )
    need = compared["seeds_needed"].replace(math.inf, math.nan).dropna()
    if len(need):
        text += (
            " Seeds for 80 % power (Δ / Δ÷2): at the observed difference and at half of it, at Holm's level "
            "alpha/m; ∞: more seeds alone cannot (the test images' own spread, or no difference)."
        )
    return text
