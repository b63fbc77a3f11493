"""Per-pixel gradients of each loss with respect to the logits and the probabilities.

(a) Controlled synthetic predictions (sigmoid head, one logit z per pixel, p = σ(z)):
    - curves: one pixel's loss and derivatives as its prediction sweeps (0, 1), for
      label 0 and label 1, every other pixel of a disk image held at p = 0.5;
    - maps: a disk target with predictions at 0.5 everywhere, and at a partly-trained
      state (a blurred, noisy version of the target).
(b) Validation images of a trained cell at several snapshots: |∂L/∂logits| heatmaps
    beside image, mask and prediction.
Summary per loss and state: mean |gradient| on foreground vs background pixels.

Soft dice couples all pixels (a pixel's gradient depends on the whole image);
cross-entropy does not (a pixel's gradient depends on its own prediction and label).
∂L/∂p = (∂L/∂z) / (p(1 − p)) for the sigmoid head. The figures are drawn by
``segsweep.probe.figures``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from segsweep import checkpoint
from segsweep.io import atomic_path
from segsweep.metrics import predict
from segsweep.probe import figures


def disk(size: int, radius_frac: float = 0.25) -> torch.Tensor:
    """(1, 1, size, size) float {0, 1} disk in the centre."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    c = (size - 1) / 2
    return (((yy - c) ** 2 + (xx - c) ** 2) <= (radius_frac * size) ** 2).float()[None, None]


def partly_trained(target: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Logits of a plausible half-trained prediction: blurred target, noise, margin ±2."""
    g = torch.Generator().manual_seed(seed)
    k = torch.ones(1, 1, 7, 7) / 49
    soft = torch.nn.functional.conv2d(target, k, padding=3)
    return 4 * (soft - 0.5) + 0.5 * torch.randn(target.shape, generator=g)


def pixel_grads(loss_fn, logits: torch.Tensor, target: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Loss, ∂L/∂z and ∂L/∂p (sigmoid head) per pixel, shapes of ``logits``."""
    z = logits.clone().requires_grad_(True)
    loss = loss_fn(z, target)
    (gz,) = torch.autograd.grad(loss, z)
    p = torch.sigmoid(z.detach())
    return float(loss.detach()), gz, gz / (p * (1 - p)).clamp_min(1e-12)


def sweep(loss_fn, size: int, label: int, ps: np.ndarray) -> pd.DataFrame:
    """One pixel (inside the disk for label 1, outside for 0) swept over ``ps``."""
    target = disk(size)
    pos = (size // 2, size // 2) if label == 1 else (1, 1)
    rows = []
    for p in ps:
        z = torch.zeros_like(target)
        z[0, 0, pos[0], pos[1]] = float(np.log(p / (1 - p)))
        loss, gz, gp = pixel_grads(loss_fn, z, target)
        rows.append(
            {
                "label": label,
                "p": p,
                "loss": loss,
                "dL_dz": float(gz[0, 0, pos[0], pos[1]]),
                "dL_dp": float(gp[0, 0, pos[0], pos[1]]),
            }
        )
    return pd.DataFrame(rows)


def fg_bg_summary(g: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    a, t = g.abs().flatten(), target.flatten() > 0.5
    fg, bg = float(a[t].mean()) if t.any() else np.nan, float(a[~t].mean()) if (~t).any() else np.nan
    return {"mean_abs_fg": fg, "mean_abs_bg": bg, "fg_over_bg": fg / bg if bg else np.nan}


def synthetic(losses: dict, size: int, stem: Path) -> pd.DataFrame:
    """Curves and maps on controlled predictions; writes figures and the summary table."""
    ps = np.linspace(0.005, 0.995, 99)
    target = disk(size)
    states = {"p=0.5": torch.zeros_like(target), "partly trained": partly_trained(target)}
    curves = pd.concat(
        [
            sweep(fn, size, label, ps).rename(columns={"loss": "loss_value"}).assign(loss=name)
            for name, fn in losses.items()
            for label in (0, 1)
        ],
        ignore_index=True,
    )
    rows, maps = [], {}
    for name, fn in losses.items():
        for state, z in states.items():
            _, gz, gp = pixel_grads(fn, z, target)
            for wrt, g in (("logit", gz), ("probability", gp)):
                maps[name, state, wrt] = g[0, 0].abs().numpy()
                rows.append({"loss": name, "state": state, "wrt": wrt, **fg_bg_summary(g, target)})
    figures.synthetic_curves(curves, list(losses), size, Path(f"{stem}_curves"))
    figures.synthetic_maps(target[0, 0].numpy(), maps, list(losses), list(states), size, Path(f"{stem}_maps"))
    summary = pd.DataFrame(rows)
    with atomic_path(Path(f"{stem}_summary.csv")) as tmp:
        summary.to_csv(tmp, index=False)
    return summary


def checkpoints(losses: dict, model: torch.nn.Module, snapshots: list[Path], val: list, stem: Path) -> pd.DataFrame:
    """|∂L/∂logits| maps on validation images at each snapshot (channels: 2-norm).

    Args:
        val: ``segsweep.train.data.EvalImage`` items (padded image, mask, extent).
    """
    rows, panels = [], []
    for v in val:
        crop = (slice(None), slice(None), *(slice(0, s) for s in v.extent))
        for path in snapshots:
            snap = checkpoint.load(path)
            model.load_state_dict(snap["model"])
            model.eval()
            with torch.no_grad():
                logits = model(v.image)[crop]
            mask = v.mask[crop]
            grads = {}
            for name, fn in losses.items():
                z = logits.clone().requires_grad_(True)
                (g,) = torch.autograd.grad(fn(z, mask), z)
                grads[name] = g[0].norm(dim=0)
                summary = fg_bg_summary(grads[name][None, None], mask.float())
                rows.append({"case": v.case, "epoch": snap["epoch"], "loss": name, **summary})
            image = v.image[crop][0]
            panels.append(
                figures.Panel(
                    case=v.case,
                    epoch=snap["epoch"],
                    image=image.permute(1, 2, 0).numpy() if image.shape[0] == 3 else image[0].numpy(),
                    mask=mask[0, 0].numpy(),
                    prediction=predict(logits)[0].numpy(),
                    grads={n: g.numpy() for n, g in grads.items()},
                )
            )
    figures.checkpoints(panels, list(losses), len(val), len(snapshots), Path(stem))
    summary = pd.DataFrame(rows)
    with atomic_path(Path(f"{stem}_summary.csv")) as tmp:
        summary.to_csv(tmp, index=False)
    return summary
