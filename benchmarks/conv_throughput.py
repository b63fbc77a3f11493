"""Benchmark: how close does landscape evaluation come to the machine's convolution
throughput for the U-Net's own layer shapes?

1. Counts the multiply-accumulates (MACs) of one U-Net forward (default model) for a
   batch of ``--batch-size`` × 3 × ``--size``² by hooking every (transposed) convolution.
2. Times each of those convolutions alone (``F.conv2d`` / ``F.conv_transpose2d``,
   channels-last, median of ``--reps``), once with ``--threads`` intra-op threads and
   once with one thread: their sum is the convolution-bound time of one forward, their
   FLOPs over it the machine's convolution throughput for this network. The ceiling
   is the better of the ``--threads``-thread rate and ``--threads`` × the one-thread
   rate (independent points on every core, as ``evaluate_fast`` runs them).
3. Times ``evaluate_loop`` and ``evaluate_fast`` on a ``--steps``² grid with
   ``--batches`` batches and reports the FLOP/s they achieve (2 FLOPs per MAC, only
   the convolutions counted) and the fraction of the ceiling that is. Timings are
   sequential, not interleaved: on a shared machine repeat the run.
4. For scale: a large square fp32 matmul's FLOP/s (near the cores' peak).

    python benchmarks/conv_throughput.py [--threads 2] [--reps 5] [--steps 5] [--smoke] [--json PATH]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from _common import parse_args, write_json
from torch import nn

from segsweep.config import ModelCfg, loss_cfg
from segsweep.landscape.directions import random_direction
from segsweep.landscape.evaluate import evaluate_loop, split_state
from segsweep.landscape.fast import evaluate_fast
from segsweep.losses import build_loss
from segsweep.models import build_model


def conv_layers(model: nn.Module, x: torch.Tensor) -> list[tuple[nn.Module, tuple, int]]:
    """(module, input shape, MACs) of every convolution in one forward of ``x``."""
    found = []

    def hook(m, inp, out):
        if isinstance(m, nn.ConvTranspose2d):  # every input pixel scatters to C_out × k² outputs
            macs = inp[0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
        else:  # every output element sums C_in × k² products
            macs = out.numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
        found.append((m, tuple(inp[0].shape), macs))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return found


def median_time(fn, reps: int, inner: int = 1) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


SMOKE = {"reps": 1, "steps": 2, "batches": 1, "batch_size": 2, "size": 32, "matmul": 256}


def layer_times(layers, args) -> tuple[float, float]:
    """Seconds of all the convolutions alone, with ``--threads`` threads and with one."""
    print(f"{'layer':34s} {'MACs (M)':>9s} {'ms':>7s} {'GFLOP/s':>8s} {'ms 1 thr':>9s}")
    total, total1 = 0.0, 0.0
    with torch.no_grad():
        for m, shape, n in layers:
            inp = torch.rand(shape).contiguous(memory_format=torch.channels_last)
            w = torch.randn_like(m.weight)
            b = None if m.bias is None else torch.randn_like(m.bias)
            if isinstance(m, nn.ConvTranspose2d):
                fn = lambda inp=inp, w=w, b=b, m=m: F.conv_transpose2d(inp, w, b, stride=m.stride)  # noqa: E731
            else:
                fn = lambda inp=inp, w=w, b=b, m=m: F.conv2d(inp, w, b, padding=m.padding)  # noqa: E731
            t = median_time(fn, args.reps, inner=5)
            torch.set_num_threads(1)
            t1 = median_time(fn, args.reps, inner=5)
            torch.set_num_threads(args.threads)
            total, total1 = total + t, total1 + t1
            kind = "tconv" if isinstance(m, nn.ConvTranspose2d) else "conv"
            desc = f"{kind} {shape[1]}->{m.out_channels} k{m.kernel_size[0]} @{shape[2]}x{shape[3]}"
            print(f"{desc:34s} {n / 1e6:9.2f} {t * 1e3:7.3f} {2 * n / t / 1e9:8.1f} {t1 * 1e3:9.3f}")
    return total, total1


def evaluation_rates(model, macs: int, conv_rate: float, args) -> dict[str, float]:
    """FLOP/s of convolutions that ``evaluate_loop`` and ``evaluate_fast`` achieve."""
    loss_fn = build_loss(loss_cfg(name="dice_inverse_mix"), "softmax")
    g = torch.Generator().manual_seed(0)
    batches = [
        (
            torch.rand(args.batch_size, 3, args.size, args.size, generator=g),
            (torch.rand(args.batch_size, 1, args.size, args.size, generator=g) > 0.8).long(),
        )
        for _ in range(args.batches)
    ]
    params, buffers = split_state(model)
    d1, d2 = (random_direction(params, s) for s in (1, 2))
    grid = torch.linspace(-1, 1, args.steps)
    coords = torch.cartesian_prod(grid, grid)
    flop_per_point = 2 * macs * args.batches
    rates = {}
    for name, fn in (("evaluate_loop", evaluate_loop), ("evaluate_fast", evaluate_fast)):
        t = median_time(
            lambda fn=fn: fn(model, loss_fn, batches, params, [d1, d2], coords, buffers), max(1, args.reps // 2)
        )
        rates[name] = flop_per_point * len(coords) / t
        print(
            f"{name:14s} {len(coords) / t:6.1f} points/s = {rates[name] / 1e9:6.1f} GFLOP/s of convolutions "
            f"= {rates[name] / conv_rate:.0%} of the ceiling"
        )
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=5, help="grid points per axis for the evaluation timing")
    ap.add_argument("--batches", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--matmul", type=int, default=2048, help="side of the square matmul timed for scale")
    args = parse_args(ap, SMOKE)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(ModelCfg(), 2, 3).eval()
    x = torch.rand(args.batch_size, 3, args.size, args.size).contiguous(memory_format=torch.channels_last)
    layers = conv_layers(model, x)
    macs = sum(m for _, _, m in layers)
    print(
        f"U-Net forward, batch {args.batch_size} x 3 x {args.size}^2: {len(layers)} convolutions, "
        f"{macs / 1e6:.1f} M MACs ({2 * macs / 1e9:.2f} GFLOP)"
    )
    total, total1 = layer_times(layers, args)
    conv_rate = max(2 * macs / total, args.threads * 2 * macs / total1)
    print(
        f"convolutions alone: {total * 1e3:.2f} ms per forward with {args.threads} threads = "
        f"{2 * macs / total / 1e9:.1f} GFLOP/s; {total1 * 1e3:.2f} ms with one thread = "
        f"{2 * macs / total1 / 1e9:.1f} GFLOP/s per core; ceiling {conv_rate / 1e9:.1f} GFLOP/s"
    )
    n = args.matmul
    a = torch.randn(n, n)
    matmul_rate = 2 * n**3 / median_time(lambda: a @ a, args.reps)
    print(f"fp32 matmul {n}^3: {matmul_rate / 1e9:.1f} GFLOP/s")
    rates = evaluation_rates(model, macs, conv_rate, args)
    gflops = {"conv_ceiling": conv_rate / 1e9, "matmul": matmul_rate / 1e9} | {k: v / 1e9 for k, v in rates.items()}
    fractions = {f"{k}_of_ceiling": v / conv_rate for k, v in rates.items()}
    write_json(args.json, {"macs_per_forward": macs, "gflop_per_s": gflops, **fractions}, args)


if __name__ == "__main__":
    main()
