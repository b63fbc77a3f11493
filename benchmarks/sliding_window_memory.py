"""Benchmark: peak memory and time of validation inference on a large 3D volume.

A 64 x 512 x 512 volume (a clinical CT/MRI size) through the default 3D U-Net (depth 4,
width 8), scored as ``score_images`` does: one forward over the whole volume
(``evaluation.inference: whole``) against MONAI's sliding-window inference over
windows of the training patch size (``sliding_window``, the 3D default). Each mode
runs in its own process, so each peak RSS (``ru_maxrss``) is that mode's alone.

Prints per mode the median time over ``--reps`` runs and the peak RSS, then the
ratios; the last line is ``window peak <x> GB (whole/window <r>x)``. Goal (issue 15):
the window peak at most 2 GB.

    python benchmarks/sliding_window_memory.py [--reps 3] [--window 32] [--skip-whole]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

SHAPE = (64, 512, 512)


def _child(mode: str, window: int, reps: int) -> None:
    """One mode in this process: prints a JSON line with the times and the peak RSS."""
    import torch

    from segsweep.config import ModelCfg
    from segsweep.models import build_model
    from segsweep.train.evaluate import infer

    torch.set_num_threads(max(1, torch.get_num_threads()))
    torch.manual_seed(0)
    model = build_model(ModelCfg(depth=4, base_filters=8), 3, 1).eval()
    image = torch.randn(1, 1, *SHAPE)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        with torch.no_grad():
            logits = infer(model, image, (window,) * 3 if mode == "window" else None, overlap=0.5)
        times.append(time.perf_counter() - start)
        assert logits.shape == (1, 2, *SHAPE)
        del logits
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(json.dumps({"mode": mode, "seconds": statistics.median(times), "peak_gb": peak_gb}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--window", type=int, default=32, help="window side (the 3D patch size)")
    ap.add_argument("--skip-whole", action="store_true", help="only the window mode (whole needs ~5 GB)")
    ap.add_argument("--child", choices=("whole", "window"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.window, args.reps)
        return
    results = {}
    for mode in ("window",) if args.skip_whole else ("whole", "window"):
        cmd = [sys.executable, __file__, "--child", mode, "--reps", str(args.reps), "--window", str(args.window)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        results[mode] = json.loads(out)
        r = results[mode]
        print(f"{mode:>6}: {r['seconds']:.1f} s (median of {args.reps}), peak RSS {r['peak_gb']:.2f} GB")
    w = results["window"]
    ratio = f"whole/window {results['whole']['peak_gb'] / w['peak_gb']:.1f}x" if "whole" in results else "whole skipped"
    print(f"window peak {w['peak_gb']:.2f} GB ({ratio})")


if __name__ == "__main__":
    main()
