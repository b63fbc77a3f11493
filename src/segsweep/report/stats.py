"""How much of a difference is noise: seed groups, intervals and paired tests against a
study's reference row.

A study row is a *group* of cells that differ only by ``seed`` (and split seed). Each
row is compared with the study's **reference row** (the one holding ``baseline`` unless
``report.reference`` names another cell), never with the row that happened to score
best (a winner's-curse selection):

- the rows share at least two seeds: the per-seed Dice differences are tested with an
  exact two-sided **sign-flip test** (every one of the 2^n sign patterns enumerated;
  the pairs share the seed, hence the initialisation and the batch order), which is
  scipy's ``permutation_test(..., permutation_type="samples")`` without sampling.
  Its smallest possible p is 2/2^n: with 3 seeds 0.25, so no difference over 3 seeds
  can be significant at 0.05, and the table says so (``p_floor``). Beyond 16 pairs a
  paired t-test;
- a single shared seed: the sign-flip test over the per-image test Dice differences
  (exact up to 16 images, else ``report.bootstrap`` random sign patterns, p never below
  1/(resamples + 1)); it measures only how the test sample fell, not training noise.

Intervals: the difference's 95 % interval (and each row's mean Dice interval) is a
hierarchical percentile bootstrap, seeds resampled and then test images within each
seed (a mean of values in [0, 1] stays in [0, 1]); without per-image results, a
percentile bootstrap over seeds. p-values are Holm-adjusted over the rows of a table.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

EXACT_MAX = 16  # pairs up to which the sign-flip test enumerates every sign pattern


@dataclass(frozen=True)
class Comparison:
    """A row against the reference row: test name, number of pairs, mean Dice difference
    (row − reference) and its 95 % interval, two-sided p, the smallest p the test can
    give, and the probability of improvement (share of seed pairs where the row wins)."""

    test: str
    n_pairs: int
    diff: float
    low: float
    high: float
    p: float
    p_floor: float
    p_improve: float = math.nan
    sd: float = math.nan  # std (ddof 1) of the per-seed differences


NO_TEST = Comparison("n/a", 0, math.nan, math.nan, math.nan, math.nan, math.nan)


def sign_flip_test(d: np.ndarray, n_resamples: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Two-sided sign-flip (paired permutation) test of mean(d) = 0.

    Returns:
        ``(p, floor)``: exact p for ``len(d) <= EXACT_MAX`` (floor 2/2^n), else a Monte
        Carlo p over ``n_resamples`` sign patterns, counted as (hits + 1)/(resamples + 1)
        (floor 1/(resamples + 1)).
    """
    d = np.asarray(d, float)
    n = len(d)
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, float(np.abs(d).max(initial=0.0)))
    if n <= EXACT_MAX:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        stats = np.abs(signs @ d) / n
        return float(np.mean(stats >= observed - tol)), 2.0 / 2**n
    rng = np.random.default_rng(seed)
    signs = rng.choice((1.0, -1.0), size=(n_resamples, n))
    hits = int(np.sum(np.abs(signs @ d) / n >= observed - tol))
    return (hits + 1) / (n_resamples + 1), 1.0 / (n_resamples + 1)


def hierarchical_interval(values: np.ndarray, n_resamples: int, seed: int) -> tuple[float, float]:
    """95 % percentile interval of the grand mean of ``values`` (n_seeds, n_images):
    resample seeds with replacement, then images with replacement within each.
    (Remembered: the study table and the seed table ask for the same rows.)"""
    values = np.ascontiguousarray(values, dtype=float)
    return _hierarchical_interval(values.tobytes(), values.shape, n_resamples, seed)


@functools.lru_cache(maxsize=4096)
def _hierarchical_interval(data: bytes, shape: tuple[int, int], n_resamples: int, seed: int) -> tuple[float, float]:
    values = np.frombuffer(data).reshape(shape)
    rng = np.random.default_rng(seed)
    s, i = values.shape
    means = []
    for start in range(0, n_resamples, 2000):  # bounded memory: 2000 × seeds × images at a time
        b = min(2000, n_resamples - start)
        si = rng.integers(0, s, (b, s))
        ii = rng.integers(0, i, (b, s, i))
        means.append(values[si[:, :, None], ii].mean((1, 2)))
    low, high = np.percentile(np.concatenate(means), [2.5, 97.5])
    return float(low), float(high)


def holm(p: list[float]) -> list[float]:
    """Holm's step-down adjustment of p-values (NaN stays NaN)."""
    idx = [k for k, v in enumerate(p) if not math.isnan(v)]
    order = sorted(idx, key=lambda k: p[k])
    out, running = list(p), 0.0
    for rank, k in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p[k]))
        out[k] = running
    return out


def _per_seed(cells: pd.DataFrame, ids: list[str]) -> dict[tuple, str]:
    """(seed, split seed) -> cell id, for the ok cells of a row."""
    ok = cells.set_index("cell").loc[ids]
    ok = ok[ok["status"] == "ok"]
    split = ok["params.split_seed"] if "params.split_seed" in ok else pd.Series(0, index=ok.index)
    return {(int(ok.at[c, "seed"]), int(split[c])): c for c in ok.index}


