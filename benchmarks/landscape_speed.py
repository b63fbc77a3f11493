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
``<best segsweep / loss-landscapes>x``. Needs ``pip install loss-landscapes`` (in the
``test`` extra); with ``--smoke`` and without it, only the segsweep side runs.

    python benchmarks/landscape_speed.py [--steps 7] [--reps 3] [--threads 2] [--device cpu] [--malloc tuned]
                                         [--base-filters 8] [--smoke] [--json PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from _common import parse_args, write_json

from segsweep.config import ModelCfg, loss_cfg
from segsweep.landscape.directions import random_direction
from segsweep.landscape.evaluate import evaluate_batched, evaluate_loop, split_state
from segsweep.landscape.fast import evaluate_fast
from segsweep.losses import build_loss
from segsweep.models import build_model
from segsweep.runtime import tune_malloc

SMOKE = {"steps": 2, "reps": 1, "batches": 1, "batch_size": 2, "size": 32, "chunks": [4]}
REFERENCE = "loss-landscapes"


def parse() -> argparse.Namespace:
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
    return parse_args(ap, SMOKE)


def reference(smoke: bool):
    """The ``loss_landscapes`` module, or None in smoke mode when it is not installed
    (the segsweep side still runs); a real measurement without it is an error."""
    try:
        import loss_landscapes.metrics  # binds loss_landscapes too; the metric base class lives here
    except ImportError:
        if not smoke:
            sys.exit("error: the reference needs the PyPI package loss-landscapes: pip install loss-landscapes")
        print("loss-landscapes not installed: smoke run of the segsweep side only (pip install loss-landscapes)")
        return None
    return loss_landscapes


def setup(args, dev: torch.device):
    """The model, loss, evaluation batches, base point, two directions and the grid."""
    torch.manual_seed(0)
    model = build_model(ModelCfg(base_filters=args.base_filters), 2, 3).to(dev).eval()
    with torch.no_grad():  # loss-landscapes' filter normalisation divides by zero on all-zero
        for p in model.parameters():  # biases (a fresh init): give 1-D parameters trained-like values
            if p.ndim == 1:
                p.add_(0.05 * torch.randn_like(p))
    loss_fn = build_loss(loss_cfg(name="dice_inverse_mix"), "softmax")
    g = torch.Generator().manual_seed(0)
    batches = [
        (
            torch.rand(args.batch_size, 3, args.size, args.size, generator=g).to(dev),
            (torch.rand(args.batch_size, 1, args.size, args.size, generator=g) > 0.8).long().to(dev),
        )
        for _ in range(args.batches)
    ]
    params, buffers = split_state(model)
    d1, d2 = (random_direction(params, s) for s in (1, 2))
    a = torch.linspace(-1, 1, args.steps)
    coords = torch.cartesian_prod(a, a).to(dev)
    params = {k: v.to(dev) for k, v in params.items()}
    dirs = [{k: v.to(dev) for k, v in d.items()} for d in (d1, d2)]
    return model, loss_fn, batches, params, buffers, dirs, coords


def reference_run(ll, model, loss_fn, batches, steps: int):
    """One ``random_plane`` over the same grid, metric and batches (a callable)."""

    class LossMetric(ll.metrics.Metric):
        def __call__(self, wrapper):
            m = wrapper.modules[0]
            m.eval()
            with torch.no_grad():
                return sum(float(loss_fn(m(x), y)) for x, y in batches) / len(batches)

    return lambda: ll.random_plane(
        model, LossMetric(), distance=1, steps=steps, normalization="filter", deepcopy_model=True
    )


def measure(args, ll, dev: torch.device) -> dict[str, float]:
    """Median points/s of each method over ``--reps`` interleaved repetitions."""
    model, loss_fn, batches, params, buffers, dirs, coords = setup(args, dev)

    def timed(fn) -> float:
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return len(coords) / (time.perf_counter() - t0)

    common = (model, loss_fn, batches, params, dirs, coords, buffers)
    methods = {REFERENCE: reference_run(ll, model, loss_fn, batches, args.steps)} if ll else {}
    methods["segsweep loop"] = lambda: evaluate_loop(*common)
    methods["segsweep fast"] = lambda: evaluate_fast(*common)
    for c in args.chunks:
        methods[f"segsweep batched chunk={c}"] = lambda c=c: evaluate_batched(*common, chunk=c)
    evaluate_batched(*common[:5], coords[:4], buffers, chunk=4)  # warm-up
    runs: dict[str, list[float]] = {k: [] for k in methods}
    for _ in range(args.reps):
        for k, fn in methods.items():
            runs[k].append(timed(fn))
    return {k: statistics.median(v) for k, v in runs.items()}


def main() -> None:
    args = parse()
    tuned = args.malloc == "tuned" and tune_malloc()
    ll = reference(args.smoke)
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    med = measure(args, ll, dev)
    print(
        f"U-Net width {args.base_filters}: {args.steps**2} grid points, {args.batches} batches of "
        f"{args.batch_size} x 3 x {args.size}^2, "
        f"{args.threads} threads, {dev}, allocator {'tuned' if tuned else 'glibc default'}"
    )
    # without the reference (smoke only) the ratios are to segsweep's own loop
    ref = REFERENCE if ll else "segsweep loop"
    ratios = {k: v / med[ref] for k, v in med.items()}
    for k, v in med.items():
        print(f"{k:28s} {v:7.2f} points/s  ({ratios[k]:.2f}x {ref})")
    best = max(v for k, v in med.items() if k.startswith("segsweep"))
    print(f"{best / med[ref]:.2f}x")
    write_json(
        args.json,
        {
            "points_per_s": med,
            "ratio_to": ref,
            "ratios": ratios,
            "best_segsweep_ratio": best / med[ref],
            "allocator_tuned": bool(tuned),
        },
        args,
    )


if __name__ == "__main__":
    main()
