"""What a finished cell reports: the selection rule's weights, scored once on the test
set (and on validation) with precise batch-norm statistics, and the files a cell
writes besides ``metrics.json`` (history, per-step norms, the scored and the last
checkpoints). Used by ``segsweep.train.loop``.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from segsweep import checkpoint
from segsweep.config import Train, section_json
from segsweep.io import atomic_path
from segsweep.train.data import load_eval_images
from segsweep.train.evaluate import precise_bn, score_images, status_of

HISTORY = ["epoch", "steps", "train_loss", "val_loss", "val_dice", "val_iou", "lr"]

if TYPE_CHECKING:  # (setup imports this module: no import at run time)
    from segsweep.train.setup import Setup
    from segsweep.train.state import TrainState


def cpu_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def clean(x):
    """JSON has no NaN: use null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x


def track_selection(cfg: Train, state, model, val_dice: float, epoch: int) -> None:
    """Keep what the selection rule needs: the best validation weights, or the sum of
    the last k epochs' weights."""
    ev = cfg.evaluation
    if ev.selection == "best_val" and not math.isnan(val_dice) and val_dice > state.best_val["dice"]:
        state.best_val = {"epoch": epoch, "dice": val_dice}
        state.best_state = cpu_state(model)
    if ev.selection == "last_k" and epoch >= cfg.epochs - ev.last_k:
        current = cpu_state(model)
        if state.averaged is None:
            state.averaged = current
        else:
            for k, v in current.items():
                state.averaged[k] = state.averaged[k] + v if v.is_floating_point() else v
        state.n_averaged += 1


def selected_weights(cfg: Train, state, model) -> tuple[dict, int, list[int]]:
    """The reported weights, the epoch they count as, and the epochs they come from."""
    sel, last = cfg.evaluation.selection, state.epoch - 1
    if sel == "best_val" and state.best_state is not None:
        return state.best_state, state.best_val["epoch"], [state.best_val["epoch"]]
    if sel == "last_k" and state.n_averaged:
        avg = {k: v / state.n_averaged if v.is_floating_point() else v for k, v in state.averaged.items()}
        return avg, last, list(range(state.epoch - state.n_averaged, state.epoch))
    return cpu_state(model), last, [last]


def score_and_write(run: Setup, state: TrainState, prepared_dir: Path, out_dir: Path) -> dict:
    """Select the weights, score them on validation and test, write every output but
    ``metrics.json`` (returned)."""
    test = load_eval_images(prepared_dir, run.split["test"], run.ndim, 2**run.cfg.model.depth)
    sel = _select_and_score(run, state, test)
    meta = {"cell": run.cell, "seed": run.cfg.seed, "params": json.loads(section_json(run.cfg)), "ndim": run.ndim}
    _write_outputs(run, state, out_dir, meta, sel)
    return clean({**meta, **_metrics(run, state, test, sel)})


@dataclass
class Selected:
    """The reported weights and their scores (NaN scores, no model: nothing to select)."""

    test: dict
    val: dict
    epoch: int | None = None
    from_epochs: list[int] = field(default_factory=list)
    model: torch.nn.Module | None = None


def _select_and_score(run: Setup, state: TrainState, test: list) -> Selected:
    """The selected weights with precise batch-norm statistics, scored on test and
    validation images; NaN scores when the cell diverged or never finished an epoch."""
    empty = {"dice": math.nan, "iou": math.nan, "empty_correct": math.nan, "per_image_dice": [], "constant": []}
    empty |= {"nsd": math.nan, "hd95": math.nan, "per_image_nsd": [], "per_image_hd95": []}
    if state.diverged_at is not None or not state.history:
        return Selected(test={**empty, "identical": False}, val={"dice": math.nan})
    weights, epoch, from_epochs = selected_weights(run.cfg, state, run.model)
    model = copy.deepcopy(run.model)
    model.load_state_dict(weights)
    model = precise_bn(model, run.bn_sample)
    window, overlap = run.window, run.cfg.evaluation.overlap
    tolerance = run.cfg.evaluation.nsd_tolerance_mm
    test_scores = score_images(model, run.loss_fn, test, run.device, window, overlap, tolerance)
    val_scores = score_images(model, run.loss_fn, run.val, run.device, window, overlap)
    return Selected(test_scores, val_scores, epoch, from_epochs, model)


