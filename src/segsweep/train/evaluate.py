"""Scoring a cell's weights: precise batch-norm statistics, whole-image metrics,
failure statuses.

The order of an evaluation is always: copy the weights, re-estimate the batch-norm
running statistics of the copy over fixed training batches (``precise_bn``), then
score whole images in eval mode (``score_images``). The weights are never changed.
"""

from __future__ import annotations

import copy
import hashlib
import math

import numpy as np
import torch
from torch import nn

from segsweep.metrics import boundary_scores, dice_iou, predict

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


@torch.no_grad()
def precise_bn(model: nn.Module, batches: list[torch.Tensor]) -> nn.Module:
    """A copy of ``model`` whose batch-norm running statistics are the exact average of
    the batch statistics over ``batches`` (detectron2's ``PreciseBN``).

    Args:
        model: any module; left untouched.
        batches: input tensors (B, C, *spatial) on the model's device: training patches.

    Returns:
        The copy, in eval mode; equal to ``model`` in every parameter. Without
        batch-norm layers or batches, a plain copy.
    """
    out = copy.deepcopy(model)
    bns = [m for m in out.modules() if isinstance(m, _BN) and m.track_running_stats]
    if not bns or not batches:
        return out.eval()
    out.eval()  # dropout off: the statistics are those of the deterministic forward pass
    saved = []
    for m in bns:
        saved.append(m.momentum)
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: the mean over all batches seen
        m.train()
    for x in batches:
        out(x)
    for m, momentum in zip(bns, saved):
        m.momentum = momentum
    return out.eval()


def window_of(mode: str, ndim: int, patch: tuple[int, ...]) -> tuple[int, ...] | None:
    """The sliding window (the training patch size) for inference ``mode``, or None for
    whole images (``auto``: windows for 3D volumes, whole 2D images)."""
    return tuple(patch) if mode == "sliding_window" or (mode == "auto" and ndim == 3) else None


def infer(model: nn.Module, image: torch.Tensor, window: tuple[int, ...] | None, overlap: float = 0.5) -> torch.Tensor:
    """Logits (1, C_out, *spatial) of ``model`` on ``image`` (1, C, *spatial): one forward,
    or MONAI's ``sliding_window_inference`` over ``window``-sized tiles with ``overlap``
    and Gaussian weighting (peak memory set by the window, not the image)."""
    if window is None:
        return model(image)
    from monai.inferers import sliding_window_inference

    return sliding_window_inference(image, window, 4, model, overlap=overlap, mode="gaussian")


@torch.no_grad()
def score_images(
    model: nn.Module,
    loss_fn,
    images: list,
    device: torch.device,
    window: tuple[int, ...] | None = None,
    overlap: float = 0.5,
    tolerance: float | None = None,
) -> dict:
    """Loss and per-image metrics of ``model`` (eval mode) on whole images.

    Args:
        model: the network (logits out).
        loss_fn: the cell's loss, on (logits, mask).
        images: ``EvalImage`` items (padded image, mask, extent; a case that prepare
            resampled is scored on its original grid: its logits are resampled back
            as nnU-Net v2 exports predictions, the loss stays on the resampled grid).
        device: where to run.
        window, overlap: sliding-window inference (``infer``); None: one forward per image.
        tolerance: NSD tolerance in mm; given, boundary metrics are computed too
            (``segsweep.metrics.boundary_scores``: test images; not the per-epoch curves).

    Returns:
        ``loss`` (mean), ``dice`` / ``iou`` (means over images with foreground; NaN if
        none), ``empty_correct`` (fraction of empty references predicted empty; NaN if
        none), ``per_image_dice`` (NaN for empty references), ``constant`` (per image:
        the prediction is all background or all foreground), ``identical`` (at least
        two images, all of one size, and the same predicted mask on every one: the
        output ignores the input); with ``tolerance``, ``per_image_nsd``,
        ``per_image_hd95`` and their means ``nsd`` and ``hd95`` (NaN for empty references).
    """
    model.eval()
    dices, ious, losses, empty_ok, constant, masks, boundary = [], [], [], [], [], set(), []
    for v in images:
        logits = infer(model, v.image.to(device), window, overlap)
        crop = (slice(None), slice(None), *(slice(0, s) for s in v.extent))
        logits, mask = logits[crop], v.mask.to(device)[crop]
        losses.append(float(loss_fn(logits, mask)))
        if v.original is not None:  # resampled by prepare: scored on the original grid
            logits, mask = _on_original_grid(logits, v), v.original.to(device)
        pred = predict(logits)
        d, i = dice_iou(pred, mask[:, 0])
        dices.append(float(d[0]))
        ious.append(float(i[0]))
        n_fg = int(pred.sum())
        constant.append(n_fg == 0 or n_fg == pred.numel())
        masks.add((tuple(v.extent), hashlib.sha256(pred.cpu().numpy().tobytes()).hexdigest()))
        if not mask.any():
            empty_ok.append(float(n_fg == 0))
        if tolerance is not None:
            boundary.append(boundary_scores(pred[0], mask[0, 0], v.spacing, tolerance))
    finite = [d for d in dices if not math.isnan(d)]
    extra = _boundary_means(boundary) if tolerance is not None else {}
    return {
        **extra,
        "loss": float(np.mean(losses)) if losses else math.nan,
        "dice": float(np.mean(finite)) if finite else math.nan,
        "iou": float(np.nanmean(ious)) if finite else math.nan,
        "empty_correct": float(np.mean(empty_ok)) if empty_ok else math.nan,
        "per_image_dice": dices,
        "constant": constant,
        "identical": len(images) >= 2 and len(masks) == 1,
    }


def _boundary_means(boundary: list[tuple[float, float]]) -> dict:
    """Per-image NSD and HD95 lists and their means over images with foreground."""
    nsd = [b[0] for b in boundary]
    hd95 = [b[1] for b in boundary]

    def mean(values):
        finite = [v for v in values if not math.isnan(v)]
        return float(np.mean(finite)) if finite else math.nan

    return {"per_image_nsd": nsd, "per_image_hd95": hd95, "nsd": mean(nsd), "hd95": mean(hd95)}


def _on_original_grid(logits: torch.Tensor, v) -> torch.Tensor:
    """(1, C, *resampled) logits of ``v`` (an ``EvalImage``) resampled to its original
    grid, (1, C, *original), as nnU-Net v2 exports predictions."""
    from segsweep.preprocess.resample import resample_logits

    back = resample_logits(logits[0].float().cpu().numpy(), tuple(v.original.shape[2:]), v.original_spacing)
    return torch.from_numpy(back)[None].to(logits.device)


def status_of(scores: dict, diverged: bool) -> str:
    """``diverged`` (a non-finite training loss), ``collapsed`` (a dead network that a
    mean Dice would report as a number: a constant prediction, all background or all
    foreground, on every scored image; or one and the same predicted mask on every
    image, e.g. all foreground but a border the padding leaves) or ``ok``."""
    if diverged:
        return "diverged"
    if (scores["constant"] and all(scores["constant"])) or scores.get("identical"):
        return "collapsed"
    return "ok"
