"""patches: grid coverage, foreground fractions add up, fg/bg kinds, oversampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segsweep.config import Patches
from segsweep.data.cases import save_case
from segsweep.errors import DataError
from segsweep.preprocess.patches import extract_patches, grid_starts, patch_starts


def _store(tmp_path, cases: dict, ndim: int):
    src = tmp_path / "src"
    rows = []
    for name, (image, mask) in cases.items():
        save_case(src, name, image, mask)
        rows.append({"case": name, "source_case": name.split("_")[0], "copy": 0, "ndim": ndim})
    pd.DataFrame(rows).to_csv(src / "manifest.csv", index=False)
    return src


def test_grid_starts_cover_the_axis():
    assert grid_starts(10, 4, 4) == [0, 4, 6]
    assert grid_starts(8, 4, 4) == [0, 4]
    assert grid_starts(4, 4, 2) == [0]


def test_foreground_fractions_add_up_with_a_tiling_grid(tmp_path):
    rng = np.random.default_rng(0)
    mask = (rng.random((64, 48)) < 0.1).astype(np.uint8)
    image = rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)
    cfg = Patches(size_2d=(16, 16), stride_2d=(16, 16), fg_oversample=0.0)
    table = extract_patches(cfg, 0.0, _store(tmp_path, {"x_a0": (image, mask)}, 2), tmp_path / "out")
    assert len(table) == 4 * 3
    assert table["fg_fraction"].sum() * 256 == pytest.approx(mask.sum(), abs=1e-3)
    images = np.load(tmp_path / "out/images.npy", mmap_mode="r")
    masks = np.load(tmp_path / "out/masks.npy", mmap_mode="r")
    assert images.shape == (12, 3, 16, 16) and images.dtype == np.float32
    assert masks.sum() == mask.sum()
    row = table.iloc[5]
    np.testing.assert_allclose(
        images[5], np.moveaxis(image, -1, 0)[:, row.start_0 : row.start_0 + 16, row.start_1 : row.start_1 + 16] / 255.0
    )
    assert pd.read_parquet(tmp_path / "out/patches.parquet").equals(table)


def test_kinds_origin_and_oversampling(tmp_path):
    mask = np.zeros((64, 64), np.uint8)
    mask[2:6, 2:6] = 1
    empty = np.zeros_like(mask)
    image = np.zeros((64, 64, 1), np.uint8)
    cfg = Patches(size_2d=(16, 16), stride_2d=(16, 16), fg_oversample=0.2)
    src = _store(tmp_path, {"a_a0": (image, mask), "b_a0": (image, empty)}, 2)
    table = extract_patches(cfg, 0.0, src, tmp_path / "out")
    a, b = table[table["case"] == "a"], table[table["case"] == "b"]
    assert (a["origin"] == "fg_centred").sum() == 4  # 16 grid patches -> 4 extra = 20 %
    assert (a.loc[a.origin == "fg_centred", "kind"] == "fg_bg").all()
    assert (b["origin"] == "grid").all() and (b["kind"] == "bg_only").all()
    assert ((table["fg_fraction"] > 0) == (table["kind"] == "fg_bg")).all()


def test_3d_patches_and_noise_levels(tmp_path):
    vol = np.full((16, 24, 24), 0.5, np.float32)
    lab = np.zeros((16, 24, 24), np.uint8)
    lab[4:8, 4:8, 4:8] = 1
    src = _store(tmp_path, {"v_a0": (vol, lab)}, 3)
    cfg = Patches(size_3d=(8, 12, 12), stride_3d=(8, 12, 12), fg_oversample=0.0)
    clean = extract_patches(cfg, 0.0, src, tmp_path / "n0")
    extract_patches(cfg, 0.1, src, tmp_path / "n1")
    extract_patches(cfg, 0.1, src, tmp_path / "n1b")
    assert len(clean) == 8 and (clean["kind"] == "fg_bg").sum() == 1
    x0, x1 = np.load(tmp_path / "n0/images.npy"), np.load(tmp_path / "n1/images.npy")
    assert x0.shape == (8, 1, 8, 12, 12) and np.all(x0 == 0.5)
    assert 0.08 < (x1 - x0).std() < 0.12
    np.testing.assert_array_equal(x1, np.load(tmp_path / "n1b/images.npy"))


def test_patch_larger_than_sample_is_named(tmp_path):
    src = _store(tmp_path, {"a_a0": (np.zeros((20, 20, 3), np.uint8), np.zeros((20, 20), np.uint8))}, 2)
    with pytest.raises(
        DataError, match=r"a_a0\.npz: sample shape \[20, 20\] is smaller than preprocess\.patches\.size_2d = \[32, 32\]"
    ):
        extract_patches(Patches(size_2d=(32, 32)), 0.0, src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_fg_centred_patch_contains_its_centre():
    mask = np.zeros((50, 50), np.uint8)
    mask[48, 1] = 1  # a corner pixel: the patch must shift inside the image
    starts = patch_starts(mask, (16, 16), (16, 16), 0.5, np.random.default_rng(0))
    fg = [s for s, origin in starts if origin == "fg_centred"]
    assert fg and all(s == (34, 0) for s in fg)
