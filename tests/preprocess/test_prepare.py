"""prepare: CLAHE on uint8 (checked against OpenCV), resize/pad, 3D intensity window."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segsweep.config import Prepare
from segsweep.data.cases import load_case, save_case
from segsweep.preprocess.prepare import build_2d_transform, prepare, window_3d
from tests.conftest import REPO  # noqa: F401  (keeps the tests package importable)


def _low_contrast_rgb(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = 100 + 20 * rng.random((64, 64))
    return np.stack([base, base * 0.9, base * 0.8], -1).astype(np.uint8)


def test_clahe_matches_opencv_on_the_lab_lightness():
    img = _low_contrast_rgb()
    cfg = Prepare.model_validate({"clahe": {"clip_limit": 3.0, "tile_grid": 4}})
    out = build_2d_transform(cfg)(image=img, mask=np.zeros((64, 64), np.uint8))["image"]
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 4)).apply(lab[..., 0])
    expected = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    np.testing.assert_array_equal(out, expected)
    assert out.astype(float).std() > 2 * img.astype(float).std()  # contrast went up


def test_clahe_on_gray_and_disabled():
    gray = _low_contrast_rgb()[..., :1]
    out = build_2d_transform(Prepare())(image=gray, mask=np.zeros((64, 64), np.uint8))["image"]
    expected = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(gray[..., 0])
    np.testing.assert_array_equal(out.reshape(64, 64), expected)
    assert build_2d_transform(Prepare.model_validate({"clahe": {"enabled": False}})) is None


@pytest.mark.parametrize(("mode", "shape"), [("resize", (40, 30)), ("pad", (80, 50))])
def test_resize_and_pad_reach_the_size_and_keep_masks_binary(tmp_path, mode, shape):
    img = _low_contrast_rgb()
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 20:40] = 1
    src = tmp_path / "src"
    save_case(src, "a", img, mask)
    (src / "manifest.csv").write_text("case,ndim,shape,channels\na,2,64x64,3\n")
    cfg = Prepare.model_validate({"clahe": {"enabled": False}, "resize": {"mode": mode, "size": list(shape)}})
    manifest = prepare(cfg, src, tmp_path / "out")
    image, out_mask = load_case(tmp_path / "out", "a")
    assert image.shape == (*shape, 3) and out_mask.shape == shape
    assert set(np.unique(out_mask)) == {0, 1}
    assert manifest["shape"].iloc[0] == f"{shape[0]}x{shape[1]}"
    if mode == "pad":  # padding then centre-cropping moves nothing: the same pixels, shifted
        assert out_mask.sum() == min(32, shape[0]) * 20


def test_window_3d():
    vol = np.array([-1000.0, -200.0, 50.0, 300.0, 2000.0])
    np.testing.assert_allclose(window_3d(vol, -200.0, 300.0), [0, 0, 0.5, 1, 1])
    assert window_3d(vol, -200.0, 300.0).dtype == np.float32


def test_3d_normalisations_are_per_case():
    """One fixed HU window for every 3D dataset left MRI (no absolute scale) outside the
    pipeline."""
    from segsweep.preprocess.prepare import normalize_3d

    rng = np.random.default_rng(0)
    mri = rng.normal(700.0, 90.0, size=(4, 8, 8))  # arbitrary scanner units
    z = normalize_3d(mri, "zscore", -200.0, 300.0)
    assert z.dtype == np.float32 and abs(float(z.mean())) < 1e-5 and float(z.std()) == pytest.approx(1.0, abs=1e-5)
    m = normalize_3d(mri, "minmax", -200.0, 300.0)
    assert float(m.min()) == 0.0 and float(m.max()) == pytest.approx(1.0)
    w = normalize_3d(np.array([-1000.0, 50.0, 2000.0]), "window", -200.0, 300.0)
    np.testing.assert_allclose(w, [0.0, 0.5, 1.0])
    assert normalize_3d(mri, "none", 0, 1).dtype == np.float32
    assert not normalize_3d(np.full((2, 2, 2), 5.0), "zscore", 0, 1).any()  # constant: zeros, not NaN


def test_normalization_is_declared_on_the_3d_dataset():
    from pydantic import ValidationError

    from segsweep.config import Nifti, Synth3D

    assert Synth3D(kind="synth3d").normalization == "window"
    assert Nifti(kind="nifti", root="x", normalization="zscore").normalization == "zscore"
    assert Nifti(kind="nifti", root="x", normalization="ct").normalization == "ct"
    with pytest.raises(ValidationError, match="normalization"):
        Nifti(kind="nifti", root="x", normalization="hu")


def test_3d_cases_are_resampled_to_the_datasets_target_spacing(tmp_path):
    src = tmp_path / "src"
    rng = np.random.default_rng(0)
    rows = ["case,ndim,shape,channels,spacing"]
    for case, depth, z in (("a", 10, 4.0), ("b", 20, 2.0), ("c", 12, 3.0)):
        mask = np.zeros((depth, 16, 16), np.uint8)
        mask[depth // 4 : depth // 2, 4:12, 4:12] = 1
        save_case(src, case, rng.normal(40.0, 20.0, (depth, 16, 16)).astype(np.float32), mask)
        rows.append(f"{case},3,{depth}x16x16,1,{z:g}x1x1")
    (src / "manifest.csv").write_text("\n".join(rows) + "\n")
    manifest = prepare(Prepare(), src, tmp_path / "out", "zscore", "median")
    assert manifest["spacing"].tolist() == ["3x1x1"] * 3  # the median
    assert manifest["shape"].tolist() == ["13x16x16", "13x16x16", "12x16x16"]
    image, mask = load_case(tmp_path / "out", "b")
    assert image.shape == mask.shape == (13, 16, 16) and image.dtype == np.float32
    from segsweep.data.cases import load_original_mask

    # the resampled cases keep their mask on the original grid (test Dice is counted there)
    assert load_original_mask(tmp_path / "out", "b").shape == (20, 16, 16)
    assert load_original_mask(tmp_path / "out", "c") is None  # already at the target spacing
    assert manifest["original_spacing"].fillna("").tolist() == ["4x1x1", "2x1x1", ""]
    native = prepare(Prepare(), src, tmp_path / "native", "zscore", None)
    assert native["shape"].tolist() == ["10x16x16", "20x16x16", "12x16x16"]
    assert native["spacing"].tolist() == ["4x1x1", "2x1x1", "3x1x1"]


def _ct_store(src, test_scale: float = 1.0):
    """Six CT-like cases (HU); the fixed test set of splits (test_fraction 0.35, seed 0)
    gets its intensities multiplied by ``test_scale``."""
    from segsweep.splits import test_cases

    rng = np.random.default_rng(0)
    rows = ["case,ndim,shape,channels,spacing,has_fg,fg_fraction"]
    cases = {}
    for i in range(6):
        vol = rng.normal(-800.0, 50.0, (8, 16, 16))
        mask = np.zeros((8, 16, 16), np.uint8)
        mask[2:6, 4:12, 4:12] = 1
        vol[mask == 1] = rng.normal(60.0 + 10 * i, 15.0, int(mask.sum()))
        cases[f"c{i}"] = (vol, mask)
        rows.append(f"c{i},3,8x16x16,1,1x1x1,True,{mask.mean():.6f}")
    (src).mkdir(parents=True, exist_ok=True)
    (src / "manifest.csv").write_text("\n".join(rows) + "\n")
    from segsweep.data.cases import read_manifest

    held_out = set(test_cases(read_manifest(src), 0.35, 0))
    for case, (vol, mask) in cases.items():
        save_case(src, case, (vol * (test_scale if case in held_out else 1.0)).astype(np.float32), mask)
    return held_out


def test_ct_normalisation_uses_foreground_statistics_of_the_non_test_cases(tmp_path):
    """nnU-Net's CT scheme: clip to the foreground's 0.5 / 99.5 percentiles, z-score
    with its mean and std; the fixed test set never enters the statistics."""
    import json

    from segsweep.preprocess.prepare import ct_statistics

    protocol = {"test_fraction": 0.35, "test_seed": 0}
    held_out = _ct_store(tmp_path / "a")
    assert 1 <= len(held_out) <= 3
    prepare(Prepare(), tmp_path / "a", tmp_path / "out_a", "ct", None, protocol)
    stats = json.loads((tmp_path / "out_a/ct_statistics.json").read_text())
    train = [f"c{i}" for i in range(6) if f"c{i}" not in held_out]
    assert stats == pytest.approx(ct_statistics(tmp_path / "a", train))
    fg = np.concatenate([load_case(tmp_path / "a", c)[0][load_case(tmp_path / "a", c)[1] == 1] for c in train])
    assert stats["mean"] == pytest.approx(fg.mean(), rel=1e-6) and stats["std"] == pytest.approx(fg.std(), rel=1e-6)
    assert stats["low"] == pytest.approx(np.percentile(fg, 0.5)) and stats["high"] == pytest.approx(
        np.percentile(fg, 99.5)
    )
    image, _ = load_case(tmp_path / "out_a", train[0])
    raw, _ = load_case(tmp_path / "a", train[0])
    expected = (np.clip(raw, stats["low"], stats["high"]) - stats["mean"]) / stats["std"]
    np.testing.assert_allclose(image, expected, rtol=1e-5, atol=1e-5)
    # test cases ten times brighter: not one training case's inputs change
    _ct_store(tmp_path / "b", test_scale=10.0)
    prepare(Prepare(), tmp_path / "b", tmp_path / "out_b", "ct", None, protocol)
    for case in train:
        np.testing.assert_array_equal(load_case(tmp_path / "out_a", case)[0], load_case(tmp_path / "out_b", case)[0])


def test_ct_normalisation_needs_the_split_protocol_and_some_foreground(tmp_path):
    from segsweep.errors import ConfigError, DataError

    _ct_store(tmp_path / "a")
    with pytest.raises(ConfigError, match="test_fraction and test_seed"):
        prepare(Prepare(), tmp_path / "a", tmp_path / "out", "ct")
    for case in [f"c{i}" for i in range(6)]:
        image, mask = load_case(tmp_path / "a", case)
        save_case(tmp_path / "a", case, image, np.zeros_like(mask))
    with pytest.raises(DataError, match="normalization ct needs foreground voxels"):
        prepare(Prepare(), tmp_path / "a", tmp_path / "out", "ct", None, {"test_fraction": 0.35, "test_seed": 0})
