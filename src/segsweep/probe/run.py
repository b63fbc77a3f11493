"""Drivers of ``segsweep probe patches``: an initialisation probe and a probe along a
cell's training (its snapshots), each writing a table, a ratio summary and a figure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from segsweep import checkpoint
from segsweep.io import atomic_path
from segsweep.losses import build_loss
from segsweep.models import build_model
from segsweep.probe.figures import plot_along_training, plot_kinds
from segsweep.probe.patches import load_patches, pick_patches, probe_state, ratios


def build_losses(probe, output: str) -> dict:
    """``probe.losses`` (typed loss models, their own settings) by name, for a
    ``softmax`` or ``sigmoid`` head."""
    return {loss.name: build_loss(loss, output) for loss in probe.losses}


def _write_tables(table: pd.DataFrame, summary: pd.DataFrame, stem: Path) -> None:
    for df, path in (
        (table, Path(f"{stem}.parquet")),
        (table, Path(f"{stem}.csv")),
        (summary, Path(f"{stem}_summary.csv")),
    ):
        with atomic_path(path) as tmp:
            df.to_parquet(tmp, index=False) if path.suffix == ".parquet" else df.to_csv(tmp, index=False)


def probe_init(probe, patches_dir: Path, ndim: int, stem: Path, cases: list[str] | None = None) -> pd.DataFrame:
    """Probe freshly initialised models (``probe.init.model``, one per seed) on patches
    of ``cases`` (the training cases of the baseline's split; ``None``: all)."""
    table, images, masks = load_patches(patches_dir)
    picks = pick_patches(table, images, probe.n_patches, probe.seed, cases)
    losses = build_losses(probe, probe.init.model.output)
    frames = []
    for seed in probe.init.seeds:
        torch.manual_seed(seed)
        model = build_model(probe.init.model, ndim, images.shape[1])
        df = probe_state(model, losses, images, masks, picks, probe.batch_size, probe.bn_mode)
        frames.append(df.assign(state=f"init_seed{seed}", seed=seed, epoch=0))
    result = pd.concat(frames, ignore_index=True)
    summary = ratios(result, ["epoch"])
    _write_tables(result, summary, stem)
    n = _counts(result)
    plot_kinds(
        result,
        summary,
        f"Gradient norm at initialisation ({ndim}D U-Net, seeds {', '.join(map(str, probe.init.seeds))})",
        stem,
        f"Gradient 2-norm of each loss (panels) on foreground+background and on background-only training "
        f"patches ({n}), for {len(probe.init.seeds)} freshly initialised {ndim}D U-Nets (seeds "
        f"{', '.join(map(str, probe.init.seeds))}); points: patches, line: mean, log scale; the panel title "
        f"gives the mean bg-only / mean fg+bg ratio.",
    )
    return summary


def probe_cell(
    probe, cell_cfg, snapshots: Path, patches_dir: Path, ndim: int, stem: Path, cases: list[str] | None = None
) -> pd.DataFrame:
    """Probe every snapshot of a trained cell on patches of ``cases`` (the cell's own
    training cases; ``None``: all): the ratio against training epoch."""
    table, images, masks = load_patches(patches_dir)
    picks = pick_patches(table, images, probe.n_patches, probe.seed, cases)
    losses = build_losses(probe, cell_cfg.model.output)
    model = build_model(cell_cfg.model, ndim, images.shape[1])
    frames = []
    for path in checkpoint.list_snapshots(snapshots):
        snap = checkpoint.load(path)
        model.load_state_dict(snap["model"])
        df = probe_state(model, losses, images, masks, picks, probe.batch_size, probe.bn_mode)
        frames.append(df.assign(state=path.stem, seed=cell_cfg.seed, epoch=snap["epoch"]))
    result = pd.concat(frames, ignore_index=True)
    summary = ratios(result, ["epoch"])
    _write_tables(result, summary, stem)
    name = Path(stem).name.removeprefix("cell_")
    plot_along_training(
        summary,
        f"{name}: bg_only / fg_bg gradient norm along training",
        stem,
        f"Cell {name}: mean bg-only / mean fg+bg gradient 2-norm (left) and both means (right) per "
        f"loss, at each of {summary['epoch'].nunique()} weight snapshots along its training "
        f"(seed {cell_cfg.seed}; {_counts(result)}).",
    )
    return summary


def _counts(result: pd.DataFrame) -> str:
    """``n = 8 fg+bg and 8 bg-only patches``: distinct patches per kind probed."""
    per = result.groupby("patch_kind")["patch"].nunique() if "patch" in result else result["patch_kind"].value_counts()
    return f"n = {per.get('fg_bg', 0)} fg+bg and {per.get('bg_only', 0)} bg-only patches"


def pixels_cell(probe, cell_cfg, snapshots: Path, prepared: Path, split: Path, ndim: int, out: Path) -> None:
    """Per-pixel gradient maps of ``probe.losses`` on the first ``probe.pixels.n_images``
    validation images of a cell, at each of its snapshots (``pixels.checkpoints``)."""
    from segsweep.probe import pixels
    from segsweep.train.data import load_eval_images, read_split

    cases = read_split(split)["val"][: probe.pixels.n_images]
    val = load_eval_images(prepared, cases, ndim, 2**cell_cfg.model.depth)
    model = build_model(cell_cfg.model, ndim, val[0].image.shape[1])
    pixels.checkpoints(
        build_losses(probe, cell_cfg.model.output), model, checkpoint.list_snapshots(snapshots), val, out
    )
