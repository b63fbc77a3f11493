"""Benchmark (of error rates, not speed): do the report's intervals and tests keep their
promises with few seeds?

Simulates per-image test Dice of a reference row and other rows, every seed scored on
the same test images, with known effects and realistic variance:

    dice[row, seed, image] = clip(mu_row + image + row x image + shared seed + seed
                                  + seed x image residual, 0, 1)

seed sd 0.005-0.05 (the training run), image sd 0.05-0.2 (how hard an image is),
row x image interaction 0.3 x image sd (a setting helps some images more), residual
0.5 x image sd, 3-10 seeds, 30-100 images, and scenarios where a seed fails (collapsed
at a Dice of 0.1 on every image, p = 0.1 per seed and row). Each replicate draws new
seeds *and* new test images, so an interval must cover the difference over the image
population, not only over this test set.

Every replicate goes through the report's own code (``segsweep.report.tables.study_table``
on a cells table and a per-image table, as ``segsweep report`` builds them), then
``segsweep.report.verdicts.adjust_family`` over the page's family (``--rows`` rows
compared with one reference). Printed per scenario: the false-positive rate of a
comparison under the null (no effect), the family-wise rate after Holm, the coverage of
the 95 % difference intervals (null and effect 0.03) and how often an effect of 0.03 is
called (power); TOST's rate of calling "equivalent" when the truth sits on the margin.
The last lines are the worst case over the scenarios:

    false_positive_rate 0.0xx      (highest; target <= 0.05 + Monte Carlo error)
    familywise_false_positive_rate 0.0xx
    coverage 0.9xx                 (lowest; target 0.93-0.97)

    python benchmarks/stats_calibration.py [--reps 200] [--rows 3] [--seed 0] [--smoke] [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import math
import time

import numpy as np
import pandas as pd
from _common import parse_args, write_json
from scipy import optimize, stats

from segsweep.report.tables import study_table
from segsweep.report.verdicts import adjust_family

MU, INTER, RESID, FAILED_DICE, MARGIN, EFFECT = 0.75, 0.3, 0.5, 0.1, 0.01, 0.03
SEEDS, IMAGES, SEED_SD, IMAGE_SD = (3, 10), (30, 100), (0.005, 0.05), (0.05, 0.2)


def scenarios(smoke: bool) -> list[dict]:
    """The factorial grid of seeds x images x seed sd x image sd without failures, and
    four with failed seeds."""
    grid = [
        {"seeds": s, "images": i, "seed_sd": a, "image_sd": b, "fail": 0.0}
        for s, i, a, b in itertools.product(SEEDS, IMAGES, SEED_SD, IMAGE_SD)
    ]
    grid += [{"seeds": s, "images": 30, "seed_sd": 0.02, "image_sd": 0.1, "fail": 0.1} for s in (3, 5, 10)]
    return grid[:3] + grid[-1:] if smoke else grid


def truth(shift: float, sc: dict) -> float:
    """The population difference E[dice | row] - E[dice | reference] (clipping and
    failures included), by quadrature over the normal sum of the effects."""
    sd = math.sqrt(sc["image_sd"] ** 2 * (1 + INTER**2 + RESID**2) + 1.25 * sc["seed_sd"] ** 2)
    x = np.linspace(-8, 8, 4001)
    w = stats.norm.pdf(x)
    w /= w.sum()

    def mean(m: float) -> float:
        return float((np.clip(m + sd * x, 0, 1) * w).sum())

    return (1 - sc["fail"]) * (mean(MU + shift) - mean(MU))


def shift_for(target: float, sc: dict) -> float:
    """The row shift whose population difference is exactly ``target``."""
    if target == 0:
        return 0.0
    return float(optimize.brentq(lambda s: truth(s, sc) - target, 0, 5 * target + 0.1))


def draw(sc: dict, shifts: list[float], rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One study: the reference row and one row per shift, as ``cells.csv`` and
    ``per_image.csv`` would hold them (failed seeds ``collapsed``)."""
    s, i = sc["seeds"], sc["images"]
    image = rng.normal(0, sc["image_sd"], i)
    shared = rng.normal(0, sc["seed_sd"] * 0.5, s)  # a seed's init and batch order, common to rows
    rows, images = [], []
    for r, shift in enumerate([0.0, *shifts]):
        y = MU + shift + image + rng.normal(0, INTER * sc["image_sd"], i)
        y = y[None, :] + (shared + rng.normal(0, sc["seed_sd"], s))[:, None]
        y = np.clip(y + rng.normal(0, RESID * sc["image_sd"], (s, i)), 0, 1)
        failed = rng.random(s) < sc["fail"]
        y[failed] = FAILED_DICE
        for k in range(s):
            cell = ("baseline" if r == 0 else f"row{r}") + (f"__seed-{k}" if k else "")
            status = "collapsed" if failed[k] else "ok"
            rows.append({"cell": cell, "status": status, "dice": y[k].mean(), "seed": k, "params.row": r})
            images.append(pd.DataFrame({"cell": cell, "case": np.arange(i), "dice": y[k]}))
    cells = pd.DataFrame(rows).assign(**{"params.seed": lambda f: f["seed"]})
    return cells, pd.concat(images, ignore_index=True)


