"""The summary DVC reads: one overlay table per study for ``dvc plots show``, with every
cell of the study and its row (seed group), and a template that colours by row."""

from __future__ import annotations

import json

import pandas as pd
import yaml

from segsweep.study_results import seed_groups, summarize
from tests.conftest import REPO


def _cell(tmp_path, cell, seed, opt, dice):
    out = tmp_path / "cells" / cell
    out.mkdir(parents=True)
    (out / "metrics.json").write_text(
        json.dumps(
            {
                "cell": cell,
                "status": "ok",
                "dice": dice,
                "seed": seed,
                "test_cases": ["a", "b"],
                "per_image_dice": [dice, dice],
                "params": {"seed": seed, "optimizer": {"name": opt}},
            }
        )
    )
    pd.DataFrame({"epoch": [0, 1], "val_dice": [0.1, dice]}).to_csv(out / "history.csv", index=False)
    return out / "metrics.json"


def test_study_curves_hold_every_cell_with_its_row(tmp_path):
    files = [
        _cell(tmp_path, "baseline", 0, "adam", 0.8),
        _cell(tmp_path, "seed-1", 1, "adam", 0.7),
        _cell(tmp_path, "opt-sgd", 0, "sgd", 0.6),
    ]
    studies = {"optimizer": ["baseline", "seed-1", "opt-sgd"], "seed": ["baseline", "seed-1"]}
    table = summarize(files, studies, tmp_path / "summary")
    assert seed_groups(table, studies["optimizer"]) == [["baseline", "seed-1"], ["opt-sgd"]]
    curves = pd.read_csv(tmp_path / "summary/study_curves/optimizer.csv")
    assert len(curves) == 6 and set(curves["cell"]) == set(studies["optimizer"])
    assert curves.groupby("cell")["row"].first().to_dict() == {
        "baseline": "baseline",
        "seed-1": "baseline",
        "opt-sgd": "opt-sgd",
    }
    assert sorted(p.stem for p in (tmp_path / "summary/study_curves").iterdir()) == ["optimizer", "seed"]
    # a study dropped from params leaves no stale overlay behind
    summarize(files, {"optimizer": studies["optimizer"]}, tmp_path / "summary")
    assert [p.stem for p in (tmp_path / "summary/study_curves").iterdir()] == ["optimizer"]


def test_dvc_plots_one_overlay_per_study_coloured_by_row():
    dvc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    (plot,) = dvc["plots"]
    ((path, spec),) = plot.items()
    assert path == "results/summary/study_curves" and spec["y"] == "val_dice"
    template = json.loads((REPO / spec["template"]).read_text())
    assert template["encoding"]["color"]["field"] == "row" and template["encoding"]["detail"]["field"] == "cell"
    assert dvc["metrics"] == ["results/report/study_metrics.json"]  # a few columns per study, not one per cell
