"""The report's own figures: curves per study and Dice against train fraction.

A row of a study is a seed group (``segsweep.report.stats.seed_groups``): curves show
its mean over seeds, with the seeds' range shaded when there are several.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from segsweep.figures import PALETTE, plt, save
from segsweep.report.stats import seed_groups
from segsweep.report.render import factor_labels
from segsweep.report.tables import METRICS


def curves_figure(cells: pd.DataFrame, table: pd.DataFrame, ids: list[str], curves: Path, study: str,
                  width: float, stem: Path) -> None:
    """Training (solid) and validation (dashed) loss, and validation Dice, per epoch: one
    colour per table row (mean over its seeds; shaded: min–max over seeds)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(width, width * 0.36))
    for i, (group, (_, row)) in enumerate(zip(seed_groups(cells, ids), table.iterrows())):
        hs = [pd.read_csv(curves / f"{c}.csv").set_index("epoch") for c in group]
        # the row's cell id: it names what differs from the baseline, as in the table
        colour, label = PALETTE[i % len(PALETTE)], str(row["cell"])
        for col, ax, ls, lab in (("train_loss", a, "-", label), ("val_loss", a, "--", None),
                                 ("val_dice", b, "-", label)):
            frame = pd.concat([h[col] for h in hs], axis=1)
            ax.plot(frame.index, frame.mean(axis=1), color=colour, ls=ls, label=lab)
            if len(hs) > 1:
                ax.fill_between(frame.index, frame.min(axis=1), frame.max(axis=1), color=colour, alpha=0.15, lw=0)
    a.set(xlabel="epoch", ylabel="loss", title="training (solid) and validation (dashed) loss")
    b.set(xlabel="epoch", ylabel="validation Dice", title="validation Dice")
    b.legend(fontsize="small")
    fig.suptitle(f"study '{study}'")
    save(fig, stem)


def _param_cols(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in METRICS and c not in ("cell", "seeds")]


def fraction_figure(table: pd.DataFrame, study: str, width: float, stem: Path) -> bool:
    """Dice (mean ± std over seeds) against ``train_fraction``, one line per combination
    of the study's other varying params. Returns False (no figure) when the study does
    not vary the train fraction."""
    if "train_fraction" not in table.columns:
        return False
    others = [c for c in _param_cols(table) if c != "train_fraction"]
    fig, ax = plt.subplots(figsize=(width * 0.5, width * 0.36))
    labels = factor_labels(table, others) if others else ["all"] * len(table)
    for i, (label, sub) in enumerate(table.assign(_label=labels).groupby("_label", sort=False)):
        sub = sub.sort_values("train_fraction")
        std = sub["dice_std"].fillna(0).to_numpy() if (sub["n"] > 1).any() else None
        ax.errorbar(sub["train_fraction"].astype(float), sub["dice"], yerr=std, marker="o", capsize=3,
                    color=PALETTE[i % len(PALETTE)], label=label)
        bad = sub[sub["dice"].isna()]
        if len(bad):
            ax.plot(bad["train_fraction"].astype(float), np.zeros(len(bad)), "x", color=PALETTE[i % len(PALETTE)])
    ax.set(xlabel="train fraction (of the cases)", ylabel="validation Dice", title=f"study '{study}'")
    if others:
        ax.legend(fontsize="small")
    save(fig, stem)
    return True