def run_scenario(sc: dict, reps: int, n_rows: int, rng: np.random.Generator) -> dict:
    """Error rates of one scenario over ``reps`` null studies, ``reps`` with an effect of
    ``EFFECT`` on every row, and ``reps`` with the truth on the equivalence margin."""
    counts = dict.fromkeys(("fp", "fwer", "cover", "n", "power", "n_eff", "equiv_at_margin", "n_margin"), 0)
    for kind, target in (("null", 0.0), ("effect", EFFECT), ("margin", MARGIN)):
        shift, true = shift_for(target, sc), target
        for _ in range(reps):
            cells, per_image = draw(sc, [shift] * n_rows, rng)
            table = study_table(cells, cells["cell"].tolist(), per_image, margin=MARGIN, adjust=False)
            table = adjust_family([table], 0.05, plan=False)[0].iloc[1:]
            low, high = table["diff_ci95_low"].to_numpy(), table["diff_ci95_high"].to_numpy()
            if kind == "margin":
                counts["equiv_at_margin"] += int(table["equivalent"].astype(bool).sum())
                counts["n_margin"] += n_rows
                continue
            counts["cover"] += int(((low <= true) & (true <= high)).sum())
            counts["n"] += n_rows
            called = table["p"].to_numpy() < 0.05
            if kind == "null":
                counts["fp"] += int(called.sum())
                counts["fwer"] += int(table["significant"].astype(bool).any())
            else:
                counts["power"] += int(table["significant"].astype(bool).sum())
                counts["n_eff"] += n_rows
    return {
        **sc,
        "false_positive_rate": counts["fp"] / (reps * n_rows),
        "familywise_false_positive_rate": counts["fwer"] / reps,
        "coverage": counts["cover"] / counts["n"],
        "power_at_0.03": counts["power"] / counts["n_eff"],
        "equivalent_at_margin": counts["equiv_at_margin"] / counts["n_margin"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200, help="simulated studies per scenario and truth")
    ap.add_argument("--rows", type=int, default=3, help="rows compared with the reference (the Holm family)")
    ap.add_argument("--seed", type=int, default=0)
    args = parse_args(ap, {"reps": 8})
    rng = np.random.default_rng(args.seed)
    start, results = time.perf_counter(), []
    print(f"{'seeds':>5} {'images':>6} {'seed_sd':>7} {'image_sd':>8} {'fail':>4}  fpr   fwer  cover power equiv@m")
    for sc in scenarios(args.smoke):
        r = run_scenario(sc, args.reps, args.rows, rng)
        results.append(r)
        print(
            f"{sc['seeds']:>5} {sc['images']:>6} {sc['seed_sd']:>7} {sc['image_sd']:>8} {sc['fail']:>4}  "
            f"{r['false_positive_rate']:.3f} {r['familywise_false_positive_rate']:.3f} {r['coverage']:.3f} "
            f"{r['power_at_0.03']:.3f} {r['equivalent_at_margin']:.3f}",
            flush=True,
        )
    mc = math.sqrt(0.05 * 0.95 / (args.reps * args.rows))
    worst = {
        "false_positive_rate": max(r["false_positive_rate"] for r in results),
        "familywise_false_positive_rate": max(r["familywise_false_positive_rate"] for r in results),
        "equivalent_at_margin": max(r["equivalent_at_margin"] for r in results),
        "coverage_max": max(r["coverage"] for r in results),
        "coverage": min(r["coverage"] for r in results),
    }
    print(
        f"({args.reps} studies per scenario and truth, {args.rows} rows each; Monte Carlo sd of a 0.05 rate "
        f"{mc:.3f}; {time.perf_counter() - start:.0f} s)"
    )
    print(f"equivalent_at_margin {worst['equivalent_at_margin']:.3f}")
    print(f"coverage_range {worst['coverage']:.3f}-{worst['coverage_max']:.3f}")
    print(f"false_positive_rate {worst['false_positive_rate']:.3f}")
    print(f"familywise_false_positive_rate {worst['familywise_false_positive_rate']:.3f}")
    print(f"coverage {worst['coverage']:.3f}")
    write_json(args.json, {"worst": worst, "scenarios": results, "monte_carlo_sd": mc}, args)


if __name__ == "__main__":
    main()
