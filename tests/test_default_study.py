"""The default study's conclusions are real: the positive controls of the evaluation
protocol hold in the report that README command (1) produces (slow: the whole default
run, ~10 min on 2 cores)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e


def _tables(repo) -> dict[str, pd.DataFrame]:
    return {
        p.stem: pd.read_csv(p)
        for p in sorted((repo / "results/report/tables").glob("*.csv"))
        if not p.stem.endswith("_pivot") and p.stem not in ("seeds", "datasets")
    }


def test_every_row_is_replicated_and_scored_on_one_test_set(default_run):
    tables = _tables(default_run)
    assert set(tables) == {"optimizer", "scheduler", "loss", "train_fraction", "norm"}
    sizes = set()
    for study, t in tables.items():
        cells = t[t["test"] != "threshold"]
        assert (cells["n_seeds"] >= 3).all(), study
        assert {"selection", "n_ok", "n_diverged", "n_collapsed", "n_test_images"} <= set(t.columns)
        assert set(cells["selection"]) == {"last_k"}  # params.yaml: the average of the last 3 epochs
        sizes |= set(t["n_test_images"])
    assert len(sizes) == 1 and sizes.pop() >= 30  # identical across every row of every table
    base = {study: t[t["cell"] == "baseline"].iloc[0] for study, t in tables.items()}
    assert len({(round(r["dice"], 9), r["n_seeds"]) for r in base.values()}) == 1, "'baseline' differs between tables"


def test_positive_controls(default_run):
    tables = _tables(default_run)
    tf = tables["train_fraction"].set_index("train_fraction")
    spread = max(tf.loc[1.0, "dice_std"], tf.loc[0.05, "dice_std"])
    assert tf.loc[0.05, "dice"] < tf.loc[1.0, "dice"] - spread, "Dice must fall with the train fraction"
    sched = tables["scheduler"]
    sched = sched[sched["test"] != "threshold"]
    assert sched["dice"].round(6).nunique() == len(sched), "the scheduler rows must differ"
    baseline = tables["optimizer"].set_index("cell").loc["baseline"]
    assert baseline["dice_std"] <= 0.02 and baseline["n_ok"] >= 3
    reference = tables["optimizer"].set_index("test").loc["threshold"]
    assert baseline["dice"] > reference["dice"] + 0.1, "a U-Net must clearly beat one global threshold"
    cells = pd.read_csv(default_run / "results/summary/cells.csv")
    assert (cells["selected_epoch"].dropna() > 0).all()
    ok = cells[cells["status"] == "ok"]
    assert (ok["n_test_constant"] < ok["n_test_images"]).all(), "a collapsed cell reported as ok"
    for cell in cells["cell"]:  # the status follows from the predictions, whatever the table says
        m = json.loads((default_run / "results/cells" / cell / "metrics.json").read_text())
        dead = m["n_test_constant"] == m["n_test_images"] or m["identical_predictions"]
        assert (m["status"] == "collapsed") == dead or m["status"] == "diverged"


def test_report_figures_fit_a_paper_and_a_page(default_run):
    """Every figure the run drew is 3.5 or 7 in wide with text >= 7 pt, with no text on
    other text, a legend or repeated ticks (segsweep.figures logs a warning otherwise),
    and no report PNG is over 600 KB."""
    warned = [
        f"{log.name}: {line}"
        for log in (default_run / "logs").rglob("*.log")
        for line in log.read_text().splitlines()
        if "segsweep.figures" in line
    ]
    assert warned == []
    # and read back as printed: no text span over another in any PDF figure (issue 27)
    from tests.pdf_text import colliding_spans

    pdfs = sorted((default_run / "results/report/figures").glob("*.pdf"))
    assert pdfs and {p.name: colliding_spans(p) for p in pdfs if colliding_spans(p)} == {}
    pngs = list((default_run / "results/report/figures").glob("*.png"))
    assert pngs and max(p.stat().st_size for p in pngs) <= 600_000, max((p.stat().st_size, p.name) for p in pngs)
    page = (default_run / "results/report/index.html").read_text()
    assert "<h2>Datasets</h2>" in page
    import re

    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    assert len(captions) >= 10 and all(re.search(r"\d", c) for c in captions), captions  # every one states its n
    assert "date" in json.loads((default_run / "results/report/provenance.json").read_text())


def _per_seed_dice(repo) -> pd.DataFrame:
    """Every cell's test Dice recomputed from its own metrics.json (a diverged cell as 0,
    as the report counts it), with its params: the reviewer's independent table."""
    rows = []
    for path in sorted((repo / "results/cells").glob("*/metrics.json")):
        m = json.loads(path.read_text())
        scored = [d for d in m["per_image_dice"] if d is not None and d == d]  # null or NaN: an empty reference
        dice = 0.0 if m["status"] == "diverged" else sum(scored) / len(scored)
        params = {k: json.dumps(v, sort_keys=True) for k, v in m["params"].items() if k not in ("seed", "split_seed")}
        rows.append({"cell": m["cell"], "seed": m["seed"], "status": m["status"], "dice": dice, "key": str(params)})
    return pd.DataFrame(rows)


def test_conclusions_survive_an_independent_recomputation(default_run):
    """Issue 25's review, redone from metrics.json with scipy: intervals no narrower than
    0.8x the paired seed-level t-interval, nothing significant whose t-interval covers
    0, headline means over all seeds, no bold row with a failed seed, budgets stated."""
    from scipy import stats

    cells = _per_seed_dice(default_run)
    row_of = {c: k for c, k in zip(cells["cell"], cells["key"])}
    significant = 0
    for study, t in _tables(default_run).items():
        t = t[t["test"] != "threshold"]
        ref = cells[cells["key"] == row_of[t.loc[t["test"] == "reference", "cell"].iloc[0]]].set_index("seed")
        md = (default_run / "results/report/tables" / f"{study}.md").read_text()
        assert "Budget: 100 optimizer steps per cell" in md, study
        for _, r in t.iterrows():
            mine = cells[cells["key"] == row_of[r["cell"]]].set_index("seed")
            assert r["dice"] == pytest.approx(mine["dice"].mean(), abs=1e-9), (study, r["cell"])
            line = next(x for x in md.splitlines() if x.startswith(f"| {r['cell']} |"))
            assert (mine["status"] == "ok").all() or "**" not in line, (study, line)
            if r["test"] == "reference":
                continue
            d = (mine["dice"] - ref["dice"]).dropna().to_numpy()
            low, high = stats.t.interval(0.95, len(d) - 1, d.mean(), d.std(ddof=1) / len(d) ** 0.5)
            assert r["diff"] == pytest.approx(d.mean(), abs=1e-9)
            width = r["diff_ci95_high"] - r["diff_ci95_low"]
            assert width >= 0.8 * (min(high, 1.0) - max(low, -1.0)), (study, r["cell"], width, low, high)
            if r["verdict"] in ("better", "worse"):
                significant += 1
                assert low > 0 or high < 0, (study, r["cell"], low, high)
    assert significant >= 2, "the default study's large effects must come out significant after Holm"
