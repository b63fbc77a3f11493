"""Train one grid cell, top to bottom: set up, run epochs, select weights, score them
on the test set, write the outputs.

Deterministic on CPU: every random draw comes from the cell's seed (weights, dropout,
the batch order, which depends only on (seed, epoch)), the thread count is fixed by
params and torch runs its deterministic algorithms. A resumable state is written
atomically after every epoch; a restarted job with the same settings continues from it
and ends with the same numbers as an uninterrupted run. A NaN/inf loss ends the cell
with status ``diverged``; it is a result, not a crash.

The evaluation protocol (``segsweep.train.evaluate``, ``Train.evaluation``): every
epoch the weights are scored on the validation images (curves, ``best_val``) after
re-estimating batch-norm statistics on fixed training batches; at the end the selected
weights are scored once on the test images, which nothing else ever looks at.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from segsweep import checkpoint
from segsweep.config import Train
from segsweep.io import write_json
from segsweep.optim import lr_factor
from segsweep.progress import progress
from segsweep.train import done
from segsweep.train.data import (
    epoch_batches,
)
from segsweep.train.evaluate import precise_bn, score_images
from segsweep.train.results import score_and_write, track_selection
from segsweep.train.setup import Setup, setup
from segsweep.train.state import TrainState

log = logging.getLogger("segsweep.train")

# Work in progress lives in .work/ (not a declared output, so a restarted job finds
# it); snapshots move to snapshots/ when the cell is done.
WORK = ".work"
RESUME = f"{WORK}/resume.pt"
OUTPUTS = ("metrics.json", "history.csv", "norms.parquet", "checkpoint_selected.pt", "checkpoint_last.pt", "snapshots")


def _penalty(model: torch.nn.Module, l1: float, l2: float) -> torch.Tensor | float:
    """l1·Σ|w| + l2·Σw² over conv weights (tensors of rank > 1): not biases or BN."""
    if l1 == 0 and l2 == 0:
        return 0.0
    weights = [p for p in model.parameters() if p.ndim > 1]
    total = 0.0
    if l1:
        total = total + l1 * torch.stack([w.abs().sum() for w in weights]).sum()
    if l2:
        total = total + l2 * torch.stack([(w * w).sum() for w in weights]).sum()
    return total


def run_epoch(
    cfg: Train,
    epoch: int,
    model,
    optimizer,
    scaler,
    loss_fn,
    data,
    norms,
    device,
    state: TrainState,
) -> list[float]:
    """One epoch of optimizer steps; returns the batch losses. A non-finite loss stops
    the epoch and sets ``state.diverged_at``."""
    use_amp = cfg.amp and device.type == "cuda"
    lr = cfg.optimizer.lr * lr_factor(cfg.scheduler, epoch, cfg.epochs)
    for group in optimizer.param_groups:
        group["lr"] = lr
    model.train()
    losses = []
    for rows in epoch_batches(len(data.index), cfg.batch_size, cfg.seed, epoch, cfg.steps_per_epoch):
        x, y = data.batch(rows)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
            logits = model(x)
        loss = loss_fn(logits.float(), y) + _penalty(model, cfg.regularization.l1, cfg.regularization.l2)
        value = float(loss.detach())
        if not math.isfinite(value):
            state.diverged_at = {"epoch": epoch, "step": len(state.steps)}
            break
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if norms is not None:
            scaler.unscale_(optimizer)
            norms.before_step()
        scaler.step(optimizer)
        scaler.update()
        if norms is not None:
            norms.after_step()
        state.steps.append({"step": len(state.steps), "epoch": epoch, "loss": value, "lr": lr})
        losses.append(value)
        state.seen += x.shape[0]
    return losses


def train_epoch(run: Setup, state: TrainState, epoch: int, snapshots: Path) -> bool:
    """Epoch ``epoch``: optimizer steps, validation curve point, weight selection and
    snapshot. False when the loss diverged (the epoch is then not recorded)."""
    cfg, cell = run.cfg, run.cell
    t0 = time.perf_counter()
    losses = run_epoch(
        cfg, epoch, run.model, run.optimizer, run.scaler, run.loss_fn, run.data, run.norms, run.device, state
    )
    state.train_seconds += time.perf_counter() - t0
    if state.diverged_at is not None:
        log.warning("%s: loss is not finite at epoch %d step %d: diverged", cell, epoch, state.diverged_at["step"])
        return False
    model = precise_bn(run.model, run.bn_sample[: cfg.evaluation.curve_bn_batches])
    ev = score_images(model, run.loss_fn, run.val, run.device, run.window, cfg.evaluation.overlap)
    lr = state.steps[-1]["lr"] if state.steps else cfg.optimizer.lr
    train_loss = float(np.mean(losses))
    state.history.append(
        {
            "epoch": epoch,
            "steps": len(state.steps),
            "train_loss": train_loss,
            "val_loss": ev["loss"],
            "val_dice": ev["dice"],
            "val_iou": ev["iou"],
            "lr": lr,
        }
    )
    track_selection(cfg, state, run.model, ev["dice"], epoch)
    state.epoch = epoch + 1
    log.info(
        "%s: epoch %d/%d (%d steps) train_loss %.4f val_loss %.4f val_dice %.4f lr %.3g",
        *(cell, epoch + 1, cfg.epochs, len(state.steps), train_loss, ev["loss"], ev["dice"], lr),
    )
    if cfg.snapshot_every and (epoch + 1) % cfg.snapshot_every == 0:
        checkpoint.save_snapshot(snapshots, epoch + 1, run.model)
    return True


def train_cell(
    cfg: Train, cell: str, patches_dir: Path, split_path: Path, prepared_dir: Path, out_dir: Path, ndim: int
) -> dict:
    """Train ``cfg`` and write ``OUTPUTS`` into ``out_dir``; return the metrics.

    Args:
        cfg: the cell's resolved training settings.
        cell: its id (recorded with the results).
        patches_dir: a processed dataset (``images.npy``, ``masks.npy``, ``patches.parquet``).
        split_path: the split JSON (train / val / test source cases).
        prepared_dir: the prepared case store the validation and test images come from.
        out_dir: ``results/cells/<cell>``.
        ndim: 2 or 3.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = setup(cfg, cell, patches_dir, split_path, prepared_dir, ndim)
    if done.restore(out_dir, run.fingerprint):  # finished earlier in this run (a retried group)
        return {**json.loads((out_dir / "metrics.json").read_text()), "restored": True}
    resume_path, snapshots = out_dir / RESUME, out_dir / WORK / "snapshots"
    state = run.restore(resume_path)
    resumed_from = state.epoch if state else 0
    if state is None:
        state = TrainState()
        shutil.rmtree(snapshots, ignore_errors=True)
        if cfg.snapshot_every:
            checkpoint.save_snapshot(snapshots, 0, run.model)
    else:
        log.info("%s: resuming after epoch %d", cell, state.epoch)

    epochs = progress(
        range(state.epoch, cfg.epochs), desc=f"train {cell}", total=cfg.epochs, unit="epoch", initial=state.epoch
    )
    for epoch in epochs:
        if not train_epoch(run, state, epoch, snapshots):
            break
        run.save(resume_path, state)
    epochs.close()
    return write_outputs(run, state, prepared_dir, out_dir, snapshots, resumed_from)


