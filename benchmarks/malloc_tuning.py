"""Benchmark: what ``segsweep.runtime.tune_malloc`` (applied by every ``segsweep`` verb)
buys, for U-Net training steps and landscape points.

The setting is process-wide and cannot be undone inside a process (glibc's dynamic
mmap threshold stays off once set), so unlike the other benchmarks the two sides run
in child processes of this script, alternately: one with ``SEGSWEEP_MALLOC=default``
(glibc's behaviour), one with the tuned settings; each child builds the same model and
data from seed 0 and times

- training: optimizer steps of the default U-Net (Adam, the default loss, batch 16 of
  3 x 64², the default thread count), after warm-up steps;
- landscape: ``evaluate_fast`` on a 2D grid (the setup of ``landscape_speed.py``);

and reports the minor page faults per step / point and a checksum of the numbers (the
tuned side must compute exactly the same values). Medians over ``--reps`` pairs; the
last line is ``<tuned / default training steps per second>x``.

    python benchmarks/malloc_tuning.py [--reps 5] [--steps 20] [--grid 5] [--threads 2] [--smoke] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

from _common import parse_args, run_child, write_json

SMOKE = {"reps": 1, "steps": 2, "grid": 2, "batch_size": 2, "size": 32}


def child(args) -> dict:
    from segsweep.runtime import tune_malloc

    tuned = tune_malloc()
    import torch

    from segsweep.config import ModelCfg, loss_cfg, optim_cfg
    from segsweep.landscape.directions import random_direction
    from segsweep.landscape.evaluate import split_state
    from segsweep.landscape.fast import evaluate_fast
    from segsweep.losses import build_loss
    from segsweep.models import build_model
    from segsweep.optim import build_optimizer

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(ModelCfg(), 2, 3)
    opt = build_optimizer(optim_cfg(), model.parameters())
    loss_fn = build_loss(loss_cfg(), "softmax")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch_size, 3, args.size, args.size, generator=g)
    y = (torch.rand(args.batch_size, 1, args.size, args.size, generator=g) > 0.8).long()

    def faults() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    def step() -> float:
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    for _ in range(3):
        step()
    f0, t0 = faults(), time.perf_counter()
    losses = [step() for _ in range(args.steps)]
    train_s, train_f = time.perf_counter() - t0, faults() - f0

    model.eval()
    params, buffers = split_state(model)
    dirs = [random_direction(params, s) for s in (1, 2)]
    a = torch.linspace(-1, 1, args.grid)
    coords = torch.cartesian_prod(a, a)
    batches = [(x, y), (x.flip(-1), y.flip(-1))]
    evaluate_fast(model, loss_fn, batches, params, dirs, coords[:2], buffers)  # warm-up
    f0, t0 = faults(), time.perf_counter()
    land_loss, land_dice = evaluate_fast(model, loss_fn, batches, params, dirs, coords, buffers)
    land_s, land_f = time.perf_counter() - t0, faults() - f0
    return {
        "tuned": tuned,
        "train_steps_per_s": args.steps / train_s,
        "train_faults_per_step": train_f / args.steps,
        "points_per_s": len(coords) / land_s,
        "faults_per_point": land_f / len(coords),
        "checksum": [sum(losses), float(land_loss.sum()), float(land_dice.sum())],
    }


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20, help="timed training steps per child")
    ap.add_argument("--grid", type=int, default=5, help="landscape grid points per axis")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--size", type=int, default=64, help="image side")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parse_args(ap, SMOKE)


def run_pairs(args) -> dict[str, list[dict]]:
    """``--reps`` pairs of children, default then tuned, alternating (so drift in the
    machine's load hits both sides alike)."""
    runs: dict[str, list[dict]] = {"default": [], "tuned": []}
    cmd = [sys.executable, __file__, "--child"]
    for opt in ("steps", "grid", "threads", "batch_size", "size"):
        cmd += [f"--{opt.replace('_', '-')}", str(getattr(args, opt))]
    for _ in range(args.reps):
        for mode, results in runs.items():
            env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | {"SEGSWEEP_MALLOC": mode}
            results.append(run_child(cmd, env))
    return runs


def main() -> None:
    args = parse()
    if args.child:
        print(json.dumps(child(args)))
        return
    runs = run_pairs(args)
    if not all(r["tuned"] for r in runs["tuned"]):
        sys.exit("error: tune_malloc() did not apply here (not glibc?): nothing to compare")
    sums = {json.dumps(r["checksum"]) for rs in runs.values() for r in rs}
    print(f"numbers identical in all {2 * args.reps} children: {len(sums) == 1}")
    med = {
        m: {k: statistics.median(r[k] for r in rs) for k in rs[0] if k not in ("tuned", "checksum")}
        for m, rs in runs.items()
    }
    for m, v in med.items():
        print(
            f"{m:8s} train {v['train_steps_per_s']:6.2f} steps/s ({v['train_faults_per_step']:7.0f} faults/step)   "
            f"landscape {v['points_per_s']:6.2f} points/s ({v['faults_per_point']:6.0f} faults/point)"
        )
    ratio = {k: med["tuned"][k] / med["default"][k] for k in ("train_steps_per_s", "points_per_s")}
    print(f"tuned / default: landscape {ratio['points_per_s']:.2f}x")
    print(f"{ratio['train_steps_per_s']:.2f}x")
    write_json(args.json, {"identical_numbers": len(sums) == 1, "medians": med, "tuned_over_default": ratio}, args)


if __name__ == "__main__":
    main()
