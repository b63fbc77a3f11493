"""augment: seeded, rotations keep masks binary and aligned with their images."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segsweep.config import Augment
from segsweep.data.cases import load_case, save_case
from segsweep.preprocess.augment import augment, augment_3d, random_crop


def _store(tmp_path, image, mask, ndim):
    src = tmp_path / "src"
    save_case(src, "a", image, mask)
    pd.DataFrame([{"case": "a", "ndim": ndim}]).to_csv(src / "manifest.csv", index=False)
    return src


def _square_case():
    mask = np.zeros((64, 64), np.uint8)
    mask[20:44, 12:40] = 1
    image = np.repeat((mask * 200 + 30)[..., None], 3, -1).astype(np.uint8)
    return image, mask


def test_rotated_mask_stays_binary_and_aligned(tmp_path):
    image, mask = _square_case()
    cfg = Augment(copies=8, rotate_limit=180, rotate_p=1.0, crop_2d=(48, 48), seed=3)
    manifest = augment(cfg, _store(tmp_path, image, mask, 2), tmp_path / "out")
    assert manifest["source_case"].eq("a").all() and manifest["copy"].tolist() == list(range(8))
    for sample in manifest["case"]:
        img, m = load_case(tmp_path / "out", sample)
        assert img.shape == (48, 48, 3) and m.shape == (48, 48)
        assert set(np.unique(m)) <= {0, 1}
        # Where the mask says lesion the rotated image is bright; elsewhere dark or fill.
        bright = img[..., 0] > 115
        assert (bright == m.astype(bool)).mean() > 0.97


def test_augment_is_deterministic_and_seed_dependent(tmp_path):
    image, mask = _square_case()
    src = _store(tmp_path, image, mask, 2)
    cfg = Augment(copies=3, crop_2d=(40, 40), seed=0)
    augment(cfg, src, tmp_path / "a")
    augment(cfg, src, tmp_path / "b")
    augment(cfg.model_copy(update={"seed": 1}), src, tmp_path / "c")
    for k in range(3):
        a, b, _ = (load_case(tmp_path / d, f"a_a{k}")[0] for d in "abc")
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(load_case(tmp_path / "a", f"a_a{k}")[0], load_case(tmp_path / "c", f"a_a{k}")[0])
        for k in range(3)
    )


def test_3d_rotation_keeps_labels_binary_and_aligned():
    vol = np.zeros((8, 40, 40), np.float32)
    vol[:, 10:30, 15:25] = 1.0
    lab = (vol > 0.5).astype(np.uint8)
    img, m = augment_3d(vol, lab, Augment(rotate_p=1.0, crop_3d=(8, 32, 32)), seed=5)
    assert img.shape == m.shape == (8, 32, 32) and set(np.unique(m)) <= {0, 1}
    assert ((img > 0.5) == m.astype(bool)).mean() > 0.97


def test_random_crop_pads_small_inputs():
    a = np.ones((4, 5), np.uint8)
    (out,) = random_crop([a], (6, 5), np.random.default_rng(0))
    assert out.shape == (6, 5) and out.sum() == 20


def test_foreground_centred_3d_crops_find_a_tiny_lesion():
    """Random 3D crops missed tiny lesions (foreground <= 0.01 %)."""
    from pydantic import ValidationError

    from segsweep.preprocess.augment import augment_3d

    image = np.random.default_rng(0).random((40, 96, 96)).astype(np.float32)
    mask = np.zeros((40, 96, 96), np.uint8)
    mask[31, 80:82, 7:9] = 1  # 4 voxels of 368,640: 0.001 %
    cfg = Augment(copies=1, rotate_p=0.0, crop_3d=(16, 32, 32), fg_crop_3d=1.0)
    assert all(augment_3d(image, mask, cfg, seed)[1].any() for seed in range(20))
    plain = cfg.model_copy(update={"fg_crop_3d": 0.0})
    assert sum(augment_3d(image, mask, plain, seed)[1].any() for seed in range(20)) <= 3
    half = cfg.model_copy(update={"fg_crop_3d": 0.5})
    assert 3 <= sum(augment_3d(image, mask, half, seed)[1].any() for seed in range(20)) <= 17
    for seed in range(3):  # deterministic per seed
        a, b = augment_3d(image, mask, half, seed), augment_3d(image, mask, half, seed)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    with pytest.raises(ValidationError, match=r"fg_crop_3d = 0\.5 needs crop_3d"):
        Augment(crop_3d=None, fg_crop_3d=0.5)
