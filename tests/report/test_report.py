"""Report: table values equal an independent pandas computation, LaTeX is booktabs and
escaped, diverged cells render, the HTML references only files that exist."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segsweep.config import Report
from segsweep.report.build import build_report
from segsweep.report.render import latex_escape, to_latex, to_markdown
from segsweep.report.tables import IGNORED, study_table, top_rows


def _summary(tmp_path: Path) -> Path:
    out = tmp_path / "summary"
    (out / "curves").mkdir(parents=True)
    rows = [
        {
            "cell": "baseline",
            "status": "ok",
            "dice": 0.61,
            "nsd": 0.74,
            "iou": 0.5,
            "selected_epoch": 3,
            "val_dice": 0.6,
            "params.optimizer.name": "adam",
            "params.seed": 0,
            "seed": 0,
        },
        {
            "cell": "opt-sgd",
            "status": "ok",
            "dice": 0.657,
            "nsd": 0.701,
            "iou": 0.52,
            "selected_epoch": 4,
            "val_dice": 0.65,
            "params.optimizer.name": "sgd",
            "params.seed": 0,
            "seed": 0,
        },
        {
            "cell": "opt-rms_50%",
            "status": "diverged",
            "dice": None,
            "nsd": None,
            "iou": None,
            "selected_epoch": -1,
            "val_dice": None,
            "params.optimizer.name": "rms&prop",
            "params.seed": 0,
            "seed": 0,
        },
    ]
    pd.DataFrame(rows).to_csv(out / "cells.csv", index=False)
    for r in rows:
        pd.DataFrame(
            {
                "epoch": [0, 1],
                "train_loss": [1.0, 0.5],
                "val_loss": [1.1, 0.6],
                "val_dice": [0.2, 0.4],
                "val_iou": [0.1, 0.3],
                "lr": [0.1, 0.1],
            }
        ).to_csv(out / "curves" / f"{r['cell']}.csv", index=False)
    return out


def test_study_table_equals_pandas(tmp_path):
    cells = pd.read_csv(_summary(tmp_path) / "cells.csv")
    table = study_table(cells, ["opt-sgd", "baseline"])
    expected = cells.set_index("cell").loc[["opt-sgd", "baseline"], ["dice", "iou"]]
    assert table["cell"].tolist() == ["opt-sgd", "baseline"]
    assert table["dice"].tolist() == expected["dice"].tolist() and table["iou"].tolist() == expected["iou"].tolist()
    assert "optimizer.name" in table.columns and "seed" not in table.columns  # only what varies
    assert table["n"].tolist() == [1, 1] and table["test"].tolist() == ["n/a", "reference"]  # no per-image data


def test_markdown_and_latex(tmp_path):
    cells = pd.read_csv(_summary(tmp_path) / "cells.csv")
    table = study_table(cells, ["baseline", "opt-sgd", "opt-rms_50%"])
    md = to_markdown(table)
    assert "**0.657**" in md and "diverged" in md
    # best per metric column: Dice, NSD (shown instead of IoU, which is in the CSV), val. Dice
    assert "**0.740**" in md and "**0.650**" in md and md.count("**") == 6
    assert table["nsd"].tolist()[:2] == [0.74, 0.701] and "iou" in table
    tex = to_latex(table, "Optimizers & 100% of_data")
    assert all(rule in tex for rule in (r"\toprule", r"\midrule", r"\bottomrule"))
    # printed: the settings in words (not cell ids), the status of a failed row beside them
    assert r"\textbf{0.657}" in tex and r"rms\&prop, diverged" in tex and "resizebox" not in tex
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
    metrics = json.loads((tmp_path / "report/study_metrics.json").read_text())
    assert metrics["optimizer"]["opt-sgd"] == {"dice": 0.657, "n_ok": 1}
    assert metrics["optimizer"]["opt-rms_50%"] == {"dice": 0.0, "n_ok": 0}  # diverged: counted as 0
    assert "T &lt;&amp;&gt;" in page and "diverged" in page and "http" not in page
    for study in studies:
        for ext in ("csv", "md", "tex"):
            assert (tmp_path / "report/tables" / f"{study}.{ext}").exists()
    prov = json.loads((tmp_path / "report/provenance.json").read_text())
    assert len(prov["params_sha256"]) == 64 and "torch" in prov["packages"]


def test_seed_statistics_count_failed_seeds():
    from scipy import stats

    from segsweep.report.tables import seed_table

    cells = pd.DataFrame(
        {
            "cell": ["baseline", "seed-1", "seed-2", "opt-sgd", "seed-3"],
            "status": ["ok", "ok", "ok", "ok", "diverged"],
            "dice": [0.6, 0.7, 0.65, 0.5, None],
            "seed": [0, 1, 2, 0, 3],
            "params.seed": [0, 1, 2, 0, 3],
            "params.optimizer.name": ["adam", "adam", "adam", "sgd", "adam"],
        }
    )
    table = seed_table(cells)
    assert len(table) == 1  # opt-sgd has a single seed
    row = table.iloc[0]
    every = pd.Series([0.6, 0.7, 0.65, 0.0])  # the diverged seed counts as Dice 0
    assert row["n"] == 4 and row["n_ok"] == 3 and row["n_diverged"] == 1 and row["seeds"] == "0, 1, 2, 3"
    assert row["dice_mean"] == pytest.approx(every.mean()) and row["dice_std"] == pytest.approx(every.std(ddof=1))
    assert row["dice_ok"] == pytest.approx(0.65) and row["status"] == "1/4 diverged"
    # no per-image results: the t-interval over the 4 seed values, clipped to [0, 1]
    low, high = stats.t.interval(0.95, 3, every.mean(), every.std(ddof=1) / 2)
    assert row["ci95_low"] == pytest.approx(max(low, 0.0)) and row["ci95_high"] == pytest.approx(min(high, 1.0))


def test_seed_interval_stays_inside_zero_one():
    from segsweep.report.tables import seed_table

    # a t-interval over these two seeds is [0.083, 1.227]
    cells = pd.DataFrame(
        {
            "cell": ["a", "b"],
            "status": "ok",
            "dice": [0.61, 0.70],
            "seed": [0, 1],
            "params.seed": [0, 1],
            "params.optimizer.name": "adam",
        }
    )
    row = seed_table(cells).iloc[0]
    assert row["ci95_low"] == pytest.approx(0.0832, abs=1e-3) and row["ci95_high"] == 1.0


def test_plain_frames_are_booktabs_and_escaped():
    from segsweep.report.render import frame_latex, frame_markdown

    df = pd.DataFrame({"dice_mean": ["0.5"], "cells": ["a_b, 50% & c"]})
    tex = frame_latex(df)
    assert tex.startswith(r"\begin{tabular}{ll}") and r"\toprule" in tex and r"\bottomrule" in tex
    assert r"dice\_mean" in tex and r"a\_b, 50\% \& c" in tex
    assert frame_markdown(df).splitlines()[0] == "| dice_mean | cells |"


def _seeded_cells() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two optimizers x three seeds (one sgd seed diverged), and per-image Dice."""
    rows, images = [], []
    dice = {
        ("adam", 0): 0.70,
        ("adam", 1): 0.74,
        ("adam", 2): 0.72,
        ("sgd", 0): 0.60,
        ("sgd", 1): 0.62,
        ("sgd", 2): None,
    }
    for (opt, seed), d in dice.items():
        cell = ("baseline" if opt == "adam" else "opt-sgd") + (f"__seed-{seed}" if seed else "")
        rows.append(
            {
                "cell": cell,
                "status": "ok" if d is not None else "diverged",
                "dice": d,
                "iou": d and d - 0.1,
                "selected_epoch": 2 + seed,
                "val_dice": d,
                "seed": seed,
                "params.seed": seed,
                "params.optimizer.name": opt,
                "params.lr": 0.1,
            }
        )
        for i in range(6):
            if d is not None:
                images.append({"cell": cell, "case": f"c{i}", "dice": d + 0.01 * (i - 2.5)})
    return pd.DataFrame(rows), pd.DataFrame(images)