def _metrics(run: Setup, state: TrainState, test: list, sel: Selected) -> dict:
    """metrics.json's numbers: the test-set headline, the protocol and the run's counts."""
    scored, ev, history = sel.test, run.cfg.evaluation, state.history
    per_image = scored["per_image_dice"]
    return {
        "status": status_of(scored, state.diverged_at is not None),
        # headline: the selected weights on the test set (null when the cell diverged)
        "dice": scored["dice"],
        "iou": scored["iou"],
        "empty_correct": scored["empty_correct"],
        "per_image_dice": per_image,
        "test_cases": [v.case for v in test],  # order of per_image_dice (pairs cells in the report)
        # boundary metrics (segsweep.metrics.boundary_scores): NaN for empty references
        "nsd": scored["nsd"],
        "hd95": scored["hd95"],
        "per_image_nsd": scored["per_image_nsd"],
        "per_image_hd95": scored["per_image_hd95"],
        "nsd_tolerance_mm": ev.nsd_tolerance_mm,
        "boundary_spacing": "mm" if any(v.spacing for v in test) else "pixels as 1 mm",
        # where test Dice is counted: each case's original grid when prepare resampled it
        "test_grid": "original" if any(v.original is not None for v in test) else "prepared",
        "n_test_images": len(test),
        "n_test_scored": int(sum(not math.isnan(d) for d in per_image)),
        "n_test_empty": int(sum(math.isnan(d) for d in per_image)),
        "n_test_constant": int(sum(scored["constant"])),  # all-background or all-foreground predictions
        "identical_predictions": bool(scored.get("identical", False)),  # one mask on every test image
        "selection": ev.selection,
        "selected_epoch": sel.epoch,
        "selected_from_epochs": sel.from_epochs,
        "precise_bn_batches": ev.precise_bn_batches,
        "curve_bn_batches": ev.curve_bn_batches,
        "val_dice": sel.val["dice"],
        "n_val_images": len(run.val),
        "n_train_cases": len(run.split["train"]),
        "n_train_patches": len(run.data.index),
        "final_val_dice": history[-1]["val_dice"] if history else None,
        "best_val_epoch": int(np.nanargmax([h["val_dice"] for h in history]))
        if history and not all(math.isnan(h["val_dice"]) for h in history)
        else None,
        "epochs_run": len(history),
        "steps_run": len(state.steps),
        "diverged_at": state.diverged_at,
        "inference_window": list(run.window) if run.window else None,  # None: whole images
        "device": str(run.device),
        "torch": torch.__version__,
    }


def _write_outputs(run: Setup, state: TrainState, out_dir: Path, meta: dict, sel: Selected) -> None:
    """history.csv, norms.parquet, the selected and the last checkpoint (each atomic)."""
    with atomic_path(out_dir / "history.csv") as tmp:
        pd.DataFrame(state.history, columns=HISTORY).to_csv(tmp, index=False)
    step_meta = pd.DataFrame(state.steps, columns=["step", "epoch", "loss", "lr"])
    with atomic_path(out_dir / "norms.parquet") as tmp:
        (run.norms.table(step_meta) if run.norms else step_meta).to_parquet(tmp, index=False)
    selection = {"epoch": sel.epoch, "selection": run.cfg.evaluation.selection, "from_epochs": sel.from_epochs}
    weights = cpu_state(sel.model) if sel.model is not None else run.init_state
    checkpoint.save(out_dir / checkpoint.SELECTED, {**meta, **selection, "model": weights})
    last = {"epoch": len(state.history), "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict()}
    checkpoint.save(out_dir / checkpoint.LAST, {**meta, **last})
