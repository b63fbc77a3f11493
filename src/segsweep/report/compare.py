"""A study row against its reference row, from the cells' summary: which seeds pair,
what a failed seed scores, and the per-image matrices ``segsweep.report.stats`` reads.

**Failed seeds count.** A row's numbers are over all its seeds: a ``collapsed`` seed at
its measured Dice, a ``diverged`` seed (no weights to score) as Dice 0 on every test
image with a reference foreground. Leaving them out would report the seeds that
happened to work (a survivor's mean). Rows pair by (seed, split seed): the same
initialisation, batch order and split on both sides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segsweep.report.stats import Estimate, estimate, prob_improvement


@dataclass(frozen=True)
class Comparison:
    """A row against the reference row.

    Attributes:
        test: what was tested, for people (e.g. ``paired t, 3 seeds × 32 images``).
        n_pairs: seed pairs (or test images, with one seed).
        est: the difference (row − reference) and its reference distributions.
        p_improve: probability that a seed of the row beats a seed of the reference.
    """

    test: str
    n_pairs: int
    est: Estimate | None
    p_improve: float = math.nan

    @property
    def replicated(self) -> bool:
        return self.est is not None and self.est.n_seeds >= 2


NO_TEST = Comparison("n/a", 0, None)


def effective_dice(cells: pd.DataFrame) -> pd.Series:
    """cell -> test Dice as a row's mean counts it: measured (ok, collapsed), 0 for a
    diverged cell (no prediction to score)."""
    frame = cells.set_index("cell")
    dice = pd.to_numeric(frame["dice"], errors="coerce")
    return dice.where(frame["status"] != "diverged", 0.0)


def per_seed(cells: pd.DataFrame, ids: list[str]) -> dict[tuple, str]:
    """(seed, split seed) -> cell id, for every cell of a row (failed ones too)."""
    sub = cells.set_index("cell").loc[ids]
    split = sub["params.split_seed"] if "params.split_seed" in sub else pd.Series(0, index=sub.index)
    return {(int(sub.at[c, "seed"]), int(split[c])): c for c in sub.index}


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


def image_matrix(per_image: pd.DataFrame | None, members: list[list[str]], status: pd.Series) -> np.ndarray | None:
    """(n_seeds, n_members, n_images) per-image Dice of each member of each seed group
    (one member per row being compared), or None without per-image results.

    A diverged member scores 0 on every image; images with an empty reference (NaN
    for a scored member) are left out.
    """
    wide = wide_dice(per_image)
    flat = [c for group in members for c in group]
    if wide is None or not flat:
        return None
    scored = [c for c in flat if status.get(c) != "diverged"]
    rows = wide.index.get_indexer(scored)  # (a hash lookup: no set of 10k ids per row)
    if (rows < 0).any():
        return None
    sub = wide.iloc[rows] if scored else wide.iloc[:1]
    keep = sub.notna().all(axis=0) if scored else wide.notna().any(axis=0)
    if not keep.any():
        return None
    kept = sub.to_numpy(float)[:, keep.to_numpy()]
    values = dict(zip(scored, kept)) if scored else {}
    zeros = np.zeros(int(keep.sum()))
    out = np.array([values.get(c, zeros) for c in flat])
    return out.reshape(len(members), len(members[0]), -1)


def row_estimate(ids: list[str], cells: pd.DataFrame, per_image: pd.DataFrame | None) -> Estimate | None:
    """A row's mean test Dice over all its seeds (failed ones as ``effective_dice``)
    with its reference distributions; None without a value."""
    if not ids:
        return None
    status = cells.set_index("cell")["status"]
    images = image_matrix(per_image, [[c] for c in ids], status)
    if images is not None:
        return estimate(images[:, 0])
    return estimate(effective_dice(cells).loc[ids].to_numpy(float))


def compare(
    row_cells: list[str], ref_cells: list[str], cells: pd.DataFrame, per_image: pd.DataFrame | None
) -> Comparison:
    """Compare a row (its cells) with the reference row over the seeds they share,
    every seed counted (``effective_dice``)."""
    a, b = per_seed(cells, row_cells), per_seed(cells, ref_cells)
    common = sorted(set(a) & set(b))
    if not common:
        return NO_TEST
    status = cells.set_index("cell")["status"]
    dice = effective_dice(cells)
    images = image_matrix(per_image, [[a[k], b[k]] for k in common], status)
    row = dice.loc[[a[k] for k in common]].to_numpy(float)
    ref = dice.loc[[b[k] for k in common]].to_numpy(float)
    if images is None:
        if len(common) < 2:
            return NO_TEST
        est = estimate(row - ref)
        return Comparison(f"paired t, {len(common)} seeds", len(common), est, prob_improvement(row, ref))
    est = estimate(images[:, 0] - images[:, 1])
    n_images = images.shape[2]
    if len(common) == 1:
        return Comparison(f"t over {n_images} test images, 1 seed", n_images, est)
    test = f"paired t, {len(common)} seeds × {n_images} images"
    return Comparison(test, len(common), est, prob_improvement(row, ref))
