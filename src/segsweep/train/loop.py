"""Train one grid cell, top to bottom.

Deterministic on CPU: every random draw comes from the cell's seed (weights, dropout,
the per-epoch patch order, which depends only on (seed, epoch)), the thread count is
fixed by params and torch runs its deterministic algorithms. A resumable checkpoint
is written atomically after every epoch; a restarted job with the same settings
continues from it and ends with the same numbers as an uninterrupted run. A NaN/inf
loss ends the cell with status ``diverged``; it is a result, not a crash.
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
import pandas as pd
import torch

from segsweep.config import Train, section_json
from segsweep.io import atomic_path, write_json
from segsweep.losses import build_loss
from segsweep.models import build_model
from segsweep.optim import build_optimizer, lr_factor
from segsweep.train.data import load_train_patches, load_val_images, read_split
from segsweep.train.metrics import dice_iou, predict
from segsweep.train.norms import NormLogger

log = logging.getLogger("segsweep.train")

# Work in progress lives in .work/ (not a declared output, so a restarted job finds
# it); snapshots move to snapshots/ when the cell is done.
WORK = ".work"
RESUME = f"{WORK}/resume.pt"
OUTPUTS = ("metrics.json", "history.csv", "norms.parquet", "checkpoint_best.pt", "checkpoint_last.pt", "snapshots")


def _snapshot(model: torch.nn.Module, folder: Path, epoch: int) -> None:
    """Weights after ``epoch`` completed epochs (0 = initialisation), for the probes."""
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / f"epoch_{epoch:03d}.pt") as tmp:
        torch.save({"epoch": epoch, "model": model.state_dict()}, tmp)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from segsweep.errors import ConfigError

        raise ConfigError("train.device = \"cuda\": no CUDA device is visible; use auto or cpu")
    return torch.device(name)


def _epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch, 7]).permutation(n)


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


@torch.no_grad()
def evaluate(model, loss_fn, val, device) -> dict:
    """Validation loss and per-image Dice/IoU on whole images (original extent)."""
    model.eval()
    dices, ious, losses, empty_ok = [], [], [], []
    for v in val:
        logits = model(v.image.to(device))
        crop = (slice(None), slice(None), *(slice(0, s) for s in v.extent))
        logits, mask = logits[crop], v.mask.to(device)[crop]
        losses.append(float(loss_fn(logits, mask)))
        pred = predict(logits)
        d, i = dice_iou(pred, mask[:, 0])
        dices.append(float(d[0]))
        ious.append(float(i[0]))
        if not mask.any():
            empty_ok.append(float(not pred.any()))
    finite = [d for d in dices if not math.isnan(d)]
    return {
        "val_loss": float(np.mean(losses)),
        "dice": float(np.mean(finite)) if finite else math.nan,
        "iou": float(np.mean([i for i in ious if not math.isnan(i)])) if finite else math.nan,
        "empty_correct": float(np.mean(empty_ok)) if empty_ok else math.nan,
        "per_image_dice": dices,
    }


def _clean(x):
    """JSON has no NaN: use null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def train_cell(cfg: Train, cell: str, patches_dir: Path, split_path: Path, prepared_dir: Path,
               out_dir: Path, ndim: int) -> dict:
    """Train ``cfg`` and write ``OUTPUTS`` into ``out_dir``; return the metrics.

    Args:
        cfg: the cell's resolved training settings.
        cell: its id (recorded with the results).
        patches_dir: a processed dataset (``images.npy``, ``masks.npy``, ``patches.parquet``).
        split_path: the split JSON (train / val source cases).
        prepared_dir: the prepared case store the validation images come from.
        out_dir: ``results/cells/<cell>``.
        ndim: 2 or 3.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    device = resolve_device(cfg.device)
    use_amp = cfg.amp and device.type == "cuda"

    split = read_split(split_path)
    data = load_train_patches(patches_dir, split["train"])
    factor = 2**cfg.model.depth
    val = load_val_images(prepared_dir, split["val"], ndim, factor)
    in_channels = data.images.shape[1]

    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, ndim, in_channels).to(device)
    optimizer = build_optimizer(cfg.optimizer, model.parameters())
    loss_fn = build_loss(cfg.loss, cfg.model.output)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    norms = NormLogger(model) if cfg.log_norms else None
    fingerprint = section_json(cfg)

    start_epoch, history, steps, best, train_seconds, seen = 0, [], [], {"dice": -1.0, "epoch": -1}, 0.0, 0
    best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    resumed_from = 0
    resume_path = out_dir / RESUME
    snapshots = out_dir / WORK / "snapshots"
    if resume_path.exists():
        ckpt = torch.load(resume_path, map_location="cpu", weights_only=False)
        if ckpt["fingerprint"] == fingerprint:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            scaler.load_state_dict(ckpt["scaler"])
            torch.set_rng_state(ckpt["rng"])
            if device.type == "cuda" and ckpt.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(ckpt["cuda_rng"])
            start_epoch, history, steps = ckpt["epoch"], ckpt["history"], ckpt["steps"]
            best, best_state = ckpt["best"], ckpt["best_state"]
            train_seconds, seen = ckpt["train_seconds"], ckpt["seen"]
            if norms is not None:
                norms.load(ckpt["norms"])
            resumed_from = start_epoch
            log.info("%s: resuming after epoch %d", cell, start_epoch)
        else:
            log.info("%s: settings changed since the checkpoint; starting over", cell)
    if start_epoch == 0:
        shutil.rmtree(snapshots, ignore_errors=True)
        if cfg.snapshot_every:
            _snapshot(model, snapshots, 0)

    status, diverged_at = "ok", None
    n, bs = len(data.index), cfg.batch_size
    for epoch in range(start_epoch, cfg.epochs):
        lr = cfg.optimizer.lr * lr_factor(cfg.scheduler, epoch, cfg.epochs)
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train()
        order = _epoch_order(n, cfg.seed, epoch)
        t0, epoch_losses = time.perf_counter(), []
        for b in range(0, n, bs):
            x, y = data.batch(order[b:b + bs])
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                logits = model(x)
            loss = loss_fn(logits.float(), y) + _penalty(model, cfg.regularization.l1, cfg.regularization.l2)
            value = float(loss.detach())
            if not math.isfinite(value):
                status, diverged_at = "diverged", {"epoch": epoch, "step": len(steps)}
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
            steps.append({"step": len(steps), "epoch": epoch, "loss": value, "lr": lr})
            epoch_losses.append(value)
            seen += x.shape[0]
        train_seconds += time.perf_counter() - t0
        if status == "diverged":
            log.warning("%s: loss is not finite at epoch %d step %d: diverged", cell, epoch, diverged_at["step"])
            break
        ev = evaluate(model, loss_fn, val, device)
        history.append({"epoch": epoch, "train_loss": float(np.mean(epoch_losses)), "val_loss": ev["val_loss"],
                        "val_dice": ev["dice"], "val_iou": ev["iou"], "lr": lr})
        if not math.isnan(ev["dice"]) and ev["dice"] > best["dice"]:
            best = {"dice": ev["dice"], "iou": ev["iou"], "epoch": epoch, "per_image_dice": ev["per_image_dice"],
                    "empty_correct": ev["empty_correct"], "val_loss": ev["val_loss"]}
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        log.info("%s: epoch %d/%d train_loss %.4f val_loss %.4f val_dice %.4f lr %.3g", cell, epoch + 1,
                 cfg.epochs, history[-1]["train_loss"], ev["val_loss"], ev["dice"], lr)
        if cfg.snapshot_every and (epoch + 1) % cfg.snapshot_every == 0:
            _snapshot(model, snapshots, epoch + 1)
        ckpt = {"fingerprint": fingerprint, "cell": cell, "epoch": epoch + 1, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(), "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state() if device.type == "cuda" else None,
                "history": history, "steps": steps, "best": best, "best_state": best_state,
                "train_seconds": train_seconds, "seen": seen, "norms": norms.state() if norms else []}
        with atomic_path(resume_path) as tmp:
            torch.save(ckpt, tmp)

    # --- outputs -------------------------------------------------------------------
    meta = {"cell": cell, "seed": cfg.seed, "params": json.loads(fingerprint), "ndim": ndim}
    metrics = {
        **meta,
        "status": status,
        "dice": best["dice"] if status == "ok" and best["epoch"] >= 0 else None,
        "iou": best.get("iou") if status == "ok" and best["epoch"] >= 0 else None,
        "best_epoch": best["epoch"],
        "best_val_loss": best.get("val_loss"),
        "empty_correct": best.get("empty_correct"),
        "per_image_dice": best.get("per_image_dice", []),
        "val_cases": [v.case for v in val],  # order of per_image_dice (pairs cells in the report)
        "final_dice": history[-1]["val_dice"] if history else None,
        "epochs_run": len(history),
        "diverged_at": diverged_at,
        "train_seconds": round(train_seconds, 3),
        "images_per_second": round(seen / train_seconds, 2) if train_seconds > 0 else None,
        "n_train_patches": n,
        "n_val_images": len(val),
        "device": str(device),
        "resumed_from_epoch": resumed_from,
        "torch": torch.__version__,
    }
    with atomic_path(out_dir / "history.csv") as tmp:
        pd.DataFrame(history, columns=["epoch", "train_loss", "val_loss", "val_dice", "val_iou", "lr"]).to_csv(tmp, index=False)
    step_meta = pd.DataFrame(steps, columns=["step", "epoch", "loss", "lr"])
    with atomic_path(out_dir / "norms.parquet") as tmp:
        (norms.table(step_meta) if norms else step_meta).to_parquet(tmp, index=False)
    with atomic_path(out_dir / "checkpoint_best.pt") as tmp:
        torch.save({**meta, "epoch": best["epoch"], "model": best_state}, tmp)
    with atomic_path(out_dir / "checkpoint_last.pt") as tmp:
        torch.save({**meta, "epoch": len(history), "model": model.state_dict(),
                    "optimizer": optimizer.state_dict()}, tmp)
    snapshots.mkdir(parents=True, exist_ok=True)
    if (out_dir / "snapshots").exists():
        shutil.rmtree(out_dir / "snapshots")
    os.replace(snapshots, out_dir / "snapshots")
    metrics = _clean(metrics)
    write_json(out_dir / "metrics.json", metrics)  # last: its presence means "done"
    shutil.rmtree(out_dir / WORK, ignore_errors=True)
    return metrics
