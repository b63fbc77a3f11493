"""Dynamics figures from per-step norm logs; the late/early gradient-norm trend per
layer, its grouping of seeds into study rows and its interval, on small tables with
known ratios."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import segsweep.probe.figures as dyn_figures
from segsweep.probe.dynamics import TREND_COLUMNS, dynamics, late_early_ratios, row_interval, seed_rows, trend_table


def _norms(seed, steps=20):
    rng = np.random.default_rng(seed)
    g = rng.uniform(0.5, 1.5, (steps, 2))
    return pd.DataFrame(
        {
            "step": range(steps),
            "epoch": 0,
            "loss": rng.random(steps),
            "lr": 0.1,
            "grad_total": np.sqrt((g**2).sum(1)),
            "update_total": 0.1 * np.sqrt((g**2).sum(1)),
            "grad/a": g[:, 0],
            "grad/b": g[:, 1],
            "update/a": 0.1 * g[:, 0],
            "update/b": 0.1 * g[:, 1],
        }
    )


def _trend_norms(ratios: dict[str, float], steps=20, seed=0):
    """Norms whose layer ``l`` has late/early ratio ``ratios[l]`` exactly: 1 in the first
    quarter of the steps, anything in the middle, ``ratios[l]`` in the last quarter."""
    rng = np.random.default_rng(seed)
    w = math.ceil(steps / 4)
    cols = {}
    for layer, r in ratios.items():
        g = rng.uniform(0.1, 50.0, steps)  # the middle must not count
        g[:w], g[-w:] = 1.0, r
        cols[f"grad/{layer}"] = g
        cols[f"update/{layer}"] = 0.1 * g
    total = np.sqrt(sum(c**2 for k, c in cols.items() if k.startswith("grad/")))
    return pd.DataFrame(
        {
            "step": range(steps),
            "epoch": 0,
            "loss": 1.0,
            "lr": 0.1,
            "grad_total": total,
            "update_total": 0.1 * total,
            **cols,
        }
    )


def test_dynamics_figures_and_summary(tmp_path):
    paths = {}
    for i, cell in enumerate(("x", "y")):
        paths[cell] = tmp_path / f"{cell}.parquet"
        _norms(i).to_parquet(paths[cell])
    summary = dynamics(paths, {"s": ["x", "y"]}, 3, tmp_path / "out")
    for name in (
        "cell_x.png",
        "cell_y.pdf",
        "study_s.png",
        "study_s.pdf",
        "summary.csv",
        "study_s_trend.csv",
        "study_s_trend.png",
        "study_s_trend.pdf",
        "trend_cells.csv",
    ):
        assert (tmp_path / "out" / name).exists()
    # plain SGD-like logs (update = lr * grad): the ratio is 1
    assert summary["update_over_lr_grad_last"].tolist() == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("steps,window", [(20, 5), (10, 3), (7, 2), (2, 1)])
def test_late_early_ratio_uses_the_first_and_last_quarter_of_the_logged_steps(steps, window):
    g = np.full(steps, 7.0)
    g[:window], g[-window:] = 2.0, 3.0
    norms = pd.DataFrame({"step": np.arange(steps), "grad/a": g, "grad/b": g[::-1]})
    shuffled = norms.sample(frac=1.0, random_state=0)  # rows are sorted by step first
    r = late_early_ratios(shuffled).set_index("layer")
    assert r.loc["a", "early"] == 2.0 and r.loc["a", "late"] == 3.0
    assert r.loc["a", "ratio"] == pytest.approx(1.5) and r.loc["b", "ratio"] == pytest.approx(2 / 3)
    assert list(r.index) == ["a", "b"]


def test_late_early_ratio_skips_nonfinite_norms_and_needs_two_steps():
    g = np.array([1.0, np.nan, 5.0, 5.0, 5.0, 5.0, 4.0, np.inf])  # windows: steps 0-1 and 6-7
    r = late_early_ratios(pd.DataFrame({"step": range(8), "grad/a": g, "grad/z": np.nan}))
    assert r["ratio"].iloc[0] == pytest.approx(4.0)
    assert np.isnan(r["ratio"].iloc[1])  # no finite norm in a window
    assert np.isnan(late_early_ratios(pd.DataFrame({"step": [0], "grad/a": [1.0]}))["ratio"].iloc[0])
    with pytest.raises(ValueError, match="share must be in"):
        late_early_ratios(pd.DataFrame({"step": [0], "grad/a": [1.0]}), share=0.7)


def test_row_interval_is_a_t_interval_on_log_ratios():
    n, mean, low, high = row_interval(np.array([2.0, 4.0, 8.0]))
    half = stats.t.ppf(0.975, 2) * math.log(2) / math.sqrt(3)  # logs: ln2 · (1, 2, 3), sd ln2
    assert n == 3 and mean == pytest.approx(4.0)  # geometric mean
    assert low == pytest.approx(4.0 * math.exp(-half)) and high == pytest.approx(4.0 * math.exp(half))
    assert low > 0 and low < mean < high
    n, mean, low, high = row_interval(np.array([5.0, np.nan, 0.0, np.inf]))
    assert (n, mean) == (1, pytest.approx(5.0)) and np.isnan(low) and np.isnan(high)
    assert row_interval(np.array([]))[0] == 0


def test_seed_rows_group_cells_that_differ_only_by_seed():
    adam = {"optimizer": {"name": "adam", "lr": 1e-3}, "epochs": 2}
    sgd = {"optimizer": {"name": "sgd", "lr": 1e-2}, "epochs": 2}
    params = {
        "baseline": {**adam, "seed": 0},
        "seed-1": {**adam, "seed": 1},
        "opt-sgd": {**sgd, "seed": 0},
        "opt-sgd__seed-1": {**sgd, "seed": 1},
        "seed-2": {**adam, "seed": 2},
    }
    ids = ["baseline", "seed-1", "seed-2", "opt-sgd", "opt-sgd__seed-1", "orphan"]
    assert seed_rows(ids, params) == {
        "baseline": ["baseline", "seed-1", "seed-2"],
        "opt-sgd": ["opt-sgd", "opt-sgd__seed-1"],
        "orphan": ["orphan"],
    }


def test_trend_table_and_figure_with_known_ratios(tmp_path, monkeypatch):
    # row "sgd": three seeds with ratios 2, 4, 8 on layer a (geometric mean 4) and 1 on b;
    # row "adam": three seeds with ratio 0.5 on both layers (no spread: a zero-width interval)
    truth = {
        "sgd": [{"a": 2.0, "b": 1.0}, {"a": 4.0, "b": 1.0}, {"a": 8.0, "b": 1.0}],
        "adam": [{"a": 0.5, "b": 0.5}] * 3,
    }
    paths, params, ids = {}, {}, []
    for row, seeds in truth.items():
        for s, ratios in enumerate(seeds):
            cell = row if s == 0 else f"{row}__seed-{s}"
            ids.append(cell)
            paths[cell] = tmp_path / f"{cell}.parquet"
            _trend_norms(ratios, steps=40 + 3 * s, seed=s).to_parquet(paths[cell])
            params[cell] = {"optimizer": {"name": row}, "seed": s}
    figures = {}
    real_save = dyn_figures.save
    monkeypatch.setattr(
        dyn_figures,
        "save",
        lambda fig, stem, caption=None: figures.__setitem__(stem.name, fig) or real_save(fig, stem, caption),
    )
    dynamics(paths, {"optimizer": ids}, 3, tmp_path / "out", params)
    table = pd.read_csv(tmp_path / "out" / "study_optimizer_trend.csv")
    assert list(table.columns) == TREND_COLUMNS
    assert table[["row", "layer"]].values.tolist() == [["sgd", "a"], ["sgd", "b"], ["adam", "a"], ["adam", "b"]]
    assert (table["study"] == "optimizer").all() and (table["n_seeds"] == 3).all()
    sgd_a = table.iloc[0]
    half = stats.t.ppf(0.975, 2) * math.log(2) / math.sqrt(3)
    assert sgd_a["ratio_mean"] == pytest.approx(4.0)
    assert sgd_a["ci95_low"] == pytest.approx(4 * math.exp(-half)) and sgd_a["ci95_high"] == pytest.approx(
        4 * math.exp(half)
    )
    np.testing.assert_allclose(
        table.iloc[1:][["ratio_mean", "ci95_low", "ci95_high"]].to_numpy(),
        [[1, 1, 1], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]],
        rtol=1e-9,
    )
    cells = pd.read_csv(tmp_path / "out" / "trend_cells.csv")
    assert cells.set_index(["cell", "layer"]).loc[("sgd__seed-2", "a"), "ratio"] == pytest.approx(8.0)

    fig = figures["study_optimizer_trend"]
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert any(list(ln.get_ydata()) == [1.0, 1.0] for ln in ax.get_lines())  # the line at ratio 1
    (legend,) = fig.legends  # one figure legend, beside the axes
    assert [t.get_text() for t in legend.texts] == ["sgd (n = 3)", "adam (n = 3)"]
    fig.canvas.draw()
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1  # outside the data area
    assert (tmp_path / "out" / "study_optimizer_trend.png").exists()
    caption = (tmp_path / "out" / "study_optimizer_trend.caption.txt").read_text()
    assert "geometric mean over seeds" in caption and "n seeds per row" in caption


def test_trend_table_without_norms_is_empty_with_columns():
    table = trend_table({}, "s", {"x": ["x"]})
    assert list(table.columns) == TREND_COLUMNS and table.empty


def test_cli_groups_seeds_from_the_metrics_files(tmp_path):
    from segsweep.cli import main

    norms, metrics = [], []
    for cell, seed, r in (("x", 0, 2.0), ("x__seed-1", 1, 8.0), ("y", 0, 1.0)):
        _trend_norms({"a": r}).to_parquet(tmp_path / f"{cell}.parquet")
        (tmp_path / f"{cell}.json").write_text(json.dumps({"params": {"opt": cell[0], "seed": seed}}))
        norms.append(f"{cell}={tmp_path / f'{cell}.parquet'}")
        metrics.append(f"{cell}={tmp_path / f'{cell}.json'}")
    out = tmp_path / "out"
    assert (
        main(
            [
                "probe",
                "dynamics",
                "--cfg",
                "{}",
                "--studies",
                json.dumps({"s": ["x", "x__seed-1", "y"]}),
                "--out",
                str(out),
                "--norms",
                *norms,
                "--metrics",
                *metrics,
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "study_s_trend.csv")
    assert table[["row", "n_seeds"]].values.tolist() == [["x", 2], ["y", 1]]
    assert table["ratio_mean"].tolist() == pytest.approx([4.0, 1.0])
