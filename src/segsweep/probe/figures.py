"""Figures of the gradient probes (the numbers are computed in ``patches``, ``run``,
``pixels`` and ``dynamics``): gradient norms per patch kind and along training,
per-pixel gradient curves and maps, and the training dynamics (layer norms, study
overlays, the gradient-norm trend)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from segsweep.figures import DOUBLE, PALETTE, SINGLE, DistinctSci, legend_outside, plt, row_style, save

# --- gradient norms on patches ----------------------------------------------------------


def plot_kinds(table: pd.DataFrame, summary: pd.DataFrame, title: str, stem: Path, caption: str = "") -> None:
    """Per loss: every patch's gradient norm (log scale), both kinds, ratio annotated."""
    losses = list(dict.fromkeys(table["loss"]))
    fig, axes = plt.subplots(
        1, len(losses), figsize=(SINGLE if len(losses) <= 2 else DOUBLE, 2.8), sharey=True, squeeze=False
    )
    rng = np.random.default_rng(0)
    for ax, loss in zip(axes[0], losses):
        sub = table[table["loss"] == loss]
        for i, kind in enumerate(("fg_bg", "bg_only")):
            vals = sub.loc[sub["patch_kind"] == kind, "grad_norm"].clip(lower=1e-30)
            ax.scatter(i + rng.uniform(-0.15, 0.15, len(vals)), vals, s=8, alpha=0.6, color=PALETTE[i])
            ax.hlines(vals.mean(), i - 0.3, i + 0.3, color="black", lw=1.5)
        r = summary.loc[summary["loss"] == loss, "ratio_mean"].mean()
        ax.set_yscale("log")
        ax.set_xticks([0, 1], ["fg+bg", "bg only"])
        ax.set_title(f"{loss}\nratio {r:.1e}")
    axes[0][0].set_ylabel("gradient 2-norm (line: mean)")
    fig.suptitle(title)
    save(fig, stem, caption)


def plot_along_training(summary: pd.DataFrame, title: str, stem: Path, caption: str = "") -> None:
    fig, (a, b) = plt.subplots(1, 2, figsize=(DOUBLE, 2.6))
    for i, (loss, sub) in enumerate(summary.groupby("loss", sort=False)):
        sub = sub.sort_values("epoch")
        st = row_style(i)
        a.plot(sub["epoch"], sub["ratio_mean"], marker=st["marker"], color=st["color"], label=loss)
        b.plot(sub["epoch"], sub["fg_bg_mean"], marker=st["marker"], color=st["color"])
        b.plot(sub["epoch"], sub["bg_only_mean"], marker=st["marker"], ls="--", color=st["color"])
    a.set(yscale="log", xlabel="epoch", ylabel="mean bg-only / mean fg+bg", title="ratio")
    b.set(yscale="log", xlabel="epoch", ylabel="mean gradient 2-norm", title="solid: fg+bg, dashed: bg only")
    legend_outside(fig, a, title="loss")
    fig.suptitle(title)
    save(fig, stem, caption)


# --- per-pixel gradients --------------------------------------------------------------


def synthetic_curves(curves: pd.DataFrame, losses: list[str], size: int, stem: Path) -> None:
    """Rows loss, ∂L/∂p, ∂L/∂z; a column per loss; one line per label (``curves``:
    loss, label, p, loss value, dL_dp, dL_dz)."""
    fig, axes = plt.subplots(3, len(losses), figsize=(DOUBLE, 5.4), squeeze=False)
    for j, name in enumerate(losses):
        for label in (0, 1):
            df = curves[(curves["loss"] == name) & (curves["label"] == label)]
            for i, col in enumerate(("loss_value", "dL_dp", "dL_dz")):
                axes[i][j].plot(df["p"], df[col], color=PALETTE[label], label=f"label {label}")
        axes[0][j].set_title(name)
    for i, lab in enumerate(("loss", "∂L/∂p", "∂L/∂z (logit)")):
        axes[i][0].set_ylabel(lab)
    axes[0][0].legend()
    fig.supxlabel("prediction p of the swept pixel")
    fig.suptitle(f"One pixel swept, the rest of a {size}×{size} disk image at p = 0.5")
    n = curves["p"].nunique()
    save(
        fig,
        stem,
        f"One pixel's loss, ∂L/∂p and ∂L/∂logit (rows) per loss (columns) as its "
        f"predicted probability sweeps {n} values in (0, 1), for label 0 and 1; the other pixels of a "
        f"{size}×{size} disk image (one synthetic image, no training) held at p = 0.5.",
    )