def test_seed_groups_count_failed_seeds_and_pair_every_seed():
    from scipy import stats

    cells, per_image = _seeded_cells()
    ids = cells["cell"].tolist()
    table = study_table(cells, ids, per_image)
    assert table["cell"].tolist() == ["baseline", "opt-sgd"] and table["n"].tolist() == [3, 3]
    assert "lr" not in table.columns and "seeds" in table.columns  # lr does not vary
    adam, sgd = pd.Series([0.70, 0.74, 0.72]), pd.Series([0.60, 0.62, 0.0])  # sgd seed 2 diverged: 0
    a, s = table.iloc[0], table.iloc[1]
    assert a["dice"] == pytest.approx(adam.mean()) and a["dice_std"] == pytest.approx(adam.std(ddof=1))
    assert 0 <= a["ci95_low"] < a["dice"] < a["ci95_high"] <= 1
    assert s["status"] == "1/3 diverged" and s["n_ok"] == 2
    assert s["dice"] == pytest.approx(sgd.mean()) and s["dice_ok"] == pytest.approx(0.61)  # headline: every seed
    assert s["iou"] == pytest.approx(np.mean([0.5, 0.52])) and s["selected_epoch"] == pytest.approx(2.5)
    # paired over all three seeds; the per-image differences of the diverged seed are -baseline's
    d = np.array([0.60 - 0.70, 0.62 - 0.74, -0.72])
    assert a["test"] == "reference" and s["test"] == "paired t, 3 seeds × 6 images"
    assert s["diff"] == pytest.approx(d.mean()) and s["p"] >= stats.ttest_1samp(d, 0.0).pvalue - 1e-12
    assert s["p_holm"] == s["p"] and s["verdict"] == "inconclusive" and s["p_improve"] == 0.0
    md = to_markdown(table)
    # a row with a failed seed is never bold; a lone ok row is not "best" either
    assert "**" not in md and "0.720 ± 0.020" in md and "inconclusive" in md and "−0.313 [" in md
    assert r"$\pm$" in to_latex(table, "t")


