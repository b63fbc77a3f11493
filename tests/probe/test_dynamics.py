"""Dynamics figures from per-step norm logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segsweep.probe.dynamics import dynamics


def _norms(seed, steps=20):
    rng = np.random.default_rng(seed)
    g = rng.uniform(0.5, 1.5, (steps, 2))
    return pd.DataFrame({"step": range(steps), "epoch": 0, "loss": rng.random(steps), "lr": 0.1,
                         "grad_total": np.sqrt((g**2).sum(1)), "update_total": 0.1 * np.sqrt((g**2).sum(1)),
                         "grad/a": g[:, 0], "grad/b": g[:, 1], "update/a": 0.1 * g[:, 0], "update/b": 0.1 * g[:, 1]})


def test_dynamics_figures_and_summary(tmp_path):
    paths = {}
    for i, cell in enumerate(("x", "y")):
        paths[cell] = tmp_path / f"{cell}.parquet"
        _norms(i).to_parquet(paths[cell])
    summary = dynamics(paths, {"s": ["x", "y"]}, 3, tmp_path / "out")
    for name in ("cell_x.png", "cell_y.pdf", "study_s.png", "study_s.pdf", "summary.csv"):
        assert (tmp_path / "out" / name).exists()
    # plain SGD-like logs (update = lr * grad): the ratio is 1
    assert summary["update_over_lr_grad_last"].tolist() == pytest.approx([1.0, 1.0])
