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
    with pytest.raises(ValidationError, match="normalization"):
        Nifti(kind="nifti", root="x", normalization="ct")
