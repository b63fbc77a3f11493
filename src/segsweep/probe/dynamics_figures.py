"""Figures of the training dynamics (``segsweep.probe.dynamics`` computes the numbers):
per-cell layer norms, per-study overlays of gradient norm, update norm and loss, and
the study's gradient-norm trend per layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from segsweep.figures import DOUBLE, PALETTE, legend_outside, plt, row_style, save


def smooth(s: pd.Series, window: int) -> pd.Series:
    return s.rolling(window, min_periods=1).mean()


def plot_cell(norms: pd.DataFrame, cell: str, window: int, stem: Path) -> None:
    layers = [c[len("grad/") :] for c in norms.columns if c.startswith("grad/")]
    colours = plt.get_cmap("viridis")(np.linspace(0, 1, max(len(layers), 1)))
    fig, axes = plt.subplots(1, 3, figsize=(DOUBLE, 2.6))
    for kind, ax in zip(("grad", "update"), axes[:2]):
        for layer, colour in zip(layers, colours):
            ax.plot(norms["step"], smooth(norms[f"{kind}/{layer}"], window), color=colour, lw=0.8)
        ax.set(yscale="log", xlabel="step", title=f"per-layer {kind} 2-norm\n(input → output: dark → light)")
    axes[2].plot(norms["step"], smooth(norms["loss"], window), color=PALETTE[0])
    axes[2].set(xlabel="step", ylabel="training loss", title="loss")
    fig.suptitle(f"{cell}: smoothed over {window} steps")
    save(
        fig,
        stem,
        f"Cell {cell}: per-layer gradient and update 2-norms and the training loss at each of "
        f"{len(norms)} logged optimizer steps (one seed), rolling mean over {window} steps.",
    )


def plot_study(
    frames: dict[str, pd.DataFrame], rows: dict[str, list[str]], study: str, window: int, stem: Path
) -> None:
    """Total gradient and update norm and the loss per step: one colour and marker per
    row of the study (``seed_rows``), one thin line per seed of the row."""
    fig, axes = plt.subplots(1, 3, figsize=(DOUBLE, 2.6))
    for i, (label, cells) in enumerate(rows.items()):
        st = row_style(i)
        for k, cell in enumerate(c for c in cells if c in frames):
            norms = frames[cell]
            for ax, col in zip(axes, ("grad_total", "update_total", "loss")):
                ax.plot(
                    norms["step"],
                    smooth(norms[col], window),
                    color=st["color"],
                    lw=0.8,
                    marker=st["marker"],
                    ms=2.5,
                    markevery=max(len(norms) // 6, 1),
                    label=f"{label} ({len(cells)} seeds)" if k == 0 else None,
                )
    for ax, title in zip(axes, ("gradient 2-norm (all layers)", "update 2-norm (all layers)", "training loss")):
        ax.set(xlabel="step", title=title)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    legend_outside(fig, axes[0])
    fig.suptitle(f"study {study}: smoothed over {window} steps")
    n = ", ".join(f"{label}: {len(cells)}" for label, cells in rows.items())
    save(
        fig,
        stem,
        f"Study {study}: total gradient 2-norm, update 2-norm and training loss per optimizer step, "
        f"rolling mean over {window} steps; one colour and marker per row, one line per seed (seeds per row: {n}).",
    )


def plot_trend(table: pd.DataFrame, study: str, stem: Path, share: float) -> None:
    """Ratio per layer (x, network order) on a log axis, one colour per row, 95 %
    intervals as error bars, a dashed line at 1 (no trend)."""
    layers = list(dict.fromkeys(table["layer"]))
    x = {layer: i for i, layer in enumerate(layers)}
    labels = list(dict.fromkeys(table["row"]))
    fig, ax = plt.subplots(figsize=(DOUBLE, 3.4))
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--", zorder=0)
    width = 0.6 / max(len(labels), 1)  # rows side by side within a layer's slot
    for i, label in enumerate(labels):
        sub = table[table["row"] == label]
        pos = np.array([x[layer] for layer in sub["layer"]]) + (i - (len(labels) - 1) / 2) * width
        mean = sub["ratio_mean"].to_numpy()
        # no interval (one seed): a point without a bar
        err = np.nan_to_num(np.vstack([mean - sub["ci95_low"], sub["ci95_high"] - mean]), nan=0.0)
        seeds = sorted(set(sub["n_seeds"]))
        n = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]}"
        st = row_style(i)
        ax.errorbar(
            pos,
            mean,
            yerr=err,
            fmt=st["marker"],
            ms=3.5,
            capsize=2,
            lw=1,
            color=st["color"],
            label=f"{label} (n = {n})",
        )
    ax.set_xticks(range(len(layers)), layers, rotation=90)
    ax.set(
        yscale="log",
        xlabel="layer (input → output)",
        ylabel=f"grad 2-norm, last / first {share:.0%} of steps",
        title=f"study {study}: gradient-norm trend per layer\n(geometric mean over seeds, 95 % CI)",
    )
    legend_outside(fig, ax)
    save(
        fig,
        stem,
        f"Study {study}: per layer, mean gradient 2-norm over the last {share:.0%} of logged "
        f"steps divided by the mean over the first {share:.0%} (1: no trend), geometric mean over seeds with "
        f"a 95 % t-interval on the log ratios; n seeds per row in the legend.",
    )
