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
∂L/∂p = (∂L/∂z) / (p(1 − p)) for the sigmoid head.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from segsweep import checkpoint
from segsweep.figures import DOUBLE, PALETTE, plt, save
from segsweep.io import atomic_path


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
    # Curves: loss, ∂L/∂p, ∂L/∂z for each loss, both labels.
    fig, axes = plt.subplots(3, len(losses), figsize=(DOUBLE, 5.4), squeeze=False)
    for j, (name, fn) in enumerate(losses.items()):
        for label in (0, 1):
            df = sweep(fn, size, label, ps)
            for i, col in enumerate(("loss", "dL_dp", "dL_dz")):
                axes[i][j].plot(df["p"], df[col], color=PALETTE[label], label=f"label {label}")
        axes[0][j].set_title(name)
    for i, lab in enumerate(("loss", "∂L/∂p", "∂L/∂z (logit)")):
        axes[i][0].set_ylabel(lab)
    axes[0][0].legend()
    fig.supxlabel("prediction p of the swept pixel")
    fig.suptitle(f"One pixel swept, the rest of a {size}×{size} disk image at p = 0.5")
    save(
        fig,
        Path(f"{stem}_curves"),
        f"One pixel's loss, ∂L/∂p and ∂L/∂logit (rows) per loss (columns) as its "
        f"predicted probability sweeps {len(ps)} values in (0, 1), for label 0 and 1; the other pixels of a "
        f"{size}×{size} disk image (one synthetic image, no training) held at p = 0.5.",
    )

    rows = []
    n_cols = 1 + 2 * len(states)
    fig, axes = plt.subplots(
        len(losses), n_cols, figsize=(DOUBLE, DOUBLE / n_cols * 1.25 * len(losses) + 0.4), squeeze=False
    )
    for i, (name, fn) in enumerate(losses.items()):
        axes[i][0].imshow(target[0, 0].numpy(), cmap="gray")
        axes[i][0].set_ylabel(name)
        for k, (state, z) in enumerate(states.items()):
            _, gz, gp = pixel_grads(fn, z, target)
            for m, (wrt, g) in enumerate((("logit", gz), ("probability", gp))):
                ax = axes[i][1 + 2 * k + m]
                im = ax.imshow(g[0, 0].abs().numpy(), cmap="viridis")
                fig.colorbar(im, ax=ax, fraction=0.046, format="%.0e")
                if i == 0:
                    ax.set_title(f"{state}\n|∂L/∂{'z' if wrt == 'logit' else 'p'}|")
                rows.append({"loss": name, "state": state, "wrt": wrt, **fg_bg_summary(g, target)})
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].set_title("target")
    save(
        fig,
        Path(f"{stem}_maps"),
        f"Per-pixel |∂L/∂logit| and |∂L/∂p| of each loss (rows) on a {size}×{size} disk "
        f"target, at p = 0.5 everywhere and at a partly trained state ({', '.join(states)}); one synthetic image.",
    )
    summary = pd.DataFrame(rows)
    with atomic_path(Path(f"{stem}_summary.csv")) as tmp:
        summary.to_csv(tmp, index=False)
    return summary


def checkpoints(losses: dict, model: torch.nn.Module, snapshots: list[Path], val: list, stem: Path) -> pd.DataFrame:
    """|∂L/∂logits| maps on validation images at each snapshot (channels: 2-norm).

    Args:
        val: ``segsweep.train.data.EvalImage`` items (padded image, mask, extent).
    """
    from segsweep.metrics import predict

    rows = []
    n_cols = 3 + len(losses)
    n_rows = len(val) * len(snapshots)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(DOUBLE, DOUBLE / n_cols * 1.15 * n_rows + 0.4), squeeze=False)
    r = 0
    for v in val:
        crop = (slice(None), slice(None), *(slice(0, s) for s in v.extent))
        for path in snapshots:
            snap = checkpoint.load(path)
            model.load_state_dict(snap["model"])
            model.eval()
            with torch.no_grad():
                logits = model(v.image)[crop]
            mask = v.mask[crop]
            image = v.image[crop][0]
            shown = image.permute(1, 2, 0).numpy() if image.shape[0] == 3 else image[0].numpy()
            axes[r][0].imshow(shown.clip(0, 1), cmap=None if image.shape[0] == 3 else "gray")
            axes[r][0].set_ylabel(f"{v.case}\nepoch {snap['epoch']}")
            axes[r][1].imshow(mask[0, 0].numpy(), cmap="gray")
            axes[r][2].imshow(predict(logits)[0].numpy(), cmap="gray")
            for j, (name, fn) in enumerate(losses.items()):
                z = logits.clone().requires_grad_(True)
                (g,) = torch.autograd.grad(fn(z, mask), z)
                mag = g[0].norm(dim=0)
                im = axes[r][3 + j].imshow(mag.numpy(), cmap="viridis")
                fig.colorbar(im, ax=axes[r][3 + j], fraction=0.046, format="%.0e")
                rows.append(
                    {
                        "case": v.case,
                        "epoch": snap["epoch"],
                        "loss": name,
                        **fg_bg_summary(mag[None, None], mask.float()),
                    }
                )
            r += 1
    for j, title in enumerate(["image", "mask", "prediction", *(f"{n}:\n|∂L/∂logits|" for n in losses)]):
        axes[0][j].set_title(title)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    cell = Path(stem).name.removeprefix("cell_")
    save(
        fig,
        Path(stem),
        f"Cell {cell}: image, reference mask, prediction and |∂L/∂logits| of each loss on "
        f"{len(val)} validation images (rows) at {len(snapshots)} weight snapshots along training.",
    )
    summary = pd.DataFrame(rows)
    with atomic_path(Path(f"{stem}_summary.csv")) as tmp:
        summary.to_csv(tmp, index=False)
    return summary
