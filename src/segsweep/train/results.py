"""What a finished cell reports: the selection rule's weights, scored once on the test
set (and on validation) with precise batch-norm statistics, and the files a cell
writes besides ``metrics.json`` (history, per-step norms, the scored and the last
checkpoints). Used by ``segsweep.train.loop``.
"""

from __future__ import annotations

import copy
import json
import math
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
    cfg, cell, ndim, split, device, model = run.cfg, run.cell, run.ndim, run.split, run.device, run.model
    loss_fn, val, norms, optimizer = run.loss_fn, run.val, run.norms, run.optimizer
    diverged = state.diverged_at is not None
    ev = cfg.evaluation
    test = load_eval_images(prepared_dir, split["test"], ndim, 2**cfg.model.depth)
    scored = {
        "dice": math.nan,
        "iou": math.nan,
        "empty_correct": math.nan,
        "per_image_dice": [],
        "constant": [],
        "identical": False,
    }
    val_scores, selected_epoch, from_epochs, selected = {"dice": math.nan}, None, [], None
    if not diverged and state.history:
        weights, selected_epoch, from_epochs = selected_weights(cfg, state, model)
        selected = copy.deepcopy(model)
        selected.load_state_dict(weights)
        selected = precise_bn(selected, run.bn_sample)
        scored = score_images(selected, loss_fn, test, device)
        val_scores = score_images(selected, loss_fn, val, device)
    status = status_of(scored, diverged)
    meta = {"cell": cell, "seed": cfg.seed, "params": json.loads(section_json(cfg)), "ndim": ndim}
    metrics = {
        **meta,
        "status": status,
        # headline: the selected weights on the test set (null when the cell diverged)
        "dice": scored["dice"],
        "iou": scored["iou"],
        "empty_correct": scored["empty_correct"],
        "per_image_dice": scored["per_image_dice"],
        "test_cases": [v.case for v in test],  # order of per_image_dice (pairs cells in the report)
        "n_test_images": len(test),
        "n_test_scored": int(sum(not math.isnan(d) for d in scored["per_image_dice"])),
        "n_test_empty": int(sum(math.isnan(d) for d in scored["per_image_dice"])),
        "n_test_constant": int(sum(scored["constant"])),  # all-background or all-foreground predictions
        "identical_predictions": bool(scored.get("identical", False)),  # one mask on every test image
        "selection": ev.selection,
        "selected_epoch": selected_epoch,
        "selected_from_epochs": from_epochs,
        "precise_bn_batches": ev.precise_bn_batches,
        "curve_bn_batches": ev.curve_bn_batches,
        "val_dice": val_scores["dice"],
        "n_val_images": len(val),
        "n_train_cases": len(split["train"]),
        "n_train_patches": len(run.data.index),
        "final_val_dice": state.history[-1]["val_dice"] if state.history else None,
        "best_val_epoch": int(np.nanargmax([h["val_dice"] for h in state.history]))
        if state.history and not all(math.isnan(h["val_dice"]) for h in state.history)
        else None,
        "epochs_run": len(state.history),
        "steps_run": len(state.steps),
        "diverged_at": state.diverged_at,
        "device": str(device),
        "torch": torch.__version__,
    }
    with atomic_path(out_dir / "history.csv") as tmp:
        pd.DataFrame(state.history, columns=HISTORY).to_csv(tmp, index=False)
    step_meta = pd.DataFrame(state.steps, columns=["step", "epoch", "loss", "lr"])
    with atomic_path(out_dir / "norms.parquet") as tmp:
        (norms.table(step_meta) if norms else step_meta).to_parquet(tmp, index=False)
    checkpoint.save(
        out_dir / checkpoint.SELECTED,
        {
            **meta,
            "epoch": selected_epoch,
            "selection": ev.selection,
            "from_epochs": from_epochs,
            "model": cpu_state(selected) if selected is not None else run.init_state,
        },
    )
    checkpoint.save(
        out_dir / checkpoint.LAST,
        {**meta, "epoch": len(state.history), "model": model.state_dict(), "optimizer": optimizer.state_dict()},
    )
    return clean(metrics)
