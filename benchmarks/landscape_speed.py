"""Benchmark: 2D loss-surface grid points per second, segsweep vs the PyPI package
``loss-landscapes`` (``random_plane``, filter normalisation), in one process.

Same model (the default 2D U-Net, batch norm, eval mode), same evaluation batches, same
loss and the same number of grid points. Compared:

- loss-landscapes: ``random_plane(model, metric, steps=R, normalization="filter")``
  (moves the weights in place, one forward per point and batch);
- segsweep loop:   ``evaluate_loop`` (one ``functional_call`` per point and batch);
- segsweep batched: ``evaluate_batched`` (``vmap`` over ``chunk`` stacked parameter sets);
- segsweep fast:   ``evaluate_fast`` (batch norm folded and activation fused into each
  convolution, points evaluated by ``--threads`` threads with one intra-op thread each).

The machine's other load matters a lot on few cores: intra-op parallel convolutions
(loss-landscapes, loop, batched) slow down far more than one-thread-per-point work when
another process takes a core, so run it on an idle machine for the uncontended ratio.

Both sides run under the same allocator: ``--malloc tuned`` (default) applies
``segsweep.runtime.tune_malloc`` first, as every ``segsweep`` verb does (glibc keeps
freed buffers instead of re-faulting them: ~1.2x for both sides, see
``malloc_tuning.py``); ``--malloc default`` leaves glibc as it is.

Medians over ``--reps`` interleaved repetitions; the last line is
``<best segsweep / loss-landscapes>x``. Needs ``pip install loss-landscapes``.

    python benchmarks/landscape_speed.py [--steps 7] [--reps 3] [--threads 2] [--device cpu] [--malloc tuned]
                                         [--base-filters 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from segsweep.config import LossCfg, ModelCfg
from segsweep.landscape.directions import random_direction
from segsweep.landscape.evaluate import evaluate_batched, evaluate_loop, split_state
from segsweep.landscape.fast import evaluate_fast
from segsweep.losses import build_loss
from segsweep.models import build_model
from segsweep.runtime import tune_malloc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=7, help="grid points per axis")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--chunks", type=int, nargs="+", default=[4, 8, 16])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--malloc", choices=["tuned", "default"], default="tuned")
    ap.add_argument(
        "--base-filters",
        type=int,
        default=ModelCfg().base_filters,
        help="U-Net width (default: the default model's); 64 is the published model's",
    )
    args = ap.parse_args()
    tuned = args.malloc == "tuned" and tune_malloc()
    try:
        import loss_landscapes
        from loss_landscapes.metrics import Metric
    except ImportError:
        sys.exit("error: the reference needs the PyPI package loss-landscapes: pip install loss-landscapes")
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    torch.manual_seed(0)
    model = build_model(ModelCfg(base_filters=args.base_filters), 2, 3).to(dev).eval()
    with torch.no_grad():  # loss-landscapes' filter normalisation divides by zero on all-zero
        for p in model.parameters():  # biases (a fresh init): give 1-D parameters trained-like values
            if p.ndim == 1:
                p.add_(0.05 * torch.randn_like(p))
    loss_fn = build_loss(LossCfg(name="dice_inverse_mix"), "softmax")
    g = torch.Generator().manual_seed(0)
    batches = [
        (
            torch.rand(args.batch_size, 3, args.size, args.size, generator=g).to(dev),
            (torch.rand(args.batch_size, 1, args.size, args.size, generator=g) > 0.8).long().to(dev),
        )
        for _ in range(args.batches)
    ]
    n_points = args.steps**2

    class LossMetric(Metric):
        def __call__(self, wrapper):
            m = wrapper.modules[0]
            m.eval()
            with torch.no_grad():
                return sum(float(loss_fn(m(x), y)) for x, y in batches) / len(batches)

    params, buffers = split_state(model)
    d1, d2 = (random_direction(params, s) for s in (1, 2))
    a = torch.linspace(-1, 1, args.steps)
    coords = torch.cartesian_prod(a, a).to(dev)
    params = {k: v.to(dev) for k, v in params.items()}
    d1, d2 = ({k: v.to(dev) for k, v in d.items()} for d in (d1, d2))

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def timed(fn) -> float:
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        return n_points / (time.perf_counter() - t0)

    runs: dict[str, list[float]] = {"loss-landscapes": [], "segsweep loop": [], "segsweep fast": []}
    runs |= {f"segsweep batched chunk={c}": [] for c in args.chunks}
    evaluate_batched(model, loss_fn, batches, params, [d1, d2], coords[:4], buffers, chunk=4)  # warm-up
    for _ in range(args.reps):
        runs["loss-landscapes"].append(
            timed(
                lambda: loss_landscapes.random_plane(
                    model, LossMetric(), distance=1, steps=args.steps, normalization="filter", deepcopy_model=True
                )
            )
        )
        runs["segsweep loop"].append(
            timed(lambda: evaluate_loop(model, loss_fn, batches, params, [d1, d2], coords, buffers))
        )
        runs["segsweep fast"].append(
            timed(lambda: evaluate_fast(model, loss_fn, batches, params, [d1, d2], coords, buffers))
        )
        for c in args.chunks:
            runs[f"segsweep batched chunk={c}"].append(
                timed(lambda c=c: evaluate_batched(model, loss_fn, batches, params, [d1, d2], coords, buffers, chunk=c))
            )
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(
        f"U-Net width {args.base_filters}: {n_points} grid points, {args.batches} batches of "
        f"{args.batch_size} x 3 x {args.size}^2, "
        f"{args.threads} threads, {dev}, allocator {'tuned' if tuned else 'glibc default'}"
    )
    for k, v in med.items():
        print(f"{k:28s} {v:7.2f} points/s  ({v / med['loss-landscapes']:.2f}x)")
    best = max(v for k, v in med.items() if k.startswith("segsweep"))
    print(f"{best / med['loss-landscapes']:.2f}x")


if __name__ == "__main__":
    main()
