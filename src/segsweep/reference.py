"""A reference row for every study: one global grey-level threshold.

A segmentation network earns its place only if it beats the simplest rule: label a
pixel foreground when its grey level (mean over channels of the prepared image) lies
below (or above) one threshold. The threshold and its direction are fitted to maximise
the mean per-image Dice on the training cases of the baseline split, then scored once
on the test cases, with the same metric semantics as the cells
(``segsweep.metrics``: empty references are left out of the Dice mean and
scored as the fraction predicted empty).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from segsweep.data.cases import load_case
from segsweep.metrics import dice_iou
from segsweep.preprocess.patches import to_channels_first

LEVELS = 256  # candidate thresholds: grey levels of the [0, 1] prepared images


def _grey(prepared: Path, case: str, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    image, mask = load_case(prepared, case)
    x = to_channels_first(image, ndim).astype(np.float64)
    return x.mean(0).ravel(), mask.ravel().astype(bool)


def _dice_per_threshold(grey: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Dice of ``grey <= t`` (row 0) and ``grey > t`` (row 1) for every level t at once
    (cumulative counts; per image, NaN where the reference is empty, as
    ``segsweep.metrics.dice_iou``, which tests/test_reference.py checks). Shape (2, LEVELS)."""
    bins = np.clip((grey * (LEVELS - 1)).round().astype(int), 0, LEVELS - 1)
    fg = np.bincount(bins[mask], minlength=LEVELS).cumsum()  # foreground pixels at or below t
    allp = np.bincount(bins, minlength=LEVELS).cumsum()
    n_fg, n = fg[-1], allp[-1]
    if n_fg == 0:
        return np.full((2, LEVELS), math.nan)
    below = 2 * fg / (allp + n_fg)  # predicted: grey <= t
    above = 2 * (n_fg - fg) / ((n - allp) + n_fg)  # predicted: grey > t
    return np.stack([below, above])


def _predict(grey: np.ndarray, level: int, darker: bool) -> np.ndarray:
    bins = np.clip((grey * (LEVELS - 1)).round().astype(int), 0, LEVELS - 1)
    return bins <= level if darker else bins > level


def threshold_reference(prepared: Path, split: dict, ndim: int) -> dict:
    """Fit on ``split["train"]``, score on ``split["test"]``.

    Returns:
        ``threshold`` (grey level in [0, 1]), ``foreground`` (``darker`` or
        ``brighter``), ``train_dice``, test ``dice`` / ``empty_correct``,
        ``per_image_dice`` (NaN for empty references) and ``test_cases``.
    """
    curves = [_dice_per_threshold(*_grey(prepared, c, ndim)) for c in split["train"]]
    scored = [c for c in curves if not np.isnan(c).all()]
    if not scored:
        raise ValueError("no training case has foreground: a threshold cannot be fitted")
    mean = np.mean(scored, axis=0)  # (2, LEVELS)
    side, level = np.unravel_index(int(np.nanargmax(mean)), mean.shape)
    darker = side == 0
    dices, empty_ok = [], []
    for case in split["test"]:
        grey, mask = _grey(prepared, case, ndim)
        pred = _predict(grey, int(level), darker)
        dice, _ = dice_iou(torch.from_numpy(pred)[None], torch.from_numpy(mask)[None])  # NaN: empty reference
        dices.append(float(dice[0]))
        if not mask.any():
            empty_ok.append(float(not pred.any()))
    finite = [d for d in dices if not math.isnan(d)]
    return {
        "method": "global grey threshold",
        "threshold": round(float(level) / (LEVELS - 1), 6),
        "foreground": "darker" if darker else "brighter",
        "train_dice": float(mean[side, level]),
        "dice": float(np.mean(finite)) if finite else None,
        "empty_correct": float(np.mean(empty_ok)) if empty_ok else None,
        "per_image_dice": [None if math.isnan(d) else d for d in dices],
        "test_cases": list(split["test"]),
        "n_train_cases": len(split["train"]),
        "n_test_images": len(split["test"]),
    }
