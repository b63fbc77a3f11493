"""Fast CPU evaluation of a U-Net at many parameter sets: the numbers of
``evaluate_loop`` (within float rounding), in about half the time.

What it does differently from the loop (each change measured with
``benchmarks/landscape_speed.py``; ``benchmarks/conv_throughput.py`` compares the
result with the convolutions-alone rate):

- **Batch norm folded, activation fused.** Each convolution followed by eval-mode
  batch norm gets the norm folded into its weights and bias (W' = s·W, b' = β − μ·s + s·b,
  s = γ / √(σ² + ε)) and the activation after it fused into the same oneDNN call
  (``torch.ops.mkldnn._convolution_pointwise``): one pass over the activations and one
  fresh buffer instead of three. Batch norm *after* the activation
  (``norm_after_activation``) cannot be folded into the preceding convolution and is
  applied as its own pass.
- **Weights affine in the coordinates.** θ(c) = θ* + Σ_k c_k·d_k, and folding is linear
  in the weights when the norm's parameters and statistics do not move (directions of
  1-D parameters zeroed, no blended buffers), so folded bases and directions are
  computed once; a point costs one ``add`` per non-zero direction and tensor.
- **Points in parallel.** ``workers`` threads (default: ``torch.get_num_threads()``)
  evaluate disjoint points with one intra-op thread each, instead of splitting every
  small convolution over all cores: no per-op barrier, and far less sensitive to other
  processes on the same cores.
- **Cheaper glue.** Max pooling as elementwise maxima (no int64 indices), the skip
  concatenation on the channels-last (B, *spatial, C) views, and the hard prediction
  as a comparison of the two logits instead of ``argmax`` over channels-last channels.

Models other than ``segsweep.models.unet.UNet`` (or tensors not on the CPU) fall back
to ``evaluate_loop``. The fused forward itself is ``segsweep.landscape.plan``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import torch

from segsweep.landscape.evaluate import (
    _finish,
    _point,
    evaluate_loop,
    fast_layout,
    loop_point,
)
from segsweep.landscape.evaluate import _stats as _reference_stats
from segsweep.landscape.plan import UNetPlan
from segsweep.metrics import overlap_counts


def _stats(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``evaluate._stats`` (the reference) for 2 channels without ``argmax`` over the
    channels of a channels-last tensor (0.6 ms there vs 0.05 ms for the comparison):
    argmax is 1 iff l1 > l0, or l1 is NaN and l0 is not (argmax takes the first NaN)."""
    if logits.shape[1] != 2:
        return _reference_stats(logits, y)
    l0, l1 = logits[:, 0], logits[:, 1]
    return overlap_counts((l1 > l0) | (l1.isnan() & ~l0.isnan()), y[:, 0], per_image=False)


def _finite(state: dict) -> bool:
    return all(
        bool(torch.isfinite(t).all())
        for v in state.values()
        for t in (v if isinstance(v, tuple) else (v,))
        if t is not None
    )


def _evaluate_points(
    plan: UNetPlan, prepared: dict, loss_fn, batches, coords: list[list[float]], threads: int, reference, tick=None
) -> list[tuple[float, torch.Tensor]]:
    """(mean loss, summed [∩, |pred|, |target|]) per point, ``threads`` intra-op threads.
    A point whose weights are not finite (e.g. a running variance extrapolated below
    zero) goes to ``reference``: the fused ReLU would turn NaN into 0 where PyTorch's
    keeps it, so only the reference says what such a model computes."""
    torch.set_num_threads(threads)  # per calling thread with OpenMP; the caller restores it
    out = []
    with torch.no_grad():  # grad mode is thread-local
        for c in coords:
            state = plan.at(prepared, c)
            if not _finite(state):
                out.append(reference(c))
                if tick:
                    tick(1)
                continue
            total, st = 0.0, torch.zeros(3, dtype=torch.float64)
            for x, y in batches:
                logits = plan.forward(x, state)
                total += float(loss_fn(logits, y))
                st += _stats(logits, y)
            out.append((total / len(batches), st))
            if tick:
                tick(1)
    return out


@torch.no_grad()
def evaluate_fast(
    model,
    loss_fn,
    batches,
    base,
    dirs,
    coords,
    buffers,
    buffer_base=None,
    buffer_dirs=(),
    workers: int | None = None,
    tick=None,
):
    """``evaluate_loop`` with norms folded, activations fused and points in parallel.

    Args:
        model: a ``UNet`` on the CPU (anything else: ``evaluate_loop``).
        loss_fn: (logits (B, C, *spatial), target (B, 1, *spatial)) -> scalar.
        batches: list of (x (B, C_in, *spatial), y (B, 1, *spatial)).
        base, dirs: parameters θ* and K directions (name -> tensor dicts).
        coords: (N, K) coordinates of the points.
        buffers: the model's buffers (batch-norm statistics), used at every point
            unless ``buffer_base`` is given; then buffers are ``buffer_base`` +
            Σ_k c_k · ``buffer_dirs[k]``.
        tick: called with the number of points done, as they are done (a progress
            bar's ``update``; from the worker threads).
        workers: threads evaluating points concurrently, each with
            ``torch.get_num_threads() // workers`` intra-op threads (at least 1);
            default ``torch.get_num_threads()``.

    Returns:
        (loss (N,), dice (N,)) numpy arrays: the mean loss over the batches and the
        Dice of the hard prediction over all batches, as ``evaluate_loop``.
    """
    model.eval()
    if next(model.parameters()).device.type != "cpu":
        return evaluate_loop(model, loss_fn, batches, base, dirs, coords, buffers, buffer_base, buffer_dirs, tick)
    try:
        plan = UNetPlan(model)
    except NotImplementedError:
        return evaluate_loop(model, loss_fn, batches, base, dirs, coords, buffers, buffer_base, buffer_dirs, tick)
    if buffer_base is None:
        buffer_base, buffer_dirs = buffers, ()
    prepared = plan.affine(base, list(dirs), buffer_base, list(buffer_dirs))
    batches = fast_layout(batches)
    points = torch.as_tensor(coords).tolist()
    threads = torch.get_num_threads()
    workers = max(1, min(workers or threads, len(points)))
    parts = [points[k::workers] for k in range(workers)]  # interleaved: equal work per thread
    lock = threading.Lock()  # functional_call swaps the module's tensors: one thread at a time

    def reference(c):
        c = torch.tensor(c)
        bufs = _point(buffer_base, list(buffer_dirs), c) if buffer_dirs else buffer_base
        with lock:
            return loop_point(model, loss_fn, batches, {**_point(base, list(dirs), c), **bufs})

    try:
        if workers == 1:
            done = [_evaluate_points(plan, prepared, loss_fn, batches, parts[0], threads, reference, tick)]
        else:
            per = max(1, threads // workers)
            with ThreadPoolExecutor(workers) as pool:
                done = list(
                    pool.map(
                        lambda p: _evaluate_points(plan, prepared, loss_fn, batches, p, per, reference, tick), parts
                    )
                )
    finally:
        torch.set_num_threads(threads)
    results = [done[i % workers][i // workers] for i in range(len(points))]
    return _finish(torch.tensor([r[0] for r in results]), torch.stack([r[1] for r in results]))
