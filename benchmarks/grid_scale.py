"""Planning cost against grid size: `snakemake -n` and `segsweep grid` on grids of about
100, 1,000 and 10,000 cells, in a temporary copy of the repo (nothing runs, nothing is
written here). Prints the time of each (median of --reps), the ratio 10k / 1k, and the
exponent b of a fit t ≈ a · cells^b (b = 1: linear).

    python benchmarks/grid_scale.py [--sizes 100 1000 10000] [--reps 3]

The grids are full products in one study-less `grid.axes` (learning rate × weight decay)
replicated over `grid.seeds`, on the default params otherwise.
"""

from __future__ import annotations

import argparse
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

REPO = Path(__file__).resolve().parents[1]


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        copy_repo(root)
        base = yaml.safe_load((root / "params.yaml").read_text())
        for n in args.sizes:
            params = {**base, "grid": grid_for(n)}
            # the probes and landscapes name cells of the default studies: keep the baseline
            params["probe"] = {
                **base["probe"],
                "cells": ["baseline"],
                "dynamics": {**base["probe"].get("dynamics", {}), "studies": []},
            }
            params["landscape"] = {**base["landscape"], "cells": ["baseline"]}
            (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
            t_grid, ids = timed([sys.executable, "-m", "segsweep", "grid"], root, args.reps)
            cells = len(ids.split())
            t_dry, _ = timed(
                [sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--quiet", "all"], root, args.reps
            )
            rows.append((cells, t_dry, t_grid))
            print(f"{cells:>6} cells: snakemake -n {t_dry:7.2f} s   segsweep grid {t_grid:6.2f} s", flush=True)
    if len(rows) > 1:
        x = np.log([r[0] for r in rows])
        for i, name in ((1, "snakemake -n"), (2, "segsweep grid")):
            b = float(np.polyfit(x, np.log([r[i] for r in rows]), 1)[0])
            big = rows[-1][i] / rows[-2][i]
            print(
                f"{name}: exponent {b:.2f}; {rows[-1][0]} / {rows[-2][0]} cells: "
                f"{big:.1f}x the time for {rows[-1][0] / rows[-2][0]:.1f}x the cells"
            )
    if not math.isfinite(rows[-1][1]):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
