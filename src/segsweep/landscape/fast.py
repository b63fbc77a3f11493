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
to ``evaluate_loop``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from segsweep.landscape.evaluate import (
    _finish,
    _point,
    evaluate_loop,
    fast_layout,
    loop_point,
)
from segsweep.landscape.evaluate import _stats as _reference_stats
from segsweep.metrics import overlap_counts
from segsweep.models.unet import ConvBlock, UNet

_CONVS = (nn.Conv2d, nn.Conv3d)
_BNS = (nn.BatchNorm2d, nn.BatchNorm3d)
_DROPOUTS = (nn.Dropout, nn.Dropout2d, nn.Dropout3d)  # identity in eval mode


def _post_op(act: nn.Module) -> tuple[str, list, str] | None:
    """oneDNN post-op (attr, scalars, algorithm) computing ``act``, or None if unfusable."""
    if isinstance(act, nn.ReLU):
        return "relu", [], ""
    if isinstance(act, nn.LeakyReLU):
        return "leaky_relu", [act.negative_slope], ""
    if isinstance(act, nn.GELU):
        return "gelu", [], act.approximate
    return None


@dataclass
class _Conv:
    """conv [-> BN, folded] [-> activation, fused]; names are state-dict prefixes."""

    conv: str
    bn: str | None
    eps: float
    padding: list[int]
    post: tuple[str, list, str]


@dataclass
class _Norm:
    """Eval-mode batch norm that follows an activation: a pass of its own."""

    bn: str
    eps: float


@dataclass
class _Lin:
    """A tensor affine in the point's coordinates c (K,): base + Σ_k c_k · dirs[k].

    Zero directions are dropped, so a tensor that does not move costs nothing per point.
    """

    base: torch.Tensor
    dirs: list[tuple[int, torch.Tensor]]

    @staticmethod
    def of(name: str, base: dict, dirs: list[dict]) -> _Lin:
        return _Lin(base[name], [(k, d[name]) for k, d in enumerate(dirs) if name in d and bool(d[name].any())])

    def at(self, c: list[float]) -> torch.Tensor:
        out = self.base
        for k, d in self.dirs:
            out = torch.add(out, d, alpha=c[k])
        return out

    def scaled(self, s: torch.Tensor, shift: torch.Tensor | None = None) -> _Lin:
        """s ⊙ self (+ shift), with s (C_out,) broadcast along dim 0."""
        s = s.view(-1, *([1] * (self.base.ndim - 1)))
        base = self.base * s if shift is None else shift + self.base * s
        return _Lin(base, [(k, d * s) for k, d in self.dirs])


def _block_steps(block: nn.Sequential, prefix: str) -> list:
    """Steps of a ``ConvBlock``: each conv with the BN and activation that directly
    follow it fused in; anything else (BN after an activation, ELU, ...) on its own."""
    layers = [(f"{prefix}{n}", m) for n, m in block.named_children() if not isinstance(m, _DROPOUTS)]
    steps, i = [], 0
    while i < len(layers):
        name, m = layers[i]
        i += 1
        if not isinstance(m, _CONVS):
            steps.append(_Norm(name, m.eps) if isinstance(m, _BNS) else m)
            continue
        if (
            m.groups != 1
            or m.padding_mode != "zeros"
            or isinstance(m.padding, str)
            or any(s != 1 for s in (*m.stride, *m.dilation))
        ):
            raise NotImplementedError(f"unsupported convolution {name}: {m}")
        bn, eps = None, 0.0
        if i < len(layers) and isinstance(layers[i][1], _BNS):
            bn, eps = layers[i][0], layers[i][1].eps
            i += 1
        post = ("none", [], "")
        if i < len(layers) and _post_op(layers[i][1]) is not None:
            post = _post_op(layers[i][1])
            i += 1
        steps.append(_Conv(name, bn, eps, list(m.padding), post))
    return steps


