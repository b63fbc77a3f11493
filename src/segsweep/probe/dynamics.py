"""Training dynamics from the per-step logs (``norms.parquet``) of the cells.

Per cell: per-layer gradient 2-norm and update (Δw) 2-norm against the step, semilog,
smoothed by a rolling mean. Per study: the cells' total gradient norm, update norm
and loss side by side (e.g. SGD with momentum vs Adam vs RMSprop; schedulers).
Under momentum the update is not −lr·grad: the two panels differ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from segsweep.figures import PALETTE, plt, save
from segsweep.io import atomic_path


def smooth(s: pd.Series, window: int) -> pd.Series:
    return s.rolling(window, min_periods=1).mean()


def plot_cell(norms: pd.DataFrame, cell: str, window: int, stem: Path) -> None:
    layers = [c[len("grad/"):] for c in norms.columns if c.startswith("grad/")]
    colours = plt.get_cmap("viridis")(np.linspace(0, 1, max(len(layers), 1)))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for kind, ax in zip(("grad", "update"), axes[:2]):
        for layer, colour in zip(layers, colours):
            ax.plot(norms["step"], smooth(norms[f"{kind}/{layer}"], window), color=colour, lw=0.8)
        ax.set(yscale="log", xlabel="step", title=f"per-layer {kind} 2-norm (input → output: dark → light)")
    axes[2].plot(norms["step"], smooth(norms["loss"], window), color=PALETTE[0])
    axes[2].set(xlabel="step", ylabel="training loss", title="loss")
    fig.suptitle(f"{cell}: smoothed over {window} steps")
    save(fig, stem)


def plot_study(frames: dict[str, pd.DataFrame], study: str, window: int, stem: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for i, (cell, norms) in enumerate(frames.items()):
        colour = PALETTE[i % len(PALETTE)]
        for ax, col in zip(axes, ("grad_total", "update_total", "loss")):
            ax.plot(norms["step"], smooth(norms[col], window), color=colour, label=cell, lw=1)
    for ax, title in zip(axes, ("gradient 2-norm (all layers)", "update 2-norm (all layers)", "training loss")):
        ax.set(xlabel="step", title=title)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"study '{study}': smoothed over {window} steps")
    save(fig, stem)


def dynamics(cells: dict[str, Path], studies: dict[str, list[str]], window: int, out: Path) -> pd.DataFrame:
    """Figures for every cell in ``cells`` (id -> norms.parquet) and every study; returns
    per-cell summary numbers (first/last smoothed gradient and update norms)."""
    with atomic_path(out) as tmp:
        tmp.mkdir()
        return _dynamics({c: pd.read_parquet(p) for c, p in cells.items()}, studies, window, tmp)


def _dynamics(frames: dict[str, pd.DataFrame], studies: dict[str, list[str]], window: int, out: Path) -> pd.DataFrame:
    rows = []
    for cell, norms in frames.items():
        if "grad_total" not in norms or norms.empty:
            continue  # log_norms was off, or the cell diverged at once
        plot_cell(norms, cell, window, out / f"cell_{cell}")
        g, u = smooth(norms["grad_total"], window), smooth(norms["update_total"], window)
        rows.append({"cell": cell, "steps": len(norms), "grad_first": g.iloc[0], "grad_last": g.iloc[-1],
                     "update_first": u.iloc[0], "update_last": u.iloc[-1],
                     "update_over_lr_grad_last": u.iloc[-1] / (norms["lr"].iloc[-1] * g.iloc[-1])})
    for study, ids in studies.items():
        plot_study({c: frames[c] for c in ids if c in frames and "grad_total" in frames[c]}, study, window,
                   out / f"study_{study}")
    summary = pd.DataFrame(rows)
    summary.to_csv(out / "summary.csv", index=False)
    return summary