def write_outputs(
    run: Setup, state: TrainState, prepared_dir: Path, out_dir: Path, snapshots: Path, resumed_from: int
) -> dict:
    """Score the selected weights on the test set, write ``OUTPUTS`` (metrics.json last:
    its presence means "done"), drop the resume state, keep links to the outputs in
    ``.work/done`` (``segsweep.train.done``); return the metrics and how the run
    went (timings: logged by the CLI, never in metrics.json, which DVC hashes)."""
    metrics = score_and_write(run, state, prepared_dir, out_dir)
    snapshots.mkdir(parents=True, exist_ok=True)
    if (out_dir / "snapshots").exists():
        shutil.rmtree(out_dir / "snapshots")
    os.replace(snapshots, out_dir / "snapshots")
    write_json(out_dir / "metrics.json", metrics)
    (out_dir / RESUME).unlink(missing_ok=True)
    shutil.rmtree(out_dir / WORK / "snapshots", ignore_errors=True)
    done.keep(out_dir, OUTPUTS, run.fingerprint)  # until the run ends: a retried group finds them
    run_stats = {
        "train_seconds": round(state.train_seconds, 3),
        "resumed_from_epoch": resumed_from,
        "images_per_second": round(state.seen / state.train_seconds, 2) if state.train_seconds > 0 else None,
        # what params' cluster.seconds_per_step declares (docs/clusters.md)
        "seconds_per_step": round(state.train_seconds / len(state.steps), 4) if state.steps else None,
    }
    return {**metrics, **run_stats}
