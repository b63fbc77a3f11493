"""Benchmark: peak memory and time of validation inference on a large 3D volume.

A 64 x 512 x 512 volume (a clinical CT/MRI size) through the default 3D U-Net (depth 4,
width 8), scored as ``score_images`` does: one forward over the whole volume
(``evaluation.inference: whole``) against MONAI's sliding-window inference over
windows of the training patch size (``sliding_window``, the 3D default). Each mode
runs in its own process, so each peak RSS (``ru_maxrss``) is that mode's alone.

Prints per mode the median time over ``--reps`` runs and the peak RSS, then the
ratios; the last line is ``window peak <x> GB (whole/window <r>x)``. Goal (issue 15):
the window peak at most 2 GB.

    python benchmarks/sliding_window_memory.py [--reps 3] [--window 32] [--skip-whole] [--shape 64 512 512]
                                               [--smoke] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time

from _common import parse_args, run_child, write_json

SHAPE = (64, 512, 512)
# --smoke: a volume of a few MB, so both modes run in seconds and well under a GB
SMOKE = {"reps": 1, "window": 32, "shape": [32, 64, 64]}


def _child(mode: str, window: int, reps: int, shape: tuple[int, ...]) -> None:
    """One mode in this process: prints a JSON line with the times and the peak RSS."""
    import torch

    from segsweep.config import ModelCfg
    from segsweep.models import build_model
    from segsweep.train.evaluate import infer

    torch.set_num_threads(max(1, torch.get_num_threads()))
    torch.manual_seed(0)
    model = build_model(ModelCfg(depth=4, base_filters=8), 3, 1).eval()
    image = torch.randn(1, 1, *shape)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        with torch.no_grad():
            logits = infer(model, image, (window,) * 3 if mode == "window" else None, overlap=0.5)
        times.append(time.perf_counter() - start)
        assert logits.shape == (1, 2, *shape)
        del logits
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(json.dumps({"mode": mode, "seconds": statistics.median(times), "peak_gb": peak_gb}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--window", type=int, default=32, help="window side (the 3D patch size)")
    ap.add_argument("--shape", type=int, nargs=3, default=list(SHAPE), help="volume (depth, height, width)")
    ap.add_argument("--skip-whole", action="store_true", help="only the window mode (whole needs ~5 GB)")
    ap.add_argument("--child", choices=("whole", "window"), help=argparse.SUPPRESS)
    args = parse_args(ap, SMOKE)
    shape = tuple(args.shape)
    if args.child:
        _child(args.child, args.window, args.reps, shape)
        return
    results = {}
    for mode in ("window",) if args.skip_whole else ("whole", "window"):
        cmd = [sys.executable, __file__, "--child", mode, "--reps", str(args.reps), "--window", str(args.window)]
        results[mode] = r = run_child([*cmd, "--shape", *map(str, shape)])
        print(f"{mode:>6}: {r['seconds']:.1f} s (median of {args.reps}), peak RSS {r['peak_gb']:.2f} GB")
    w = results["window"]
    ratios = {}
    if "whole" in results:
        ratios = {k: results["whole"][k] / w[k] for k in ("peak_gb", "seconds")}
    ratio = f"whole/window {ratios['peak_gb']:.1f}x" if ratios else "whole skipped"
    print(f"window peak {w['peak_gb']:.2f} GB ({ratio})")
    write_json(args.json, {"shape": list(shape), "modes": results, "whole_over_window": ratios}, args)


if __name__ == "__main__":
    main()
