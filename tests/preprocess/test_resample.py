"""Resampling 3D cases to one spacing (segsweep.data.spacing, segsweep.preprocess.resample)."""

from __future__ import annotations

import numpy as np
import pytest

from segsweep.data.spacing import resampled_shape, target_spacing
from segsweep.preprocess.resample import resample_case


def test_the_target_is_the_median_or_for_thick_slices_the_10th_percentile():
    iso = np.array([[1.0, 1.0, 1.0], [1.5, 0.8, 0.8], [2.0, 0.9, 0.9]])
    assert target_spacing(iso, "median") == (1.5, 0.9, 0.9)
    thick = np.array([[5.0, 0.6, 0.6], [5.0, 0.7, 0.7], [3.0, 0.7, 0.7], [5.0, 0.8, 0.8], [1.0, 0.7, 0.7]])
    # median (5, 0.7, 0.7) is anisotropic (7x): the thick axis takes its 10th percentile
    assert target_spacing(thick, "median") == pytest.approx((np.percentile([5, 5, 3, 5, 1], 10), 0.7, 0.7))
    assert target_spacing(thick, (2.0, 1.0, 1.0)) == (2.0, 1.0, 1.0)
    assert target_spacing(thick, None) is None


def test_shapes_scale_with_spacing():
    assert resampled_shape((20, 64, 64), (5.0, 0.5, 0.5), (2.5, 1.0, 1.0)) == (40, 32, 32)
    assert resampled_shape((3, 3, 3), (1.0, 1.0, 1.0), (10.0, 10.0, 10.0)) == (1, 1, 1)


def _sphere(shape, spacing, radius_mm):
    grids = np.meshgrid(*[(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing)], indexing="ij")
    return (sum(g**2 for g in grids) <= radius_mm**2).astype(np.uint8)


def test_a_sphere_keeps_its_volume_in_mm3():
    spacing, target = (2.0, 1.2, 1.2), (1.0, 1.0, 1.0)
    mask = _sphere((40, 64, 64), spacing, 18.0)
    image = mask.astype(np.float32) * 2 - 1
    out_img, out_mask = resample_case(image, mask, spacing, target)
    assert out_mask.shape == out_img.shape == resampled_shape(mask.shape, spacing, target) == (80, 77, 77)
    assert out_img.dtype == np.float32 and out_mask.dtype == np.uint8 and set(np.unique(out_mask)) <= {0, 1}
    before, after = mask.sum() * np.prod(spacing), out_mask.sum() * np.prod(target)
    assert after == pytest.approx(before, rel=0.03)
    assert after == pytest.approx(4 / 3 * np.pi * 18.0**3, rel=0.05)


def test_thick_slices_are_not_blurred_into_each_other():
    """Anisotropic spacing: the thick axis by nearest neighbour, so each new slice is a
    copy of an original one (resampled in-plane), never a mix of two."""
    rng = np.random.default_rng(0)
    image = rng.random((6, 16, 16)).astype(np.float32)
    mask = (image > 0.5).astype(np.uint8)
    out_img, out_mask = resample_case(image, mask, (6.0, 1.0, 1.0), (2.0, 1.0, 1.0))
    assert out_img.shape == (18, 16, 16)
    for k in range(18):
        np.testing.assert_allclose(out_img[k], image[k // 3], atol=1e-5)  # in-plane factor 1: unchanged
        assert (out_mask[k] == mask[k // 3]).all()


def test_the_same_spacing_returns_the_case_itself():
    image, mask = np.zeros((4, 8, 8), np.float32), np.zeros((4, 8, 8), np.uint8)
    out = resample_case(image, mask, (2.0, 1.0, 1.0), (2.0005, 1.0, 1.0))
    assert out[0] is image and out[1] is mask


def test_logits_go_back_to_the_exact_original_grid():
    from segsweep.preprocess.resample import resample_logits

    rng = np.random.default_rng(1)
    # thick slices: linear in-plane, nearest along the thick axis (each slice from one)
    logits = rng.normal(size=(2, 18, 20, 20)).astype(np.float32)
    back = resample_logits(logits, (6, 10, 10), (6.0, 1.0, 1.0))
    assert back.shape == (2, 6, 10, 10) and back.dtype == np.float32
    # isotropic-enough: linear everywhere, a constant stays that constant
    flat = np.full((2, 13, 16, 16), 3.0, np.float32)
    np.testing.assert_allclose(resample_logits(flat, (7, 11, 9), (2.0, 1.0, 1.0)), 3.0, rtol=1e-6)