def wide_dice(per_image: pd.DataFrame | None) -> pd.DataFrame | None:
    """Per-image Dice as one row per cell and one column per test case (NaN where a
    cell has no Dice for a case), from ``per_image.csv``'s long table (cell, case,
    dice); a table already wide (its columns named ``case``) is returned as is, so a
    study's callers pivot once, not once per row. None without per-image results."""
    if per_image is None or per_image.empty:
        return None
    if per_image.columns.name == "case":
        return per_image
    return per_image.pivot_table(index="cell", columns="case", values="dice", aggfunc="first")


def image_matrix(per_image: pd.DataFrame | None, cells_by_seed: list[list[str]]) -> np.ndarray | None:
    """(n_seeds, n_images) per-image Dice of each member of each seed pair/row, or
    None when per-image results are missing; images with an empty reference are left
    out (NaN in any member). ``per_image``: long or wide (``wide_dice``)."""
    wide = wide_dice(per_image)
    if wide is None:
        return None
    members = [c for group in cells_by_seed for c in group]
    rows = wide.index.get_indexer(members)  # (a hash lookup: no set of 10k ids per row)
    if (rows < 0).any():
        return None
    sub = wide.iloc[rows].dropna(axis=1)
    if sub.shape[1] == 0:
        return None
    return sub.to_numpy().reshape(len(cells_by_seed), len(cells_by_seed[0]), -1)


def compare(
    row_cells: list[str],
    ref_cells: list[str],
    cells: pd.DataFrame,
    per_image: pd.DataFrame | None,
    n_resamples: int,
    seed: int,
) -> Comparison:
    """Compare a row (its cells) with the reference row; only ``ok`` cells take part,
    paired by (seed, split seed)."""
    a, b = _per_seed(cells, row_cells), _per_seed(cells, ref_cells)
    common = sorted(set(a) & set(b))
    if not common:
        return NO_TEST
    dice = cells.set_index("cell")["dice"].astype(float)
    d = np.array([dice[a[k]] - dice[b[k]] for k in common])
    images = image_matrix(per_image, [[a[k], b[k]] for k in common])
    if len(common) >= 2:
        if len(common) <= EXACT_MAX:
            p, floor = sign_flip_test(d)
            test = f"exact sign-flip, {len(common)} seeds"
        else:
            from scipy import stats

            p, floor, test = float(stats.ttest_1samp(d, 0.0).pvalue), 0.0, f"paired t, {len(common)} seeds"
        if images is not None:
            low, high = hierarchical_interval(images[:, 0] - images[:, 1], n_resamples, seed)
        else:
            low, high = _seed_interval(d, n_resamples, seed)
        wins = np.mean([dice[a[x]] > dice[b[y]] for x in common for y in common])
        return Comparison(test, len(common), float(d.mean()), low, high, p, floor, float(wins), float(d.std(ddof=1)))
    if images is None or images.shape[2] < 2:
        return NO_TEST
    diffs = images[0, 0] - images[0, 1]
    p, floor = sign_flip_test(diffs, n_resamples, seed)
    low, high = hierarchical_interval(diffs[None], n_resamples, seed)
    return Comparison(
        f"sign-flip over {len(diffs)} test images, 1 seed", len(diffs), float(diffs.mean()), low, high, p, floor
    )


def _seed_interval(values: np.ndarray, n_resamples: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (n_resamples, len(values)))].mean(1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def mean_interval(
    ok_cells: list[str], cells: pd.DataFrame, per_image: pd.DataFrame | None, n_resamples: int, seed: int
) -> tuple[float, float]:
    """95 % interval of a row's mean Dice: hierarchical bootstrap over its seeds and
    test images, or over its seeds alone without per-image results (NaN for < 2
    values). Always inside [0, 1]."""
    images = image_matrix(per_image, [[c] for c in ok_cells]) if ok_cells else None
    if images is not None and images.size >= 2:
        return hierarchical_interval(images[:, 0], n_resamples, seed)
    values = cells.set_index("cell").loc[ok_cells, "dice"].astype(float).to_numpy()
    if len(values) < 2:
        return math.nan, math.nan
    return _seed_interval(values, n_resamples, seed)


def min_detectable_effect(sd_diff: float, n: int, alpha: float, power: float = 0.8) -> float:
    """Smallest true mean difference a paired design of ``n`` seeds detects with the
    given power at two-sided ``alpha`` (normal-theory t approximation); ``inf`` when the
    exact sign-flip test cannot reach ``alpha`` with ``n`` pairs (2/2^n ≥ alpha), NaN
    without a spread estimate."""
    from scipy import stats

    if n < 2 or math.isnan(sd_diff):
        return math.nan
    if n <= EXACT_MAX and 2.0 / 2**n >= alpha:
        return math.inf
    t = stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(power, n - 1)
    return float(t * sd_diff / math.sqrt(n))


def seeds_needed(alpha: float) -> int:
    """Fewest seed pairs for which the exact sign-flip test can give p < alpha."""
    n = 1
    while 2.0 / 2**n >= alpha:
        n += 1
    return n
