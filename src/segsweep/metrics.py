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

- **Boundary metrics** per test image (``boundary_scores``), as Metrics Reloaded
  (Maier-Hein et al., Nature Methods 2024) pairs them with Dice: the normalised surface
  Dice (NSD: the share of both boundaries within a tolerance in mm of the other) and
  the 95th percentile Hausdorff distance (HD95, mm), both from MONAI
  (``compute_surface_dice``, ``compute_hausdorff_distance``) on the grid Dice is
  scored on, with its spacing (2D images have none: a pixel counts as 1 mm). Empty
  reference: both undefined (NaN, left out of means, like Dice). Empty prediction on a
  non-empty reference: NSD 0 and HD95 the image's diagonal in mm (the largest distance
  in the image: the worst value, never a dropped case).

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


def boundary_scores(
    pred: torch.Tensor, target: torch.Tensor, spacing: tuple[float, ...] | None, tolerance: float
) -> tuple[float, float]:
    """NSD at ``tolerance`` mm and HD95 in mm of one image (rules in the module docstring).

    Args:
        pred: (*spatial) hard prediction, {0, 1}.
        target: (*spatial) reference mask, {0, 1}.
        spacing: the grid's spacing in mm per spatial axis; None: 1 mm per pixel.
        tolerance: the NSD tolerance in mm (> 0).

    Returns:
        (nsd, hd95): NaN, NaN for an empty reference.
    """
    import warnings

    from monai.metrics import compute_hausdorff_distance, compute_surface_dice

    spacing = tuple(float(s) for s in spacing) if spacing is not None else (1.0,) * target.dim()
    if not bool(target.any()):
        return math.nan, math.nan
    if not bool(pred.any()):
        return 0.0, math.dist([0.0] * len(spacing), [n * s for n, s in zip(target.shape, spacing)])

    def onehot(m: torch.Tensor) -> torch.Tensor:
        m = m.to(torch.float32).cpu()
        return torch.stack([1 - m, m])[None]

    with warnings.catch_warnings():  # MONAI's deprecation notices, once per image
        warnings.simplefilter("ignore")
        nsd = compute_surface_dice(onehot(pred), onehot(target), [float(tolerance)], spacing=spacing)
        hd95 = compute_hausdorff_distance(onehot(pred), onehot(target), percentile=95, spacing=spacing)
    return float(nsd[0, 0]), float(hd95[0, 0])