def synthetic_maps(target: np.ndarray, maps: dict, losses: list[str], states: list[str], size: int, stem: Path) -> None:
    """Per loss (rows): the target, then |∂L/∂z| and |∂L/∂p| at each state
    (``maps[loss, state, wrt]``: (H, W) arrays)."""
    n_cols = 1 + 2 * len(states)
    # rows as tall as the square panels that fit the width beside their colour bars
    # (a taller figure left ~40 % of it empty)
    fig, axes = plt.subplots(len(losses), n_cols, figsize=(DOUBLE, 1.05 * len(losses) + 0.5), squeeze=False)
    for i, name in enumerate(losses):
        axes[i][0].imshow(target, cmap="gray")
        axes[i][0].set_ylabel(name)
        for k, state in enumerate(states):
            for m, wrt in enumerate(("logit", "probability")):
                ax = axes[i][1 + 2 * k + m]
                im = ax.imshow(maps[name, state, wrt], cmap="viridis")
                fig.colorbar(im, ax=ax, fraction=0.046, format=DistinctSci())
                if i == 0:
                    ax.set_title(f"{state}\n|∂L/∂{'z' if wrt == 'logit' else 'p'}|")
    _no_ticks(axes)
    axes[0][0].set_title("target")
    save(
        fig,
        stem,
        f"Per-pixel |∂L/∂logit| and |∂L/∂p| of each loss (rows) on a {size}×{size} disk "
        f"target, at p = 0.5 everywhere and at a partly trained state ({', '.join(states)}); one synthetic image.",
    )


@dataclass
class Panel:
    """One validation image at one snapshot: (H, W[, 3]) image, (H, W) mask and
    prediction, and |∂L/∂logits| (H, W) per loss."""

    case: str
    epoch: int
    image: np.ndarray
    mask: np.ndarray
    prediction: np.ndarray
    grads: dict[str, np.ndarray]


def checkpoints(panels: list[Panel], losses: list[str], n_images: int, n_snapshots: int, stem: Path) -> None:
    """One row per panel: image, mask, prediction, then each loss's gradient map."""
    n_cols, n_rows = 3 + len(losses), len(panels)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(DOUBLE, DOUBLE / n_cols * 1.15 * n_rows + 0.4), squeeze=False)
    for r, panel in enumerate(panels):
        rgb = panel.image.ndim == 3
        axes[r][0].imshow(panel.image.clip(0, 1), cmap=None if rgb else "gray")
        axes[r][0].set_ylabel(f"{panel.case}\nepoch {panel.epoch}")
        axes[r][1].imshow(panel.mask, cmap="gray")
        axes[r][2].imshow(panel.prediction, cmap="gray")
        for j, name in enumerate(losses):
            im = axes[r][3 + j].imshow(panel.grads[name], cmap="viridis")
            fig.colorbar(im, ax=axes[r][3 + j], fraction=0.046, format=DistinctSci())
    for j, title in enumerate(["image", "mask", "prediction", *(f"{n}:\n|∂L/∂logits|" for n in losses)]):
        axes[0][j].set_title(title)
    _no_ticks(axes)
    cell = stem.name.removeprefix("cell_")
    save(
        fig,
        stem,
        f"Cell {cell}: image, reference mask, prediction and |∂L/∂logits| of each loss on "
        f"{n_images} validation images (rows) at {n_snapshots} weight snapshots along training.",
    )


def _no_ticks(axes) -> None:
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])


# --- training dynamics ----------------------------------------------------------------


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
    # short titles and no suptitle: over three panels and a legend, longer ones ran into
    # each other and into the legend (the caption says the rest)
    for ax, title in zip(axes, ("gradient 2-norm", "update 2-norm", "training loss")):
        ax.set(xlabel=f"step (mean of {window})", title=title)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    legend_outside(fig, axes[0], title=f"study {study}")
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
    _thin_layer_labels(fig, ax, layers)
    save(
        fig,
        stem,
        f"Study {study}: per layer, mean gradient 2-norm over the last {share:.0%} of logged "
        f"steps divided by the mean over the first {share:.0%} (1: no trend), geometric mean over seeds with "
        f"a 95 % t-interval on the log ratios; n seeds per row in the legend.",
    )


def _thin_layer_labels(fig, ax, layers: list[str]) -> None:
    """Label every k-th layer when the vertical labels would touch (40 layers in 4 in do):
    k from the drawn slot width and label height; every layer keeps a minor tick."""
    fig.draw_without_rendering()
    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    if not labels:
        return
    pitch = ax.get_window_extent().width / max(len(layers), 1)
    height = max(t.get_window_extent().width for t in labels)  # a vertical label's width is its line height
    step = math.ceil(height * 1.2 / pitch) if pitch > 0 else 1
    if step > 1:
        ax.set_xticks(range(0, len(layers), step), layers[::step], rotation=90)
        ax.set_xticks(range(len(layers)), minor=True)