def test_a_failed_seed_keeps_a_row_out_of_bold():
    cells, _ = _seeded_cells()
    extra = cells[cells["params.optimizer.name"] == "adam"].copy()
    extra["cell"] = extra["cell"].str.replace("baseline", "opt-rms")
    extra["params.optimizer.name"] = "rmsprop"
    extra["dice"] = extra["dice"] - 0.01
    cells = pd.concat([cells, extra], ignore_index=True)
    md = to_markdown(study_table(cells, cells["cell"].tolist(), None))
    assert "**0.720 ± 0.020**" in md and "**0.407" not in md  # sgd (a diverged seed) is never bold


def test_verdicts_better_worse_equivalent_inconclusive():
    rows, images = [], []
    for name, shift in (("baseline", 0.0), ("better", 0.05), ("worse", -0.05), ("same", 0.0005), ("noisy", 0.0)):
        for seed in range(6):
            cell = name + (f"__seed-{seed}" if seed else "")
            wobble = 0.03 if name == "noisy" else 0.001
            d = 0.7 + shift + wobble * np.sin(seed * 7.0 + len(name))
            rows.append({"cell": cell, "status": "ok", "dice": d, "seed": seed, "params.seed": seed, "params.x": name})
            images += [{"cell": cell, "case": f"c{i}", "dice": d + 0.02 * (i - 4.5)} for i in range(10)]
    cells = pd.DataFrame(rows)
    table = study_table(cells, cells["cell"].tolist(), pd.DataFrame(images), margin=0.01)
    assert table.set_index("cell")["verdict"].to_dict() == {
        "baseline": "reference",
        "better": "better",
        "worse": "worse",
        "same": "equivalent",
        "noisy": "inconclusive",
    }
    assert table.set_index("cell").loc["better", "seeds_needed"] == 2  # a large, clean effect


def test_holm_runs_over_the_whole_family():
    from segsweep.report.verdicts import adjust_family

    cells, per_image = _seeded_cells()
    one = study_table(cells, cells["cell"].tolist(), per_image, adjust=False)
    alone = adjust_family([one], 0.05)[0]
    both = adjust_family([one, one], 0.05)
    assert both[0]["p_holm"].iloc[1] == pytest.approx(min(1.0, 2 * alone["p_holm"].iloc[1]))


def test_single_seed_rows_are_not_replicated():
    cells, per_image = _seeded_cells()
    one = cells[cells["seed"] == 0]
    table = study_table(one, one["cell"].tolist(), per_image)
    assert table["test"].tolist() == ["reference", "t over 6 test images, 1 seed"]
    assert table["diff"].iloc[1] == pytest.approx(0.60 - 0.70) and table["verdict"].iloc[1] == "not replicated"
    assert math.isnan(table["p"].iloc[1]) and table["significant"].iloc[1] is None
    assert "seeds" not in to_markdown(table).splitlines()[0]  # single-seed tables stay compact


