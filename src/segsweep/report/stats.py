"""How much of a difference is noise: seed groups and paired tests against the best row.

A study row is a *group* of cells that differ only by ``seed`` (one cell when the study
has no seed axis). Each row is compared with the study's best row (highest mean Dice):

- both rows have at least two seeds in common: a paired t-test over those seeds
  (``scipy.stats.ttest_rel``; the pairs share the seed, hence the initialisation and
  the patch order), which measures the training noise the comparison is about;
- otherwise a paired bootstrap over the validation images both rows were scored on
  (``scipy.stats.bootstrap``, percentile interval of the mean per-image Dice
  difference; a row's per-image Dice is its seeds' mean): it measures only how the
  validation sample could have fallen, so it is the weaker statement.

p-values are two-sided and not corrected for the several comparisons in a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Comparison:
    """A row against the best row: test name, mean Dice difference (row − best), its
    95 % interval, two-sided p-value; ``p`` is NaN when no test was possible."""

    test: str
    diff: float
    low: float
    high: float
    p: float


NO_TEST = Comparison("n/a", math.nan, math.nan, math.nan, math.nan)


def seed_groups(cells: pd.DataFrame, ids: list[str]) -> list[list[str]]:
    """Split ``ids`` (in order) into groups of cells whose ``params.*`` differ only by seed.

    Args:
        cells: the summary table (``cells.csv``: one row per cell, ``params.*`` columns).
        ids: the study's cell ids.

    Returns:
        Groups in the order their first member appears in ``ids``.
    """
    sub = cells.set_index("cell").loc[ids]
    keys = [c for c in sub.columns if c.startswith("params.") and c != "params.seed"]
    order: dict[tuple, list[str]] = {}
    for cell, row in sub[keys].astype(str).iterrows():
        order.setdefault(tuple(row), []).append(cell)
    return list(order.values())


def paired_seed_test(a: dict[int, float], b: dict[int, float]) -> Comparison:
    """Paired t-test of Dice over the seeds two rows share (``{seed: dice}`` each)."""
    from scipy import stats

    common = sorted(set(a) & set(b))
    if len(common) < 2:
        return NO_TEST
    x, y = np.array([a[s] for s in common]), np.array([b[s] for s in common])
    d = x - y
    if np.all(d == d[0]):  # zero variance: t undefined; identical runs are not different
        return Comparison(f"paired t, {len(common)} seeds", float(d[0]), float(d[0]), float(d[0]),
                          1.0 if d[0] == 0 else 0.0)
    t = stats.ttest_rel(x, y)
    ci = t.confidence_interval(0.95)
    return Comparison(f"paired t, {len(common)} seeds", float(d.mean()), float(ci.low), float(ci.high),
                      float(t.pvalue))


def paired_bootstrap(a: pd.Series, b: pd.Series, n_resamples: int, seed: int) -> Comparison:
    """Paired bootstrap of the mean per-image Dice difference ``a − b``.

    Args:
        a, b: per-image Dice indexed by validation case; images missing from either, or
            NaN (empty ground truth), are left out.
        n_resamples: bootstrap resamples.
        seed: the resampling seed (the report is deterministic).

    Returns:
        The mean difference, its 95 % percentile interval and a two-sided p-value (twice
        the smaller share of resampled means on either side of 0, at least
        ``1 / n_resamples``).
    """
    from scipy import stats

    both = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    if len(both) < 2:
        return NO_TEST
    d = (both["a"] - both["b"]).to_numpy()
    if np.all(d == d[0]):
        return Comparison(f"bootstrap, {len(d)} images", float(d[0]), float(d[0]), float(d[0]),
                          1.0 if d[0] == 0 else 0.0)
    res = stats.bootstrap((d,), np.mean, n_resamples=n_resamples, method="percentile",
                          confidence_level=0.95, rng=np.random.default_rng(seed))
    dist = res.bootstrap_distribution
    # two-sided; never below 1/n_resamples, the resolution of the resampling
    p = min(1.0, max(2 * min(float(np.mean(dist <= 0)), float(np.mean(dist >= 0))), 1 / n_resamples))
    return Comparison(f"bootstrap, {len(d)} images", float(d.mean()), float(res.confidence_interval.low),
                      float(res.confidence_interval.high), p)


def compare(row_cells: list[str], best_cells: list[str], cells: pd.DataFrame, per_image: pd.DataFrame,
            n_resamples: int, seed: int) -> Comparison:
    """Compare a row (its cells) with the best row: over seeds when they share at least
    two, else over validation images; only cells with status ``ok`` take part."""
    ok = cells.set_index("cell")
    ok = ok[ok["status"] == "ok"]

    def by_seed(ids):
        return {int(ok.at[c, "seed"]): float(ok.at[c, "dice"]) for c in ids if c in ok.index}

    test = paired_seed_test(by_seed(row_cells), by_seed(best_cells))
    if not math.isnan(test.p):
        return test

    def images(ids):
        sub = per_image[per_image["cell"].isin([c for c in ids if c in ok.index])]
        return sub.groupby("case")["dice"].mean()

    return paired_bootstrap(images(row_cells), images(best_cells), n_resamples, seed)
