"""Benchmark: the cluster requests of segsweep.cluster against measured training jobs.

For a few cells (2D and 3D, batch, width, depth, evaluation image), a child process
imports what a training job imports (torch, MONAI), builds the U-Net, runs Adam steps on
random patches (one torch thread, as a cell with ``train.threads: 1``), then one no-grad
evaluation forward (whole image, or windows of the patch size for 3D sliding-window
inference), and reports its peak RSS (``ru_maxrss``) and the median seconds per step.
Each line prints the estimate (no margin, no floor) beside the measurement and their
ratio; the requests add
``cluster.memory_margin`` (1.5) and ``runtime_margin`` (2) on top. An estimate below
its measurement is flagged ``UNDER``.

    python benchmarks/cluster_estimates.py [--steps 6] [--smoke] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import sys
import time

from _common import parse_args, run_child, write_json

# ndim, channels, batch, width, depth, patch side, evaluation image side, inference
CASES = [
    (2, 3, 16, 8, 4, 64, 128, "whole"),  # the default study's cell
    (2, 3, 32, 8, 4, 64, 128, "whole"),
    (2, 3, 16, 16, 4, 64, 128, "whole"),
    (2, 3, 16, 8, 4, 128, 512, "whole"),
    (3, 1, 2, 8, 3, 32, 64, "whole"),
    (3, 1, 4, 8, 3, 32, 96, "whole"),
    (3, 1, 2, 16, 4, 32, 64, "whole"),
    (3, 1, 2, 8, 4, 32, 128, "sliding_window"),
]
# --smoke: one tiny 2D case with whole-image and one 3D with sliding-window evaluation
SMOKE_CASES = [(2, 3, 2, 4, 2, 32, 64, "whole"), (3, 1, 1, 4, 2, 16, 32, "sliding_window")]


def _child(case: list, steps: int) -> None:
    import torch

    import segsweep.train.loop  # noqa: F401  (what a training job imports: torch, MONAI, ...)
    from segsweep.models.unet import UNet

    ndim, channels, batch, width, depth, side, eval_side, inference = case
    torch.set_num_threads(1)
    model = UNet(ndim, channels, depth=depth, base_filters=width)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.randn(batch, channels, *[side] * ndim)
    y = torch.randint(0, 2, (batch, *[side] * ndim))
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    model.eval()
    image = torch.randn(1, channels, *[eval_side] * ndim)
    with torch.no_grad():
        if inference == "whole":
            model(image)
        else:
            from monai.inferers import sliding_window_inference

            sliding_window_inference(image, (side,) * ndim, 1, model, overlap=0.5, mode="gaussian")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mb": peak, "s_step": statistics.median(times[1:])}))


def _estimate(case: list) -> tuple[float, float]:
    from segsweep import cluster
    from segsweep.config import Train

    ndim, channels, batch, width, depth, side, eval_side, inference = case
    cell = Train.model_validate(
        {"batch_size": batch, "model": {"base_filters": width, "depth": depth}, "evaluation": {"inference": inference}}
    )
    size = cluster.DataSize(
        patch=(side,) * ndim,
        channels=channels,
        train_patches=None,
        patch_bytes=0.0,
        eval_image=(eval_side,) * ndim,
        eval_voxels=float(math.prod((eval_side,) * ndim)),
    )
    return cluster.train_memory_mb(cell, ndim, size, 1.0, 0), cluster.seconds_per_step(cell, ndim, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="training steps per case (the first is not timed)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parse_args(parser, {"steps": 2})
    if args.child:
        _child(json.loads(args.child), args.steps)
        return
    print(f"{'case (ndim ch batch width depth patch eval inference)':58} {'MB est/meas':>16} {'s/step est/meas':>18}")
    results = []
    for case in SMOKE_CASES if args.smoke else CASES:
        measured = run_child([sys.executable, __file__, "--steps", str(args.steps), "--child", json.dumps(case)])
        mem, step = _estimate(case)
        flag = "  UNDER" if mem < measured["peak_mb"] else ""
        print(
            f"{' '.join(map(str, case)):58} {mem:7.0f}/{measured['peak_mb']:<7.0f} {mem / measured['peak_mb']:4.2f}x"
            f" {step:6.3f}/{measured['s_step']:<6.3f} {step / measured['s_step']:4.2f}x{flag}"
        )
        results.append(
            {
                "case": list(case),
                "mb_estimate": mem,
                "mb_measured": measured["peak_mb"],
                "mb_ratio": mem / measured["peak_mb"],
                "s_step_estimate": step,
                "s_step_measured": measured["s_step"],
                "s_step_ratio": step / measured["s_step"],
            }
        )
    write_json(args.json, {"cases": results}, args)


if __name__ == "__main__":
    main()
