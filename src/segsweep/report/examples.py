"""Example segmentations: image, ground truth and the predictions of the best and the
worst cell (test Dice, status ok) on the same test images.

Predictions come from each cell's ``checkpoint_selected.pt`` on the whole prepared image,
exactly as the training loop scored it, so the per-image Dice in the panel titles equal
the ``per_image_dice`` of the cell's ``metrics.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from segsweep import checkpoint
from segsweep.errors import DataError
from segsweep.figures import DOUBLE, PALETTE, save, subplots
from segsweep.metrics import dice_iou, predict
from segsweep.paths import prepared, split
from segsweep.train.data import EvalImage, load_eval_images, read_split
from segsweep.train.evaluate import infer

GT, PRED = PALETTE[0], PALETTE[1]  # blue ground truth, vermillion prediction


def best_and_worst(cells: pd.DataFrame) -> list[str]:
    """Ids of the best and the worst cell by Dice among cells with status ok (one id
    when a single cell is ok, none when none is)."""
    ok = cells[cells["status"] == "ok"].sort_values("dice", ascending=False, kind="stable")
    ids = ok["cell"].tolist()
    return ids[:1] + ids[-1:] if len(ids) > 1 else ids


def choose_cases(val: list[EvalImage], n: int) -> list[str]:
    """``n`` test cases spread over the range of foreground fractions (cases with
    foreground first: an empty image shows nothing about a segmentation)."""
    frac = {v.case: float(v.mask.float().mean()) for v in val}
    fg = sorted((c for c in frac if frac[c] > 0), key=frac.get)
    pool = fg if len(fg) >= n else fg + [c for c in frac if frac[c] == 0]
    if len(pool) <= n:
        return pool
    return [pool[i] for i in np.linspace(0, len(pool) - 1, n).round().astype(int)]


@torch.no_grad()
def predict_cell(cell_dir: Path, cases: list[str]) -> tuple[list[EvalImage], list[np.ndarray]]:
    """The cell's test images ``cases`` and its binary predictions
    ((H, W) or (D, H, W) uint8, original extent) from ``checkpoint_selected.pt``."""
    from segsweep.config import Train
    from segsweep.models import build_model

    meta = json.loads((cell_dir / "metrics.json").read_text())
    cfg = Train.model_validate(meta["params"])
    val = load_eval_images(Path(prepared(cfg.dataset)), cases, meta["ndim"], 2**cfg.model.depth)
    model = build_model(cfg.model, meta["ndim"], val[0].image.shape[1])
    model.load_state_dict(checkpoint.load_weights(cell_dir / checkpoint.SELECTED))
    model.eval()
    window = meta.get("inference_window")  # the inference that scored the cell
    preds = []
    for v in val:
        crop = (0, *(slice(0, s) for s in v.extent))
        logits = infer(model, v.image, tuple(window) if window else None, cfg.evaluation.overlap)
        preds.append(predict(logits)[crop].numpy())
    return val, preds


def _show(v: EvalImage) -> tuple[np.ndarray, np.ndarray, int | None]:
    """A displayable image (H, W[, 3]) and mask of a validation image; for 3D the axial
    slice with the most foreground (returned as the third value)."""
    img = v.image[0].numpy()[(slice(None), *(slice(0, s) for s in v.extent))]
    mask = v.mask[0, 0].numpy()[tuple(slice(0, s) for s in v.extent)]
    z = None
    if mask.ndim == 3:
        z = int(mask.reshape(mask.shape[0], -1).sum(1).argmax())
        img, mask = img[:, z], mask[z]
    img = np.moveaxis(img, 0, -1)
    img = img[..., 0] if img.shape[-1] == 1 else img
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo) if hi > lo else img * 0, mask, z


def _overlay(ax, img, mask, colour, title, outline=None):
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
    if mask.any():
        ax.contourf(mask, levels=[0.5, 1.5], colors=[colour], alpha=0.4)
    if outline is not None and outline.any():
        ax.contour(outline, levels=[0.5], colors=[GT], linewidths=1.0)
    ax.set_title(title)
    ax.set_axis_off()


def examples_figure(cells: pd.DataFrame, cells_dir: Path, n_images: int, stem: Path) -> pd.DataFrame:
    """Draw ``stem``.png/.pdf (rows: images; columns: image, ground truth, best cell,
    worst cell; 7 in wide) and return the per-image Dice shown (cell, case, dice)."""
    chosen = best_and_worst(cells)
    if not chosen:
        raise DataError("examples: no cell finished with status ok; nothing to show")
    metas = [json.loads((cells_dir / c / "metrics.json").read_text()) for c in chosen]
    splits = [
        read_split(Path(split(m["params"]["dataset"], m["params"]["train_fraction"], m["params"]["split_seed"])))[
            "test"
        ]
        for m in metas
    ]
    common = [c for c in splits[0] if all(c in s for s in splits[1:])]
    if not common or len({m["params"]["dataset"] for m in metas}) > 1:
        raise DataError(f"examples: cells {', '.join(chosen)} share no test case (different datasets?)")
    val = load_eval_images(Path(prepared(metas[0]["params"]["dataset"])), common, metas[0]["ndim"], 1)
    cases = choose_cases(val, n_images)
    results = [predict_cell(cells_dir / c, cases) for c in chosen]
    fig, axes = subplots(len(cases), 2 + len(chosen), width=DOUBLE, aspect=(len(cases) + 0.5) / (2 + len(chosen)))
    rows = []
    for i, case in enumerate(cases):
        img, mask, z = _show(results[0][0][i])
        where = f" (slice {z})" if z is not None else ""
        _overlay(axes[i, 0], img, np.zeros_like(mask), GT, f"{case}{where}")
        _overlay(axes[i, 1], img, mask, GT, "ground truth")
        for j, (cell, (vals, preds)) in enumerate(zip(chosen, results)):
            truth = vals[i].mask[0, 0][tuple(slice(0, s) for s in vals[i].extent)]
            d, _ = dice_iou(torch.from_numpy(preds[i])[None], truth[None])
            pred = preds[i][z] if z is not None else preds[i]
            role = "best" if j == 0 else "worst"
            _overlay(axes[i, 2 + j], img, pred, PRED, f"{role}: Dice {float(d[0]):.3f}", outline=mask)
            rows.append({"cell": cell, "role": role, "case": case, "dice": float(d[0])})
    which = f"best cell: {chosen[0]}; worst cell: {chosen[-1]}" if len(chosen) > 1 else f"cell {chosen[0]}"
    fig.suptitle(f"{which}\nprediction (vermillion), ground-truth outline (blue)")
    save(fig, stem)
    return pd.DataFrame(rows)