def test_fraction_figure_only_when_the_study_varies_it(tmp_path):
    from segsweep.report.plots import fraction_figure

    cells, per_image = _seeded_cells()
    table = study_table(cells, cells["cell"].tolist(), per_image)
    assert not fraction_figure(table, "opt", tmp_path / "none")
    table["train_fraction"] = [0.8, 0.4]
    assert fraction_figure(table, "tf", tmp_path / "tf")
    assert (tmp_path / "tf.png").exists() and (tmp_path / "tf.pdf").exists()
    # issue 27: the no-learning reference is drawn where Dice is plotted against a factor
    from segsweep.report import plots

    drawn = {}
    real = plots.save
    plots.save = lambda fig, stem, caption=None: drawn.setdefault("fig", fig) and real(fig, stem, caption)
    try:
        assert fraction_figure(table, "tf", tmp_path / "tf_ref", thresholds=(0.758,))
    finally:
        plots.save = real
    lines = [ln for ln in drawn["fig"].axes[0].get_lines() if ln.get_label() == "grey threshold (no learning)"]
    assert len(lines) == 1 and list(lines[0].get_ydata()) == [0.758, 0.758]


def test_two_factor_study_gets_a_pivot_table():
    from segsweep.report.pivot import pivot_table
    from segsweep.report.render import frame_latex, frame_markdown

    rows = []
    for tf in (0.8, 0.4):
        for opt, mom, d in (("adam", 0.9, 0.7), ("sgd", 0.95, 0.8), ("rmsprop", 0.9, None)):
            rows.append(
                {
                    "cell": f"tf-{tf}__{opt}",
                    "status": "ok" if d else "diverged",
                    "dice": d and d - (tf < 0.5) / 10,
                    "iou": d,
                    "selected_epoch": 1,
                    "val_dice": d,
                    "seed": 0,
                    "params.seed": 0,
                    "params.train_fraction": tf,
                    "params.optimizer.name": opt,
                    "params.optimizer.momentum": mom,
                }
            )
    cells = pd.DataFrame(rows)
    table = study_table(cells, cells["cell"].tolist())
    assert pivot_table(table, ["train_fraction"]) is None and pivot_table(table, ["optimizer", "seed"]) is None
    frame, bold = pivot_table(table, ["train_fraction", "optimizer", "seed"])
    assert frame.columns.tolist() == ["train_fraction \\ optimizer", "adam", "sgd", "rmsprop"]
    assert frame.to_numpy().tolist() == [["0.8", "0.700", "0.800", "diverged"], ["0.4", "0.600", "0.700", "diverged"]]
    assert bold == {(0, 2)}  # tf 0.8, sgd
    assert "**0.800**" in frame_markdown(frame, bold) and r"\textbf{0.800}" in frame_latex(frame, bold)


def test_pivot_labels_tell_apart_settings_of_one_component():
    from segsweep.report.pivot import pivot_table

    rows = []
    for tf in (0.8, 0.4):
        for sched, gamma in (("step", 0.1), ("exponential", 0.97), ("exponential", 0.99)):
            rows.append(
                {
                    "cell": f"{tf}{sched}{gamma}",
                    "status": "ok",
                    "dice": gamma / 2,
                    "iou": 0.1,
                    "selected_epoch": 1,
                    "val_dice": 0.1,
                    "seed": 0,
                    "params.seed": 0,
                    "params.train_fraction": tf,
                    "params.scheduler.name": sched,
                    "params.scheduler.gamma": gamma,
                }
            )
    cells = pd.DataFrame(rows)
    frame, _ = pivot_table(study_table(cells, cells["cell"].tolist()), ["train_fraction", "scheduler"])
    assert frame.columns.tolist()[1:] == ["step", "exponential, gamma=0.97", "exponential, gamma=0.99"]


