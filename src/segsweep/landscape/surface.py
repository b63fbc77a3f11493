"""Landscapes of one trained cell: arrays (.npz), figures, roughness numbers.

- ``line``: loss along one filter-normalised direction d1, θ* + α·d1, α ∈ [-span, span];
- ``plane``: θ* + α·d1 + β·d2 on a resolution × resolution grid;
- ``interpolation``: (1 − t)·θ_init + t·θ* on a uniform t grid that holds t = 0 (the
  initialisation) and t = 1 (the trained model) exactly and reaches about a quarter
  beyond each (``interpolation_grid``); batch-norm running statistics blended the same
  way when ``interpolate_buffers``.
θ* is the cell's best checkpoint; the evaluation batches are training patches of the
cell's split, drawn with the landscape seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from segsweep.io import atomic_path
from segsweep.landscape.directions import random_direction
from segsweep.landscape.evaluate import evaluate_batched, evaluate_loop, split_state
from segsweep.landscape.fast import evaluate_fast
from segsweep.progress import progress


def interpolation_grid(resolution: int, margin: float = 0.25) -> np.ndarray:
    """The t values of the interpolation: uniform, with 0 and 1 exactly on the grid.

    Rule: ``resolution`` = k + 1 + 2·m points t_i = (i − m) / k, i = 0 … resolution − 1:
    step h = 1/k, m points before t = 0 and m after t = 1, so the grid spans
    [−m/k, 1 + m/k]. The margin m is the integer (m ≥ 0, k ≥ 1) that brings m/k closest
    to ``margin`` (ties: the smaller m). Examples: r = 7 → −0.25 … 1.25 (h = 1/4);
    r = 11 → −1/3 … 4/3 (h = 1/6); r = 13 → −0.25 … 1.25 (h = 1/8); r = 3 → 0, 0.5, 1;
    for 6 ≤ r ≤ 201 the reach m/k lies in [1/7, 1/3] (exactly 1/4 when r − 1 is a
    multiple of 6).
    A plain ``linspace(-0.25, 1.25, r)`` has 0 and 1 on it only when r − 1 is a
    multiple of 6 (not for the default 11), so the two end models were not evaluated.
    The grid is uniform, as ``roughness`` needs.

    Args:
        resolution: number of points, ≥ 3.
        margin: the wanted reach beyond [0, 1] on each side, as a fraction of it.

    Raises:
        ValueError: ``resolution`` < 3.
    """
    if resolution < 3:
        raise ValueError(f"resolution must be >= 3, got {resolution}")
    intervals = resolution - 1  # = k + 2m
    m = min(range((intervals - 1) // 2 + 1), key=lambda m: (abs(m / (intervals - 2 * m) - margin), m))
    # integers divided once: (i − m) / k is exactly 0.0 at i = m and exactly 1.0 at i = m + k
    return (np.arange(resolution) - m) / (intervals - 2 * m)


def as_nan(values: np.ndarray) -> np.ndarray:
    """``values`` as floats with every non-finite entry (NaN, ±inf) set to NaN: one
    marker for "this point has no loss", which the nan-aware statistics skip."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values), values, np.nan)


def _fraction_below_zero(x: np.ndarray) -> float:
    """Share of the finite entries of ``x`` that are negative; NaN when none is finite."""
    finite = x[np.isfinite(x)]
    return float((finite < 0).mean()) if finite.size else float("nan")


