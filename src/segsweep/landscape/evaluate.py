"""Evaluate a model at many parameter sets: a plain loop (the reference) and a batched
path (``torch.func.functional_call`` + ``vmap`` over stacked parameters, in chunks).

Points are affine in the parameters: θ(c) = base + Σ_k c_k · dir_k, with coordinates
``coords`` (N, K). Buffers (batch-norm running statistics) are the model's, or, for
an interpolation, blended the same way (``buffer_dirs``). The model is evaluated in
eval mode: batch norm uses running statistics, so each point is a deterministic
function of its parameters.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import functional_call, vmap

from segsweep.metrics import overlap_counts, pooled_dice, predict


def _point(base: dict, dirs: list[dict], c: torch.Tensor) -> dict:
    out = {}
    for name, b in base.items():
        v = b
        for k, d in enumerate(dirs):
            if name in d:
                v = v + c[k] * d[name]
        out[name] = v
    return out


def _stacked(base: dict, dirs: list[dict], coords: torch.Tensor) -> dict:
    """(N, *shape) tensors for N points (one fused expression per tensor)."""
    out = {}
    for name, b in base.items():
        v = b.unsqueeze(0).expand(len(coords), *b.shape)
        for k, d in enumerate(dirs):
            if name in d:
                v = v + coords[:, k].view(-1, *([1] * b.ndim)) * d[name]
        out[name] = v
    return out


def _stats(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[intersection, |pred|, |target|] of the hard prediction over the batch (pooled:
    ``segsweep.metrics``)."""
    return overlap_counts(predict(logits), y[:, 0], per_image=False)


def _finish(losses: torch.Tensor, stats: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    return losses.detach().cpu().numpy(), pooled_dice(stats).detach().cpu().numpy()


def fast_layout(batches):
    """Inputs in channels-last layout: oneDNN's convolutions run ~1.5x faster on this kind
    of CPU for the same numbers (measured: 28 -> 18 ms per 16×3×64² U-Net forward)."""
    out = []
    for x, y in batches:
        fmt = torch.channels_last if x.ndim == 4 else torch.channels_last_3d
        out.append((x.contiguous(memory_format=fmt), y))
    return out


def split_state(model: torch.nn.Module) -> tuple[dict, dict]:
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
    return params, buffers


@torch.no_grad()
def loop_point(model, loss_fn, batches, state: dict) -> tuple[float, torch.Tensor]:
    """One point of the reference: mean loss over ``batches`` and the summed
    [intersection, |pred|, |target|] with the parameters and buffers ``state``."""
    total, st = 0.0, torch.zeros(3, dtype=torch.float64)
    for x, y in batches:
        logits = functional_call(model, state, (x,))
        total += float(loss_fn(logits, y))
        st += _stats(logits, y)
    return total / len(batches), st


def evaluate_loop(model, loss_fn, batches, base, dirs, coords, buffers, buffer_base=None, buffer_dirs=(), tick=None):
    """Reference: one forward per point and batch. Returns (loss (N,), dice (N,)).
    ``tick(n)``, when given, is called as points are done (a progress bar's update)."""
    model.eval()
    batches = fast_layout(batches)
    losses, stats = [], []
    for c in coords:
        params = _point(base, dirs, c)
        bufs = _point(buffer_base, list(buffer_dirs), c) if buffer_base is not None else buffers
        loss, st = loop_point(model, loss_fn, batches, {**params, **bufs})
        losses.append(loss)
        stats.append(st)
        if tick:
            tick(1)
    return _finish(torch.tensor(losses), torch.stack(stats))


@torch.no_grad()
def evaluate_batched(
    model, loss_fn, batches, base, dirs, coords, buffers, buffer_base=None, buffer_dirs=(), chunk: int = 8, tick=None
):
    """``vmap`` over ``chunk`` parameter sets per forward; same numbers as the loop."""
    model.eval()
    batches = fast_layout(batches)
    blended = buffer_base is not None

    def one(params, bufs, x, y):
        logits = functional_call(model, {**params, **bufs}, (x,))
        return loss_fn(logits, y), _stats(logits, y)

    batched = vmap(one, in_dims=(0, 0 if blended else None, None, None))
    losses, stats = [], []
    for start in range(0, len(coords), chunk):
        c = coords[start : start + chunk]
        params = _stacked(base, dirs, c)
        bufs = _stacked(buffer_base, list(buffer_dirs), c) if blended else buffers
        total, st = torch.zeros(len(c)), torch.zeros(len(c), 3, dtype=torch.float64)
        for x, y in batches:
            loss, s = batched(params, bufs, x, y)
            total += loss
            st += s
        losses.append(total / len(batches))
        stats.append(st)
        if tick:
            tick(len(c))
    return _finish(torch.cat(losses), torch.cat(stats))
