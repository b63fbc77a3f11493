"""Overlap metrics of hard binary predictions: the one definition every stage uses.

Semantics, stated once:

- **Per-image Dice and IoU** (validation and test scores, the report's tables and
  tests, example figures, the threshold reference): one value per image, NaN where the
  reference is empty, left out of means. This is MONAI's
  ``DiceMetric(include_background=False, ignore_empty=True)`` (and ``MeanIoU``); what a
  model predicts on an empty reference is scored apart, as the fraction of empty images
  predicted empty.
- **Pooled Dice** over a set of images (loss landscapes: one number per point over all
  evaluation batches): 2·ΣTP / (Σ|pred| + Σ|target|) over every pixel of the set, 1
  when both sums are zero (nothing to find and nothing found).

A hard prediction is the foreground channel's argmax for a softmax head and logit > 0
for a sigmoid head (``predict``).
"""

from __future__ import annotations

import math

import torch


def predict(logits: torch.Tensor) -> torch.Tensor:
    """(B, C, ...) logits -> (B, ...) {0, 1} uint8: argmax for 2 channels, logit > 0 for 1."""
    return (logits.argmax(1) if logits.shape[1] == 2 else (logits[:, 0] > 0)).to(torch.uint8)


def overlap_counts(pred: torch.Tensor, target: torch.Tensor, per_image: bool = True) -> torch.Tensor:
    """Intersection, |pred| and |target| of binary tensors of one shape (B, ...).

    Returns:
        (B, 3) float64 counts per image, or (3,) over the whole batch when
        ``per_image`` is False (sums of counts pool over batches).
    """
    p, t = pred.flatten(1).double(), target.flatten(1).double()
    counts = torch.stack([(p * t).sum(1), p.sum(1), t.sum(1)], dim=1)
    return counts if per_image else counts.sum(0)


def dice_iou(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image Dice and IoU (float32, shape (B,)) of binary (B, ...) tensors; NaN
    where the target is empty."""
    inter, ps, ts = overlap_counts(pred, target).unbind(1)
    nan = torch.full_like(inter, math.nan)
    dice = torch.where(ts > 0, 2 * inter / (ps + ts), nan)
    iou = torch.where(ts > 0, inter / (ps + ts - inter), nan)
    return dice.float(), iou.float()


def pooled_dice(counts: torch.Tensor) -> torch.Tensor:
    """Dice from pooled counts (..., 3) = [intersection, |pred|, |target|]; 1 where
    both sums are zero."""
    inter, p, t = counts[..., 0], counts[..., 1], counts[..., 2]
    return torch.where(p + t > 0, 2 * inter / (p + t).clamp_min(1e-12), torch.ones_like(inter))
