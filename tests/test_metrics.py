"""segsweep.metrics against MONAI: per-image Dice/IoU (NaN for an empty reference), pooled Dice."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from monai.metrics import DiceMetric, MeanIoU, compute_surface_dice
from scipy import ndimage

from segsweep.metrics import boundary_scores, dice_iou, predict


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


def test_pooled_dice_is_monai_dice_of_the_set_as_one_image_and_one_when_both_empty():
    from segsweep.metrics import overlap_counts, pooled_dice

    torch.manual_seed(1)
    target = (torch.rand(4, 8, 8) > 0.8).to(torch.uint8)
    pred = (torch.rand(4, 8, 8) > 0.6).to(torch.uint8)
    halves = overlap_counts(pred[:2], target[:2], per_image=False) + overlap_counts(pred[2:], target[2:], False)
    onehot = lambda t: torch.stack([1 - t, t], 1).float()  # noqa: E731
    whole = DiceMetric(include_background=False, reduction="none")(
        onehot(pred.reshape(1, 32, 8)), onehot(target.reshape(1, 32, 8))
    )
    torch.testing.assert_close(pooled_dice(halves), whole[0, 0].double())
    zero = torch.zeros(2, 8, 8, dtype=torch.uint8)
    assert float(pooled_dice(overlap_counts(zero, zero, per_image=False))) == 1.0


def test_the_references_threshold_sweep_is_per_image_dice():
    import numpy as np

    from segsweep.reference import LEVELS, _dice_per_threshold

    rng = np.random.default_rng(0)
    grey, mask = rng.random(400), rng.random(400) > 0.7
    sweep = _dice_per_threshold(grey, mask)
    bins = np.clip((grey * (LEVELS - 1)).round().astype(int), 0, LEVELS - 1)
    for level in (10, 128, 200):
        for row, pred in ((0, bins <= level), (1, bins > level)):
            ours, _ = dice_iou(torch.from_numpy(pred)[None], torch.from_numpy(mask)[None])
            assert sweep[row, level] == pytest.approx(float(ours[0]), rel=1e-6)
    assert np.isnan(_dice_per_threshold(grey, np.zeros(400, bool))).all()


def _box(shape, lo, hi):
    m = torch.zeros(shape, dtype=torch.uint8)
    m[tuple(slice(a, b) for a, b in zip(lo, hi))] = 1
    return m


def test_boundary_scores_follow_the_stated_rules_for_empty_masks():
    ref = _box((32, 32), (8, 8), (16, 16))
    empty = torch.zeros(32, 32, dtype=torch.uint8)
    assert all(math.isnan(v) for v in boundary_scores(ref, empty, None, 1.0))  # empty reference
    assert all(math.isnan(v) for v in boundary_scores(empty, empty, None, 1.0))
    nsd, hd95 = boundary_scores(empty, ref, (2.0, 0.5), 1.0)  # nothing predicted: the worst values
    assert nsd == 0.0 and hd95 == pytest.approx(math.hypot(64.0, 16.0))
    assert boundary_scores(ref, ref, None, 1.0) == (1.0, 0.0)


def test_boundary_scores_use_the_spacing_in_mm():
    """A one-voxel shift along an axis of 2 mm spacing: HD95 is 2 mm; a 1 mm tolerance
    misses the shifted faces, a 2 mm one takes them."""
    ref = _box((16, 24, 24), (4, 6, 6), (10, 14, 14))
    shifted = _box((16, 24, 24), (5, 6, 6), (11, 14, 14))
    spacing = (2.0, 1.0, 1.0)
    nsd_1, hd95 = boundary_scores(shifted, ref, spacing, 1.0)
    nsd_2, _ = boundary_scores(shifted, ref, spacing, 2.0)
    assert hd95 == pytest.approx(2.0)
    assert 0.0 < nsd_1 < 1.0 and nsd_2 == pytest.approx(1.0)
    # what MONAI gives on the one-hot pair, directly
    onehot = lambda m: torch.stack([1 - m, m]).float()[None]  # noqa: E731
    expected = compute_surface_dice(onehot(shifted), onehot(ref), [1.0], spacing=spacing)
    assert nsd_1 == pytest.approx(float(expected[0, 0]))
    # and HD95 from scipy's distance transform: the 95th percentile of both directed
    # surface distances (the faces moved by 2 mm, the sides by 0)
    surface = lambda m: m.numpy().astype(bool) & ~ndimage.binary_erosion(m.numpy().astype(bool))  # noqa: E731
    d_to_ref = ndimage.distance_transform_edt(~surface(ref), sampling=spacing)[surface(shifted)]
    d_to_pred = ndimage.distance_transform_edt(~surface(shifted), sampling=spacing)[surface(ref)]
    assert hd95 == pytest.approx(max(np.percentile(d_to_ref, 95), np.percentile(d_to_pred, 95)))
