"""The report's own figures: curves per study and Dice against train fraction.

A row of a study is a seed group (``segsweep.report.stats.seed_groups``): curves show
its mean over seeds, with the seeds' range shaded when there are several. Rows are
named by what differs (``segsweep.report.pivot.row_labels``), one style per row, in
a legend outside the axes. Sizes are a paper's: the curves span both columns (7 in),
the fraction plot one (3.5 in).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from segsweep.figures import DOUBLE, SINGLE, legend_outside, row_style, save, subplots
from segsweep.report.pivot import row_labels
from segsweep.study_results import seed_groups


def curves_figure(
    cells: pd.DataFrame,
    table: pd.DataFrame,
    ids: list[str],
    curves: Path,
    study: str,
    stem: Path,
    reference: str = "baseline",
) -> None:
    """Training (solid) and validation (dashed) loss, and validation Dice, per epoch: one
    colour per table row (mean over its seeds; shaded: min–max over seeds)."""
    fig, axes = subplots(1, 2, width=DOUBLE, aspect=0.34)
    a, b = axes[0]
    labels = row_labels(table, reference)
    for i, group in enumerate(seed_groups(cells, ids)):
        hs = [pd.read_csv(curves / f"{c}.csv").set_index("epoch") for c in group]
        st = row_style(i)
        for col, ax, ls, lab in (
            ("train_loss", a, "-", labels[i]),
            ("val_loss", a, "--", None),
            ("val_dice", b, "-", None),
        ):
            frame = pd.concat([h[col] for h in hs], axis=1)
            ax.plot(frame.index, frame.mean(axis=1), color=st["color"], ls=ls, marker=st["marker"], ms=3, label=lab)
            if len(hs) > 1:
                ax.fill_between(frame.index, frame.min(axis=1), frame.max(axis=1), color=st["color"], alpha=0.12, lw=0)
    a.set(xlabel="epoch", ylabel="loss", title="training (solid), validation (dashed) loss")
    b.set(xlabel="epoch", ylabel="validation Dice", title="validation Dice")
    legend_outside(fig, a, title=f"study {study}")
    save(fig, stem)


def fraction_figure(table: pd.DataFrame, study: str, stem: Path, thresholds: tuple[float, ...] = ()) -> bool:
    """Test Dice (mean ± std over seeds) against ``train_fraction``, one line per
    combination of the study's other varying params (single column), and the no-learning
    reference (the global grey threshold's test Dice, ``thresholds``) as a dotted line.
    Returns False (no figure) when the study does not vary the train fraction."""
    if "train_fraction" not in table.columns:
        return False
    from segsweep.report.pivot import factor_labels
    from segsweep.report.tables import param_columns

    others = [c for c in param_columns(table) if c != "train_fraction"]
    fig, axes = subplots(width=SINGLE, aspect=0.75)
    ax = axes[0][0]
    labels = factor_labels(table, others) if others else ["all"] * len(table)
    for i, (label, sub) in enumerate(table.assign(_label=labels).groupby("_label", sort=False)):
        sub = sub.sort_values("train_fraction")
        st = row_style(i)
        std = sub["dice_std"].fillna(0).to_numpy() if (sub["n"] > 1).any() else None
        ax.errorbar(
            sub["train_fraction"].astype(float),
            sub["dice"],
            yerr=std,
            marker=st["marker"],
            capsize=3,
            color=st["color"],
            label=label if others else None,  # one line: nothing to tell apart
        )
        bad = sub[sub["dice"].isna()]
        if len(bad):
            ax.plot(bad["train_fraction"].astype(float), np.zeros(len(bad)), "x", color=st["color"])
    for k, dice in enumerate(t for t in thresholds if not np.isnan(t)):
        ax.axhline(dice, color="0.35", ls=":", lw=1, label="grey threshold (no learning)" if k == 0 else None)
    ax.set(xlabel="train fraction (share of the training pool)", ylabel="test Dice", title=f"study {study}")
    if others or thresholds:
        # below the axes: in one column a legend at the right leaves the x label no room
        handles, names = ax.get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center")
    save(fig, stem)
    return True


def images_figure(
    table: pd.DataFrame,
    groups: list[list[str]],
    scored: set[str],
    per_image: pd.DataFrame,
    study: str,
    stem: Path,
    reference: str = "baseline",
) -> int:
    """Per-test-image Dice of each row (the image's Dice averaged over the row's scored
    seeds): one dot per image, the median as a bar, the mean as a diamond; the reference
    row on top. A mean ± std hides a tail of failed images; this shows it.

    Args:
        table: the study table as shown (rows in ``groups`` order).
        groups: each row's cell ids.
        scored: the cells that were scored (not diverged).
        per_image: wide per-image Dice (cells × test cases, NaN for an empty reference).
        reference: the reference cell id (its row first).

    Returns:
        The number of test images plotted per row (those with a reference foreground).
    """
    labels = row_labels(table, reference)
    order = sorted(range(len(groups)), key=lambda i: reference not in groups[i])  # stable: study order
    rows = [per_image.reindex([c for c in groups[i] if c in scored]).mean(axis=0) for i in order]
    n = max((int(r.notna().sum()) for r in rows), default=0)
    fig, axes = subplots(width=DOUBLE, aspect=(0.5 + 0.22 * len(order)) / DOUBLE)
    ax = axes[0][0]
    rng = np.random.default_rng(0)  # a fixed jitter: the same figure, the same bytes
    for y, (i, values) in enumerate(zip(order, rows)):
        v = values.dropna().to_numpy()
        st = row_style(i)
        if len(v):
            ax.scatter(v, y + rng.uniform(-0.18, 0.18, len(v)), s=6, color=st["color"], alpha=0.6, lw=0)
            ax.plot([np.median(v)] * 2, [y - 0.3, y + 0.3], color="black", lw=1.2)
            ax.plot([v.mean()], [y], marker="D", ms=4, color="black", mfc="white")
    ax.set_yticks(range(len(order)), [labels[i] for i in order])
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set(xlim=(-0.02, 1.02), xlabel=f"test Dice per image (n = {n} images, mean over each row's scored seeds)")
    ax.set_title(f"study {study}: bar median, diamond mean", loc="left")
    save(fig, stem)
    return n