def test_parameter_values_are_not_rounded_like_metrics():
    cells = pd.DataFrame(
        {
            "cell": ["a", "b"],
            "status": ["ok", "ok"],
            "dice": [0.5, 0.6],
            "iou": [0.4, 0.5],
            "selected_epoch": [1, 2],
            "val_dice": [0.5, 0.6],
            "seed": [0, 0],
            "params.seed": [0, 0],
            "params.optimizer.weight_decay": [1e-4, 5e-4],
        }
    )
    md = to_markdown(study_table(cells, ["a", "b"]), decimals=3)
    assert "| a | 0.0001 |" in md and "| b | 0.0005 |" in md and "**0.600**" in md


def test_settings_a_component_does_not_take_are_not_shown_as_its_own():
    """Each cell records its own component's settings only (adam has no momentum): the
    blank is shown as IGNORED, never as a number or a missing value."""

    def cell(name, opt, lr=2e-3, **own):
        row = {
            "cell": name,
            "status": "ok",
            "dice": 0.5,
            "iou": 0.4,
            "selected_epoch": 1,
            "val_dice": 0.5,
            "seed": 0,
            "params.seed": 0,
            "params.optimizer.name": opt,
            "params.optimizer.lr": lr,
            "params.scheduler.name": "none",
        }
        return row | {f"params.optimizer.{k}": v for k, v in own.items()}

    cells = pd.DataFrame(
        [
            cell("baseline", "adam"),
            cell("sgd", "sgd", momentum=0.95, nesterov=False),
            cell("rms", "rmsprop", momentum=0.0, alpha=0.99),
            cell("adam-lr", "adam", lr=0.01),
        ]
    )
    table = study_table(cells, ["baseline", "sgd", "rms"])
    assert table["optimizer.momentum"].tolist() == [IGNORED, 0.95, 0.0]
    assert "optimizer.nesterov" not in table.columns  # one value where it exists
    md = to_markdown(table)
    assert "| baseline | adam | – |" in md and "| sgd | sgd | 0.95 |" in md
    # settings no row's component takes are no column at all
    table = study_table(cells, ["baseline", "adam-lr"])
    assert not {"optimizer.momentum", "optimizer.alpha"} & set(table.columns)
    assert table["optimizer.lr"].tolist() == [2e-3, 0.01]


def test_report_writes_the_pivot_in_the_declared_axis_order(tmp_path):
    out = tmp_path / "summary"
    (out / "curves").mkdir(parents=True)
    rows = [
        {
            "cell": f"tf{tf}_{opt}",
            "status": "ok",
            "dice": d,
            "iou": d,
            "selected_epoch": 1,
            "val_dice": d,
            "seed": 0,
            "params.seed": 0,
            "params.train_fraction": tf,
            "params.optimizer.name": opt,
        }
        for tf, opt, d in ((0.8, "adam", 0.7), (0.8, "sgd", 0.6), (0.4, "adam", 0.5), (0.4, "sgd", 0.4))
    ]
    pd.DataFrame(rows).to_csv(out / "cells.csv", index=False)
    for r in rows:
        pd.DataFrame({"epoch": [0], "train_loss": [1.0], "val_loss": [1.0], "val_dice": [0.5]}).to_csv(
            out / "curves" / f"{r['cell']}.csv", index=False
        )
    studies = {"tf_x_opt": [r["cell"] for r in rows]}
    build_report(
        Report(), "{}", studies, out, [], tmp_path / "report", axes={"tf_x_opt": ["train_fraction", "optimizer"]}
    )
    md = (tmp_path / "report/tables/tf_x_opt_pivot.md").read_text()
    assert md.splitlines()[0] == "| train_fraction \\ optimizer | adam | sgd |"
    assert (tmp_path / "report/figures/fraction_tf_x_opt.png").exists()
    assert (tmp_path / "report/index.html").read_text().count("<table>") == 3  # pivot, long table, provenance


def test_page_is_accessible_and_provenance_checkable(tmp_path):
    import hashlib

    summary = _summary(tmp_path)
    studies = {"optimizer": ["baseline", "opt-sgd", "opt-rms_50%"]}
    index = build_report(Report(), json.dumps({"x": 1}), studies, summary, [], tmp_path / "report")
    page = index.read_text()
    assert '<html lang="en">' in page and 'name="viewport"' in page
    assert page.count('<div class="scroll"') == page.count("<table>") and "<caption>" in page
    assert '<th scope="col">' in page
    for alt in re.findall(r'alt="([^"]*)"', page):  # alt text describes, it is not a file name
        assert len(alt.split()) >= 5 and not alt.endswith(".png"), alt
    assert 'href="tables/optimizer.csv"' in page and 'href="tables/optimizer.tex"' in page
    assert 'href="provenance.json"' in page
    prov = json.loads((tmp_path / "report/provenance.json").read_text())
    shipped = (tmp_path / "report/params.json").read_bytes()
    assert prov["params_sha256"] == hashlib.sha256(shipped).hexdigest()  # what `sha256sum params.json` prints
    assert isinstance(prov["git_dirty"], bool)


