"""Was a row still learning when its budget ran out?

A comparison at a fixed step budget measures where each setting *is* after that many
steps, which is not where it would end: a decaying schedule or a slow optimizer can
look worse only because it learns more slowly. Each row gets the gain of its mean
validation Dice (over its seeds' curves) across the last ``window`` of its steps, from
a least-squares line; above a tolerance the row is marked as still improving.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd


def late_gain(steps: np.ndarray, val_dice: np.ndarray, window: float) -> float:
    """Gain of ``val_dice`` over the last ``window`` (a fraction) of ``steps``, from a
    least-squares line through the points in that window (NaN with < 2 points).

    Args:
        steps: (n_epochs,) optimizer steps at each evaluation, increasing.
        val_dice: (n_epochs,) validation Dice at those steps.
        window: fraction of the last step, in (0, 1].
    """
    steps, val_dice = np.asarray(steps, float), np.asarray(val_dice, float)
    ok = np.isfinite(val_dice)
    steps, val_dice = steps[ok], val_dice[ok]
    if len(steps) < 2:
        return math.nan
    last = steps.max()
    inside = steps >= last * (1 - window) - 1e-9
    if inside.sum() < 2:
        inside[-2:] = True  # at least the last two evaluations
    slope = np.polyfit(steps[inside], val_dice[inside], 1)[0]
    return float(slope * (last - steps[inside].min()))


def row_convergence(curves: Path, cells: list[str], window: float) -> float:
    """``late_gain`` of the mean validation Dice over ``cells``' histories
    (``curves/<cell>.csv``: epoch, steps, val_dice); NaN without a history."""
    frames = []
    for cell in cells:
        path = Path(curves) / f"{cell}.csv"
        if path.exists():
            h = pd.read_csv(path)
            if {"steps", "val_dice"} <= set(h.columns):
                frames.append(h.set_index("steps")["val_dice"])
    if not frames:
        return math.nan
    mean = pd.concat(frames, axis=1).mean(axis=1).sort_index()
    return late_gain(mean.index.to_numpy(), mean.to_numpy(), window)