def _cat_channels(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``torch.cat([a, b], 1)`` for channels-last tensors, done on their (B, *spatial, C)
    views: the contiguous last-dim copy is ~2x faster than cat's strided path at 8 + 8
    channels (measured 0.23 vs 0.43 ms at 16×8×64²); the result is channels-last."""
    return torch.cat([a.movedim(1, -1), b.movedim(1, -1)], -1).movedim(-1, 1)


def _max_pool2(x: torch.Tensor) -> torch.Tensor:
    """2×2(×2) max pooling, stride 2, of a channels-last (B, C, *spatial) tensor as
    elementwise maxima of its (B, *spatial, C) view, one spatial axis at a time: same
    values as ``max_pool2d`` (NaN propagates in both), without its int64 indices;
    measured 0.16 vs 0.65 ms at 16×8×64², one thread."""
    v = x.movedim(1, -1)
    for d in range(1, v.ndim - 1):
        v = v.unflatten(d, (v.shape[d] // 2, 2))
        v = torch.maximum(v.select(d + 1, 0), v.select(d + 1, 1))
    return v.movedim(-1, 1)


def _stats(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``evaluate._stats`` (the reference) for 2 channels without ``argmax`` over the
    channels of a channels-last tensor (0.6 ms there vs 0.05 ms for the comparison):
    argmax is 1 iff l1 > l0, or l1 is NaN and l0 is not (argmax takes the first NaN)."""
    if logits.shape[1] != 2:
        return _reference_stats(logits, y)
    l0, l1 = logits[:, 0], logits[:, 1]
    return overlap_counts((l1 > l0) | (l1.isnan() & ~l0.isnan()), y[:, 0], per_image=False)


class UNetPlan:
    """A ``UNet`` forward as fused steps, evaluated with weights given per call.

    Args:
        model: a ``UNet`` (its structure and pooling/upsampling modules; no weights
            are read from it).

    Raises:
        NotImplementedError: for another model or an unexpected convolution.
    """

    def __init__(self, model: nn.Module) -> None:
        if not isinstance(model, UNet) or not all(isinstance(b, ConvBlock) for b in [*model.down, *model.up_blocks]):
            raise NotImplementedError(f"no fused plan for {type(model).__name__}")
        # the fused conv is oneDNN's (a private op inductor uses): absent from builds without it
        if not (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")):
            raise NotImplementedError("this PyTorch build has no oneDNN fused convolution")
        self.model = model
        p, n = model.pool, model.ndim  # 2×2(×2), stride 2: the elementwise version; else as is
        plain = (
            p.kernel_size in (2, (2,) * n)
            and p.stride in (2, (2,) * n)
            and p.padding in (0, (0,) * n)
            and p.dilation in (1, (1,) * n)
            and not p.ceil_mode
            and not p.return_indices
        )
        self.pool = _max_pool2 if plain else p
        self.down = [_block_steps(b, f"down.{i}.") for i, b in enumerate(model.down)]
        self.up_blocks = [_block_steps(b, f"up_blocks.{i}.") for i, b in enumerate(model.up_blocks)]
        self.head = _Conv("head", None, 0.0, list(model.head.padding), ("none", [], ""))
        self.convs = [s for blk in [*self.down, *self.up_blocks] for s in blk if isinstance(s, _Conv)] + [self.head]

    def affine(self, base: dict, dirs: list[dict], bufs: dict, buf_dirs: list[dict]) -> dict:
        """Everything ``forward`` needs, as functions of the point, prepared once.

        Args:
            base, dirs: parameters θ* and directions (name -> tensor dicts).
            bufs, buf_dirs: buffers and their directions (empty unless blended).

        Returns:
            name -> ``_Lin`` for every parameter and buffer, and for every fused conv
            ``conv`` -> (weight, bias) ``_Lin`` pair with its norm folded in, or
            (step, weight, bias, [γ, β, μ, σ²]) when the norm moves with the point and
            has to be folded per point.
        """
        lin = {n: _Lin.of(n, base, dirs) for n in base} | {n: _Lin.of(n, bufs, buf_dirs) for n in bufs}
        out = dict(lin)
        for cv in self.convs:
            w, b = lin[f"{cv.conv}.weight"], lin.get(f"{cv.conv}.bias")
            if cv.bn is None:
                out[cv.conv] = (w, b)
                continue
            bn = [lin[f"{cv.bn}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]
            if any(t.dirs for t in bn):
                out[cv.conv] = (cv, w, b, bn)
                continue
            gamma, beta, mean, var = (t.base for t in bn)
            s = gamma * torch.rsqrt(var + cv.eps)
            shift = beta - mean * s
            out[cv.conv] = (w.scaled(s), b.scaled(s, shift) if b is not None else _Lin(shift, []))
        return out

    @staticmethod
    def at(prepared: dict, c: list[float]) -> dict:
        """The tensors of ``affine``'s result at the point with coordinates ``c`` (K,)."""
        out = {}
        for name, v in prepared.items():
            if isinstance(v, _Lin):
                out[name] = v.at(c)
            elif len(v) == 2:
                out[name] = (v[0].at(c), None if v[1] is None else v[1].at(c))
            else:  # fold a moving norm at this point
                cv, w, b, bn = v
                gamma, beta, mean, var = (t.at(c) for t in bn)
                s = gamma * torch.rsqrt(var + cv.eps)
                shift = beta - mean * s
                out[name] = (
                    w.at(c) * s.view(-1, *([1] * (w.base.ndim - 1))),
                    shift if b is None else shift + b.at(c) * s,
                )
        return out

    def _run(self, steps: list, x: torch.Tensor, state: dict) -> torch.Tensor:
        one = [1] * (x.ndim - 2)
        for s in steps:
            if isinstance(s, _Conv):
                w, b = state[s.conv]
                attr, scalars, algo = s.post
                x = torch.ops.mkldnn._convolution_pointwise(x, w, b, s.padding, one, one, 1, attr, scalars, algo)
            elif isinstance(s, _Norm):
                x = F.batch_norm(
                    x,
                    state[f"{s.bn}.running_mean"],
                    state[f"{s.bn}.running_var"],
                    state[f"{s.bn}.weight"],
                    state[f"{s.bn}.bias"],
                    False,
                    0.0,
                    s.eps,
                )
            else:
                x = s(x)
        return x

    def _up(self, i: int, x: torch.Tensor, state: dict) -> torch.Tensor:
        up = self.model.ups[i].up
        if isinstance(up, (nn.ConvTranspose2d, nn.ConvTranspose3d)):
            fn = F.conv_transpose2d if x.ndim == 4 else F.conv_transpose3d
            return fn(x, state[f"ups.{i}.up.weight"], state[f"ups.{i}.up.bias"], stride=up.stride)
        fn = F.conv2d if x.ndim == 4 else F.conv3d  # interpolate, then a 1×1 convolution
        return fn(up[0](x), state[f"ups.{i}.up.1.weight"], state.get(f"ups.{i}.up.1.bias"))

    def forward(self, x: torch.Tensor, state: dict) -> torch.Tensor:
        """Logits (B, C_out, *spatial) of input ``x`` (B, C_in, *spatial, channels-last),
        as ``UNet.forward`` with the weights ``state`` (from ``at``)."""
        m = self.model
        factor = 2**m.depth
        if any(s % factor for s in x.shape[2:]):
            raise ValueError(f"input spatial shape {list(x.shape[2:])} must be divisible by 2**depth = {factor}")
        skips = []
        for i, steps in enumerate(self.down):
            x = self._run(steps, x, state)
            if i < m.depth:
                skips.append(x)
                x = self.pool(x)
        for i, (steps, skip) in enumerate(zip(self.up_blocks, reversed(skips))):
            x = self._run(steps, _cat_channels(self._up(i, x, state), skip), state)
        return self._run([self.head], x, state)


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