def test_top_rows_keep_the_reference_and_the_best_on_validation_in_table_order():
    table = pd.DataFrame(
        {
            "test": ["sign-flip", "reference", "sign-flip", "sign-flip", "sign-flip"],
            "val_dice": [0.5, 0.1, None, 0.9, 0.7],
            "dice": [0.99, 0.2, 0.99, 0.1, 0.3],  # test Dice never chooses
        }
    )
    assert top_rows(table, 3) == [1, 3, 4]
    assert top_rows(table, 5) == [0, 1, 2, 3, 4]
    assert top_rows(table, 4) == [0, 1, 3, 4]  # a row without validation Dice comes last


def test_a_large_study_shows_max_rows_rows_and_keeps_every_row_in_its_csv(tmp_path):
    out = tmp_path / "summary"
    (out / "curves").mkdir(parents=True)
    rows = [
        {
            "cell": f"lr{i}",
            "status": "ok",
            "dice": 0.5 + i / 100,
            "iou": 0.4,
            "selected_epoch": 1,
            "val_dice": 0.3 + i / 100,
            "seed": 0,
            "params.seed": 0,
            "params.optimizer.lr": 10.0**-i,
        }
        for i in range(8)
    ]
    pd.DataFrame(rows).to_csv(out / "cells.csv", index=False)
    for r in rows:
        pd.DataFrame({"epoch": [0], "train_loss": [1.0], "val_loss": [1.0], "val_dice": [0.5]}).to_csv(
            out / "curves" / f"{r['cell']}.csv", index=False
        )
    studies = {"lr": [r["cell"] for r in rows]}
    build_report(Report(max_rows=3, reference={"lr": "lr0"}), "{}", studies, out, [], tmp_path / "report")
    assert len(pd.read_csv(tmp_path / "report/tables/lr.csv")) == 8
    md = (tmp_path / "report/tables/lr.md").read_text()
    assert "| lr0 |" in md and "| lr7 |" in md and "| lr6 |" in md and "| lr5 |" not in md
    assert "Shown: 3 of 8 rows" in md
    assert set(json.loads((tmp_path / "report/study_metrics.json").read_text())["lr"]) == {"lr0", "lr6", "lr7"}


def test_a_per_image_view_and_the_median_beside_the_mean(tmp_path):
    """Issue 27: a mean ± std hid a tail of failed test images; the CSV gets the median
    image Dice and the page a figure with one point per test image."""
    cells, per_image = _seeded_cells()
    table = study_table(cells, cells["cell"].tolist(), per_image)
    # each image's Dice averaged over the scored seeds, then the median over images
    assert table["dice_median"].tolist() == pytest.approx([0.72, 0.61])
    out = tmp_path / "summary"
    (out / "curves").mkdir(parents=True)
    cells.to_csv(out / "cells.csv", index=False)
    per_image.to_csv(out / "per_image.csv", index=False)
    for cell in cells["cell"]:
        pd.DataFrame({"epoch": [0], "train_loss": [1.0], "val_loss": [1.0], "val_dice": [0.5]}).to_csv(
            out / "curves" / f"{cell}.csv", index=False
        )
    build_report(Report(), "{}", {"optimizer": cells["cell"].tolist()}, out, [], tmp_path / "report")
    assert (tmp_path / "report/figures/images_optimizer.pdf").exists()
    page = (tmp_path / "report/index.html").read_text()
    assert "test Dice per test image (n = 6 images" in page
    assert "<h2>Limitations</h2>" in page and "rests on 3 training seed(s) and" in page
    assert (tmp_path / "report/narrative.md").read_text().startswith("Limitations. Each row")
    csv = pd.read_csv(tmp_path / "report/tables/optimizer.csv")
    assert {"dice_median", "nsd", "hd95"} <= set(csv.columns)
