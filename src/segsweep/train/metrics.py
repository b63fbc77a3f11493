"""Per-image overlap metrics on binary predictions.

Semantics follow MONAI's ``DiceMetric(include_background=False, ignore_empty=True)``:
an image whose ground truth is empty gets NaN and is left out of the mean (its
prediction is scored separately, as the fraction of empty images predicted empty).
"""

from __future__ import annotations

import math

import torch


def predict(logits: torch.Tensor) -> torch.Tensor:
    """(B, C, ...) logits -> (B, ...) {0, 1}: argmax for 2 channels, logit > 0 for 1."""
    return (logits.argmax(1) if logits.shape[1] == 2 else (logits[:, 0] > 0)).to(torch.uint8)


def dice_iou(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image Dice and IoU of binary (B, ...) tensors; NaN where the target is empty."""
    p, t = pred.flatten(1).float(), target.flatten(1).float()
    inter = (p * t).sum(1)
    ps, ts = p.sum(1), t.sum(1)
    nan = torch.full_like(inter, math.nan)
    dice = torch.where(ts > 0, 2 * inter / (ps + ts), nan)
    iou = torch.where(ts > 0, inter / (ps + ts - inter), nan)
    return dice, iou
