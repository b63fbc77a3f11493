"""Example segmentations: best and worst cells on the same test images, and the
Dice shown equals the one the training loop recorded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from segsweep.report.examples import best_and_worst, examples_figure
from segsweep.train.loop import train_cell
from tests.train.conftest import tiny_cfg, tiny_data  # noqa: F401  (tiny_data: a fixture)


def test_best_and_worst_skip_diverged_cells():
    cells = pd.DataFrame(
        {"cell": ["a", "b", "c", "d"], "status": ["ok", "diverged", "ok", "ok"], "dice": [0.5, None, 0.9, 0.2]}
    )
    assert best_and_worst(cells) == ["c", "d"]
    assert best_and_worst(cells.iloc[:2]) == ["a"]
    assert best_and_worst(cells.iloc[1:2]) == []


def test_examples_show_recorded_dice(tiny_data, tmp_path, monkeypatch):  # noqa: F811
    # the figure finds data where the rules put it (segsweep.paths), relative to the repo root
    monkeypatch.chdir(tmp_path)
    prepared = Path("data/processed/t/prepared")
    prepared.parent.mkdir(parents=True)
    shutil.copytree(tiny_data["prepared"], prepared)
    Path("data/splits/t").mkdir(parents=True)
    shutil.copy(tiny_data["split"], "data/splits/t/train0.75_seed0.json")
    rows = []
    for cell, lr in (("good", 3e-3), ("bad", 1e-5)):
        cfg = tiny_cfg(dataset="t", train_fraction=0.75, optimizer={"lr": lr})
        m = train_cell(
            cfg,
            cell,
            tiny_data["patches"],
            tiny_data["split"],
            tiny_data["prepared"],
            Path("results/cells") / cell,
            ndim=2,
        )
        rows.append({"cell": cell, "status": m["status"], "dice": m["dice"]})
    cells = pd.DataFrame(rows)
    shown = examples_figure(cells, Path("results/cells"), 2, tmp_path / "ex")
    assert (tmp_path / "ex.png").exists() and (tmp_path / "ex.pdf").exists()
    order = best_and_worst(cells)
    assert len(shown) == 2 * len(order) == 4 and shown["cell"].drop_duplicates().tolist() == order
    assert shown["role"].tolist() == ["best", "worst", "best", "worst"]
    for cell in order:
        m = json.loads((Path("results/cells") / cell / "metrics.json").read_text())
        recorded = dict(zip(m["test_cases"], m["per_image_dice"]))
        for r in shown[shown["cell"] == cell].itertuples():
            assert r.dice == pytest.approx(recorded[r.case], nan_ok=True)