def roughness(alphas: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Sharpness and roughness of a 1D or 2D surface on a uniform grid.

    Non-finite values (a NaN or infinite loss, e.g. batch-norm running variances
    extrapolated below zero) are treated as missing points:

    - ``n_nonfinite``: how many grid points are not finite (an int);
    - ``range``: max − min over the finite points (NaN when there are none);
    - ``curvature_*``: second difference at the centre along each axis (divided by h²);
      NaN when its three-point stencil touches a non-finite point;
    - ``nonconvex_fraction``: among the interior points whose stencil (2D: 3 × 3, the
      mixed derivative included) is all finite, the fraction where the discrete Hessian
      has a negative eigenvalue (2D) or the second difference is negative (1D); NaN
      when there are none.

    Args:
        alphas: the grid along each axis, uniform (step ``alphas[1] − alphas[0]``).
        values: the surface, shape (n,) or (n, n).
    """
    h = float(alphas[1] - alphas[0])
    c = len(alphas) // 2
    v = as_nan(values)
    finite = v[np.isfinite(v)]
    out = {
        "n_nonfinite": int(v.size - finite.size),
        "range": float(finite.max() - finite.min()) if finite.size else float("nan"),
    }
    if v.ndim == 1:
        d2 = (v[2:] - 2 * v[1:-1] + v[:-2]) / h**2  # NaN wherever the stencil touches NaN
        out |= {"curvature_1": float(d2[c - 1]), "nonconvex_fraction": _fraction_below_zero(d2)}
        return out
    dxx = (v[2:, 1:-1] - 2 * v[1:-1, 1:-1] + v[:-2, 1:-1]) / h**2
    dyy = (v[1:-1, 2:] - 2 * v[1:-1, 1:-1] + v[1:-1, :-2]) / h**2
    dxy = (v[2:, 2:] - v[2:, :-2] - v[:-2, 2:] + v[:-2, :-2]) / (4 * h**2)
    min_eig = (dxx + dyy) / 2 - np.sqrt(((dxx - dyy) / 2) ** 2 + dxy**2)
    out |= {
        "curvature_1": float(dxx[c - 1, c - 1]),
        "curvature_2": float(dyy[c - 1, c - 1]),
        "nonconvex_fraction": _fraction_below_zero(min_eig),
    }
    return out


def eval_batches(images, masks, rows: np.ndarray, n_batches: int, batch_size: int, seed: int):
    rng = np.random.default_rng(seed)
    pick = rng.choice(rows, size=min(len(rows), n_batches * batch_size), replace=False)
    out = []
    for b in range(0, len(pick), batch_size):
        sel = np.sort(pick[b : b + batch_size])
        out.append(
            (
                torch.from_numpy(np.ascontiguousarray(images[sel])),
                torch.from_numpy(np.ascontiguousarray(masks[sel]))[:, None],
            )
        )
    return out[:n_batches]


def cell_landscape(
    cfg,
    model,
    loss_fn,
    best_state: dict,
    init_state: dict | None,
    batches,
    stem: Path,
) -> dict[str, dict]:
    """Compute the configured kinds for one cell; write ``stem``.npz; return roughness.

    ``model`` is left with ``best_state`` loaded; ``split_state`` copies, so loading
    another state does not move the base point."""
    best_state = {k: v.detach().clone() for k, v in best_state.items()}  # may alias the model's tensors
    model.load_state_dict(best_state)
    params, buffers = split_state(model)
    d1 = random_direction(params, cfg.seed, cfg.normalization, cfg.ignore_bias_bn)
    d2 = random_direction(params, cfg.seed + 1, cfg.normalization, cfg.ignore_bias_bn)
    axis = np.linspace(-cfg.span, cfg.span, cfg.resolution)
    arrays: dict[str, np.ndarray] = {"axis": axis}
    stats: dict[str, dict] = {}

    def run(kind, base, dirs, coords, **kw):
        return _points(cfg, model, loss_fn, batches, buffers, f"{stem.name} {kind}", base, dirs, coords, **kw)

    if "line" in cfg.kinds:
        loss, dice = run("line", params, [d1], axis[:, None])
        arrays |= {"line_loss": loss, "line_dice": dice}
        stats["line"] = roughness(axis, loss)
    if "plane" in cfg.kinds:
        grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
        loss, dice = run("plane", params, [d1, d2], grid)
        n = cfg.resolution
        arrays |= {"plane_loss": loss.reshape(n, n), "plane_dice": dice.reshape(n, n)}
        stats["plane"] = roughness(axis, loss.reshape(n, n))
    if "interpolation" in cfg.kinds and init_state is not None:
        p0, delta, kw = _interpolation(model, init_state, best_state, params, buffers, cfg.interpolate_buffers)
        ts = interpolation_grid(cfg.resolution)
        loss, dice = run("interpolation", p0, [delta], ts[:, None], **kw)
        arrays |= {"interp_t": ts, "interp_loss": loss, "interp_dice": dice}
        stats["interpolation"] = roughness(ts, loss)
    with atomic_path(Path(f"{stem}.npz")) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return stats


def _points(cfg, model, loss_fn, batches, buffers, desc: str, base, dirs, coords, **kw):
    """(loss, dice) at ``coords`` with the configured evaluation (``auto``: vmap batches
    on CUDA, the fast CPU path otherwise), with a progress bar."""
    evaluation = cfg.evaluation
    if evaluation == "auto":
        evaluation = "batched" if next(model.parameters()).device.type == "cuda" else "fast"
    coords = torch.as_tensor(coords, dtype=torch.float32)
    with progress(desc=f"landscape {desc}", total=len(coords), unit="point") as bar:
        kw["tick"] = bar.update
        if evaluation == "batched":
            loss, dice = evaluate_batched(model, loss_fn, batches, base, dirs, coords, buffers, chunk=cfg.chunk, **kw)
        elif evaluation == "fast":  # falls back to the loop off the CPU or for other models
            loss, dice = evaluate_fast(model, loss_fn, batches, base, dirs, coords, buffers, **kw)
        else:
            loss, dice = evaluate_loop(model, loss_fn, batches, base, dirs, coords, buffers, **kw)
    # A point whose loss is not finite stays in the arrays, as NaN in both: its hard
    # prediction comes from NaN logits (argmax's arbitrary pick), not from a model.
    bad = ~np.isfinite(loss)
    return as_nan(loss), np.where(bad, np.nan, dice)


def _interpolation(model, init_state: dict, best_state: dict, params: dict, buffers: dict, with_buffers: bool):
    """The initial weights θ0, the direction θ* − θ0 and, with ``with_buffers``, the
    float buffers blended the same way (evaluation keyword arguments)."""
    model.load_state_dict(init_state)
    p0, b0 = split_state(model)
    model.load_state_dict(best_state)
    delta = {k: params[k] - p0[k] for k in params}
    if not with_buffers:
        return p0, delta, {}
    floats = {k: v for k, v in buffers.items() if v.is_floating_point()}
    return (
        p0,
        delta,
        {
            "buffer_base": {**buffers, **{k: b0[k] for k in floats}},
            "buffer_dirs": [{k: buffers[k] - b0[k] for k in floats}],
        },
    )


ROUGHNESS_COLUMNS = ["cell", "kind", "n_nonfinite", "range", "curvature_1", "curvature_2", "nonconvex_fraction"]


def roughness_table(stats: dict[str, dict[str, dict]]) -> pd.DataFrame:
    """One row per cell and kind: ``ROUGHNESS_COLUMNS`` (``curvature_2`` is NaN for 1D
    kinds; ``n_nonfinite`` is NaN for a JSON written before it was recorded)."""
    rows = [{"cell": cell, "kind": kind, **numbers} for cell, kinds in stats.items() for kind, numbers in kinds.items()]
    table = pd.DataFrame(rows, columns=ROUGHNESS_COLUMNS)
    # a nullable int: counts print as counts, and an old JSON's missing count as <NA>
    return table.astype({"n_nonfinite": "Int64"})
