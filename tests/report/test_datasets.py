"""The report's dataset summary counts what the split files and the ingest manifest say,
and the report shows it, its figures fit a paper page, its plain tables keep their digits."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from segsweep.config import Report
from segsweep.report.build import build_report
from segsweep.report.datasets import dataset_summary
from tests.report.test_report import _summary


def _data(tmp_path: Path) -> tuple[Path, list[Path]]:
    fg = [0.0, 0.1, 0.2, 0.0, 0.3, 0.05, 0.4, 0.0]
    manifest = tmp_path / "datasets.csv"
    pd.DataFrame(
        {
            "dataset": "d",
            "case": [f"c{i}" for i in range(8)],
            "ndim": 2,
            "shape": ["64x64"] * 7 + ["32x48"],
            "channels": 1,
            "spacing": "1x1",
            "fg_fraction": fg,
            "has_fg": [f > 0 for f in fg],
        }
    ).to_csv(manifest, index=False)
    split = tmp_path / "splits/d/train1_seed0.json"
    split.parent.mkdir(parents=True)
    split.write_text(
        json.dumps(
            {
                "train": ["c0", "c1", "c2", "c3"],
                "val": ["c4"],
                "test": ["c5", "c6", "c7"],
                "train_fraction": 1.0,
                "seed": 0,
            }
        )
    )
    return manifest, [split]


def test_dataset_summary_counts_cases_and_empties(tmp_path):
    manifest, splits = _data(tmp_path)
    row = dataset_summary(manifest, splits).iloc[0]
    assert (row["n_train"], row["n_val"], row["n_test"]) == (4, 1, 3)
    assert (row["empty_train"], row["empty_val"], row["empty_test"]) == (2, 0, 1)
    # non-empty cases of the split: 0.1 0.2 0.3 0.05 0.4 -> median 0.2
    assert row["foreground_fraction"] == "0.200 [0.050–0.400]"
    assert row["shape"] == "64x64, 32x48" and row["spacing"] == "1x1"


def test_dataset_summary_refuses_a_case_missing_from_the_manifest(tmp_path):
    manifest, splits = _data(tmp_path)
    splits[0].write_text(json.dumps({"train": ["zz"], "val": [], "test": [], "train_fraction": 1.0, "seed": 0}))
    with pytest.raises(ValueError, match="zz"):
        dataset_summary(manifest, splits)


def test_report_has_datasets_paper_sized_figures_and_fixed_digits(tmp_path, caplog):
    manifest, splits = _data(tmp_path)
    summary = _summary(tmp_path)
    cells = pd.read_csv(summary / "cells.csv")
    # two seeds of the baseline: a seed group, so a seeds table
    extra = cells.iloc[[0]].assign(cell="baseline__seed-1", seed=1, **{"params.seed": 1, "dice": 0.71})
    pd.concat([cells, extra]).to_csv(summary / "cells.csv", index=False)
    (summary / "curves" / "baseline.csv").rename(summary / "curves" / "baseline__seed-1.csv")
    pd.read_csv(summary / "curves" / "opt-sgd.csv").to_csv(summary / "curves" / "baseline.csv", index=False)
    studies = {"optimizer": ["baseline", "baseline__seed-1", "opt-sgd"]}
    with caplog.at_level(logging.WARNING, "segsweep.figures"):
        index = build_report(
            Report(), json.dumps({}), studies, summary, [], tmp_path / "report", manifest=manifest, splits=splits
        )
    assert caplog.text == ""  # every figure is 3.5 or 7 in wide with text >= 7 pt
    page = index.read_text()
    assert "<h2>Datasets</h2>" in page and "0.200 [0.050–0.400]" in page
    tables = index.parent / "tables"
    assert "0.660" in (tables / "seeds.md").read_text()  # mean of 0.61 and 0.71, with its third digit
    tex = (tables / "seeds.tex").read_text()
    assert r"\caption{" in tex and r"\label{tab:seeds}" in tex and "0.660" in tex
    assert "Dice mean" in tex and "dice" + r"\_mean" not in tex  # human labels in print (issue 27)
    assert "dice_mean" in (tables / "seeds.csv").read_text()  # machine names in the CSV
    assert r"\label{tab:datasets}" in (tables / "datasets.tex").read_text()
    assert "(reference)" not in page  # legends are in the figures, not the page
