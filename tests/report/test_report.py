"""Report: table values equal an independent pandas computation, LaTeX is booktabs and
escaped, diverged cells render, the HTML references only files that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from segsweep.config import Report
from segsweep.report.build import build_report
from segsweep.report.tables import latex_escape, study_table, to_latex, to_markdown


def _summary(tmp_path: Path) -> Path:
    out = tmp_path / "summary"
    (out / "curves").mkdir(parents=True)
    rows = [
        {"cell": "baseline", "status": "ok", "dice": 0.61, "iou": 0.5, "best_epoch": 3, "final_dice": 0.6,
         "params.optimizer.name": "adam", "params.seed": 0},
        {"cell": "opt-sgd", "status": "ok", "dice": 0.657, "iou": 0.52, "best_epoch": 4, "final_dice": 0.65,
         "params.optimizer.name": "sgd", "params.seed": 0},
        {"cell": "opt-rms_50%", "status": "diverged", "dice": None, "iou": None, "best_epoch": -1,
         "final_dice": None, "params.optimizer.name": "rms&prop", "params.seed": 0},
    ]
    pd.DataFrame(rows).to_csv(out / "cells.csv", index=False)
    for r in rows:
        pd.DataFrame({"epoch": [0, 1], "train_loss": [1.0, 0.5], "val_loss": [1.1, 0.6],
                      "val_dice": [0.2, 0.4], "val_iou": [0.1, 0.3], "lr": [0.1, 0.1]}).to_csv(
            out / "curves" / f"{r['cell']}.csv", index=False)
    return out


def test_study_table_equals_pandas(tmp_path):
    cells = pd.read_csv(_summary(tmp_path) / "cells.csv")
    table = study_table(cells, ["opt-sgd", "baseline"])
    expected = cells.set_index("cell").loc[["opt-sgd", "baseline"], ["dice", "iou"]]
    assert table["cell"].tolist() == ["opt-sgd", "baseline"]
    assert table["dice"].tolist() == expected["dice"].tolist() and table["iou"].tolist() == expected["iou"].tolist()
    assert "optimizer.name" in table.columns and "seed" not in table.columns  # only what varies


def test_markdown_and_latex(tmp_path):
    cells = pd.read_csv(_summary(tmp_path) / "cells.csv")
    table = study_table(cells, ["baseline", "opt-sgd", "opt-rms_50%"])
    md = to_markdown(table)
    assert "**0.657**" in md and "diverged" in md
    tex = to_latex(table, "Optimizers & 100% of_data")
    assert all(rule in tex for rule in (r"\toprule", r"\midrule", r"\bottomrule"))
    assert r"\textbf{0.657}" in tex and r"opt-rms\_50\%" in tex and r"rms\&prop" in tex
    assert r"Optimizers \& 100\% of\_data" in tex
    assert latex_escape("a_b%c&d#e$f{g}") == r"a\_b\%c\&d\#e\$f\{g\}"


def test_html_references_existing_files_and_holds_every_table(tmp_path):
    summary = _summary(tmp_path)
    extra = tmp_path / "probes" / "init.png"
    extra.parent.mkdir()
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.savefig(extra)
    studies = {"optimizer": ["baseline", "opt-sgd", "opt-rms_50%"], "seed": ["baseline"]}
    index = build_report(Report(title="T <&>"), json.dumps({"x": 1}), studies, summary, [extra], tmp_path / "report")
    page = index.read_text()
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert (index.parent / ref).exists(), ref
    assert page.count("<table>") == len(studies) + 1  # + provenance
    assert "T &lt;&amp;&gt;" in page and "diverged" in page and "http" not in page
    for study in studies:
        for ext in ("csv", "md", "tex"):
            assert (tmp_path / "report/tables" / f"{study}.{ext}").exists()
    prov = json.loads((tmp_path / "report/provenance.json").read_text())
    assert len(prov["params_sha256"]) == 64 and "torch" in prov["packages"]


def test_seed_statistics_equal_pandas():
    from scipy import stats

    from segsweep.report.tables import seed_table

    cells = pd.DataFrame({
        "cell": ["baseline", "seed-1", "seed-2", "opt-sgd", "seed-3"],
        "status": ["ok", "ok", "ok", "ok", "diverged"], "dice": [0.6, 0.7, 0.65, 0.5, None],
        "seed": [0, 1, 2, 0, 3], "params.seed": [0, 1, 2, 0, 3],
        "params.optimizer.name": ["adam", "adam", "adam", "sgd", "adam"]})
    table = seed_table(cells)
    assert len(table) == 1  # opt-sgd has a single seed
    row = table.iloc[0]
    ok = pd.Series([0.6, 0.7, 0.65])
    half = stats.t.ppf(0.975, 2) * ok.std(ddof=1) / 3**0.5
    assert row["n"] == 3 and row["n_diverged"] == 1 and row["seeds"] == "0, 1, 2, 3"
    assert row["dice_mean"] == pytest.approx(ok.mean()) and row["dice_std"] == pytest.approx(ok.std(ddof=1))
    assert row["ci95_low"] == pytest.approx(ok.mean() - half) and row["ci95_high"] == pytest.approx(ok.mean() + half)


def test_plain_frames_are_booktabs_and_escaped():
    from segsweep.report.tables import frame_latex, frame_markdown

    df = pd.DataFrame({"dice_mean": ["0.5"], "cells": ["a_b, 50% & c"]})
    tex = frame_latex(df)
    assert tex.startswith(r"\begin{tabular}{ll}") and r"\toprule" in tex and r"\bottomrule" in tex
    assert r"dice\_mean" in tex and r"a\_b, 50\% \& c" in tex
    assert frame_markdown(df).splitlines()[0] == "| dice_mean | cells |"
