"""The budget check: a row whose validation Dice still rises at the end is flagged, a
plateau is not, and the gain is the least-squares line's over the window."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from segsweep.report.convergence import late_gain, row_convergence
from segsweep.report.tables import study_table
from segsweep.report.verdicts import table_note


def test_late_gain_is_the_fitted_rise_over_the_window():
    steps = np.arange(10, 110, 10)
    rising = 0.5 + 0.002 * steps  # +0.002 per step: over the last 30 % (steps 70..100) +0.06
    assert late_gain(steps, rising, 0.3) == pytest.approx(0.06)
    plateau = np.r_[np.linspace(0.2, 0.9, 6), [0.9, 0.9, 0.9, 0.9]]
    assert late_gain(steps, plateau, 0.3) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(late_gain(np.array([10]), np.array([0.5]), 0.3))


def _curves(tmp_path, cells: dict[str, list[float]]):
    for cell, dice in cells.items():
        pd.DataFrame({"epoch": range(len(dice)), "steps": np.arange(1, len(dice) + 1) * 10, "val_dice": dice}).to_csv(
            tmp_path / f"{cell}.csv", index=False
        )
    return tmp_path


def test_a_row_is_the_mean_of_its_seeds_curves(tmp_path):
    curves = _curves(tmp_path, {"a": [0.1, 0.5, 0.8, 0.8], "b": [0.1, 0.5, 0.8, 1.0]})
    assert row_convergence(curves, ["a", "b"], 0.25) == pytest.approx(0.1)  # mean 0.8 -> 0.9, steps 30-40
    assert math.isnan(row_convergence(curves, ["missing"], 0.5))


def test_the_table_flags_rising_rows_and_states_the_budget(tmp_path):
    curves = _curves(tmp_path, {"base": [0.2, 0.6, 0.8, 0.8, 0.8], "slow": [0.1, 0.2, 0.3, 0.4, 0.5]})
    cells = pd.DataFrame(
        {
            "cell": ["base", "slow"],
            "status": "ok",
            "dice": [0.8, 0.5],
            "seed": 0,
            "steps_run": 50,
            "params.seed": 0,
            "params.x": ["base", "slow"],
        }
    )
    table = study_table(cells, ["base", "slow"], curves=curves, reference="base")
    assert table["converged"].tolist() == [True, False]
    note = table_note(table, 0.05)
    assert "Budget: 50 optimizer steps per cell." in note and "1 of 2 rows were still improving" in note
