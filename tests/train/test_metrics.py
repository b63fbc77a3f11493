"""Per-image Dice/IoU against MONAI's DiceMetric and MeanIoU."""

from __future__ import annotations

import math

import torch
from monai.metrics import DiceMetric, MeanIoU

from segsweep.train.metrics import dice_iou, predict


def test_dice_iou_match_monai_per_image():
    torch.manual_seed(0)
    target = (torch.rand(6, 16, 16) > 0.7).to(torch.uint8)
    target[2] = 0  # an empty ground truth: NaN here and in MONAI (ignore_empty)
    pred = (torch.rand(6, 16, 16) > 0.5).to(torch.uint8)
    dice, iou = dice_iou(pred, target)
    onehot = lambda t: torch.stack([1 - t, t], 1).float()  # noqa: E731
    ref_dice = DiceMetric(include_background=False, reduction="none", ignore_empty=True)(onehot(pred), onehot(target))
    ref_iou = MeanIoU(include_background=False, reduction="none", ignore_empty=True)(onehot(pred), onehot(target))
    for ours, ref in ((dice, ref_dice[:, 0]), (iou, ref_iou[:, 0])):
        assert math.isnan(ours[2]) and math.isnan(ref[2])
        keep = torch.arange(6) != 2
        torch.testing.assert_close(ours[keep], ref[keep].float())


def test_predict_heads():
    two = torch.tensor([[[[0.0, 1.0]], [[1.0, 0.0]]]])  # (1, 2, 1, 2): fg wins at pixel 0
    assert predict(two).tolist() == [[[1, 0]]]
    assert predict(torch.tensor([[[[0.5, -0.5]]]])).tolist() == [[[1, 0]]]
