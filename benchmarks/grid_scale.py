"""Cost against grid size, in a temporary copy of the repo (nothing is written here).

Planning: `snakemake -n` and `segsweep grid` on grids of about 100, 1,000 and 10,000
cells. Prints the time of each (median of --reps), the ratio 10k / 1k, and the exponent
b of a fit t ≈ a · cells^b (b = 1: linear).

After training: `segsweep summarize` and `segsweep report` on the largest grid, on
made-up results (a metrics.json, per-image Dice and a 10-epoch history per cell, in the
schema `segsweep train` writes; no network is trained). Prints their times and the
report's size.

    python benchmarks/grid_scale.py [--sizes 100 1000 10000] [--reps 3] [--no-post] [--smoke] [--json PATH]

The grids are full products in one study-less `grid.axes` (learning rate × weight decay)
replicated over `grid.seeds`, on the default params otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from _common import parse_args, write_json

REPO = Path(__file__).resolve().parents[1]
SMOKE = {"sizes": [8, 27], "reps": 1}


def grid_for(n: int) -> dict:
    """``grid`` with about ``n`` cells: lr × weight_decay × seeds, near-cubic."""
    side = max(2, round(n ** (1 / 3)))
    seeds = max(1, round(n / side / side))
    return {
        "seeds": list(range(seeds)),
        "studies": {},
        "axes": {
            "lr": [float(f"{x:.6g}") for x in np.geomspace(1e-4, 1e-1, side)],
            "weight_decay": [float(f"{x:.6g}") for x in np.geomspace(1e-6, 1e-2, side)],
        },
    }


def copy_repo(dst: Path) -> None:
    for name in ("Snakefile", "dvc.yaml", "params.yaml"):
        shutil.copy(REPO / name, dst / name)
    for name in ("workflow", "src"):
        shutil.copytree(REPO / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))


def timed(cmd: list[str], cwd: Path, reps: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(reps):
        t0 = time.perf_counter()
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
        out = res.stdout
    return statistics.median(times), out


def fake_results(root: Path, cells: dict, n_images: int = 20, epochs: int = 10) -> None:
    """results/cells/<cell>/{metrics.json, history.csv} for every cell: test Dice a smooth
    function of log lr and log weight decay plus seed noise, as `segsweep train` lays them
    out (only the fields summarize and the report read)."""
    rng = np.random.default_rng(0)
    cases = [f"case{i:03d}" for i in range(n_images)]
    for cell, cfg in cells.items():
        lr, wd = cfg.optimizer.lr, max(cfg.optimizer.weight_decay, 1e-6)  # (the baseline has none)
        mean = 0.8 - 0.02 * (math.log10(lr) + 2.5) ** 2 - 0.005 * (math.log10(wd) + 4) ** 2
        per_image = np.clip(mean + rng.normal(0, 0.05, n_images) + rng.normal(0, 0.01), 0, 1)
        folder = root / "results/cells" / cell
        folder.mkdir(parents=True)
        val = float(np.clip(mean + rng.normal(0, 0.02), 0, 1))
        params = cfg.model_dump(mode="json")
        metrics = {
            "cell": cell,
            "status": "ok",
            "seed": cfg.seed,
            "params": params,
            "ndim": 2,
            "dice": float(per_image.mean()),
            "iou": float(per_image.mean()) * 0.9,
            "empty_correct": 1.0,
            "selected_epoch": epochs - 1,
            "selection": "last_k",
            "val_dice": val,
            "final_val_dice": val,
            "best_val_epoch": epochs - 1,
            "n_test_images": n_images,
            "n_test_scored": n_images,
            "n_test_empty": 0,
            "n_test_constant": 0,
            "n_val_images": 10,
            "n_train_cases": 40,
            "epochs_run": epochs,
            "steps_run": 10 * epochs,
            "test_cases": cases,
            "per_image_dice": [float(x) for x in per_image],
        }
        (folder / "metrics.json").write_text(json.dumps(metrics))
        t = np.arange(epochs)
        history = "epoch,steps,train_loss,val_loss,val_dice,val_iou,lr\n" + "".join(
            f"{e},{10 * (e + 1)},{1 / (e + 1):.4f},{1.1 / (e + 1):.4f},{val * (1 - 0.5 ** (e + 1)):.4f},"
            f"{0.9 * val * (1 - 0.5 ** (e + 1)):.4f},{lr}\n"
            for e in t
        )
        (folder / "history.csv").write_text(history)


def post_training(root: Path) -> list[tuple[str, float]]:
    """summarize and report (timed, once each) on made-up results for the current params."""
    sys.path.insert(0, str(root / "src"))
    from segsweep.grid import expand
    from segsweep.study import validate_params

    P = validate_params(yaml.safe_load((root / "params.yaml").read_text()), source="params.yaml")
    cells, studies = expand(P.train, P.grid)
    fake_results(root, cells)
    (root / "results/grid.json").write_text(json.dumps({"cells": list(cells), "studies": studies}))
    (root / "results/params.json").write_text(P.model_dump_json())
    py = [sys.executable, "-m", "segsweep"]
    summarize = [
        *py,
        "summarize",
        "--grid",
        "results/grid.json",
        "--cells",
        "results/cells",
        "--out",
        "results/summary",
    ]
    axes = json.dumps({s: list(a) for s, a in P.grid.studies.items()})
    report = [
        *py,
        "report",
        "--params",
        "params.yaml",
        "--grid",
        "results/grid.json",
        "--summary",
        "results/summary",
        "--params-json",
        "results/params.json",
        "--axes",
        axes,
        "--out",
        "results/report",
    ]
    out = []
    for name, cmd in (("segsweep summarize", summarize), ("segsweep report", report)):
        t, _ = timed(cmd, root, 1)
        out.append((name, t))
    size = sum(f.stat().st_size for f in (root / "results/report").rglob("*") if f.is_file())
    out.append(("report size (MB)", size / 1e6))
    return out


def plan(root: Path, base: dict, n: int, reps: int) -> tuple[int, float, float]:
    """(cells, ``snakemake -n`` seconds, ``segsweep grid`` seconds) for a grid of about ``n``."""
    params = {**base, "grid": grid_for(n)}
    # the probes and landscapes name cells of the default studies: keep the baseline
    params["probe"] = {
        **base["probe"],
        "cells": ["baseline"],
        "dynamics": {**base["probe"].get("dynamics", {}), "studies": []},
    }
    params["landscape"] = {**base["landscape"], "cells": ["baseline"]}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    t_grid, ids = timed([sys.executable, "-m", "segsweep", "grid"], root, reps)
    cells = len(ids.split())
    t_dry, _ = timed([sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--quiet", "all"], root, reps)
    print(f"{cells:>6} cells: snakemake -n {t_dry:7.2f} s   segsweep grid {t_grid:6.2f} s", flush=True)
    return cells, t_dry, t_grid


def scaling(rows: list[tuple[int, float, float]]) -> dict[str, dict[str, float]]:
    """Per command: the fitted exponent b of t ≈ a · cells^b and the last-to-previous ratios."""
    out = {}
    x = np.log([r[0] for r in rows])
    for i, name in ((1, "snakemake -n"), (2, "segsweep grid")):
        b = float(np.polyfit(x, np.log([r[i] for r in rows]), 1)[0])
        big = rows[-1][i] / rows[-2][i]
        cells = rows[-1][0] / rows[-2][0]
        print(
            f"{name}: exponent {b:.2f}; {rows[-1][0]} / {rows[-2][0]} cells: "
            f"{big:.1f}x the time for {cells:.1f}x the cells"
        )
        out[name] = {"exponent": b, "time_ratio": big, "cells_ratio": cells}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-post", action="store_true", help="skip summarize and report on made-up results")
    args = parse_args(ap, SMOKE)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        copy_repo(root)
        base = yaml.safe_load((root / "params.yaml").read_text())
        rows = [plan(root, base, n, args.reps) for n in args.sizes]
        post = [] if args.no_post else post_training(root)
    for name, value in post:
        print(f"{rows[-1][0]} cells: {name} {value:7.2f}" + ("" if "MB" in name else " s"), flush=True)
    fit = scaling(rows) if len(rows) > 1 else {}
    if not math.isfinite(rows[-1][1]):
        raise SystemExit(1)
    results = {
        "planning": [{"cells": c, "snakemake_n_s": d, "segsweep_grid_s": g} for c, d, g in rows],
        "post_training": {name: value for name, value in post},
        "scaling": fit,
    }
    write_json(args.json, results, args)


if __name__ == "__main__":
    main()
