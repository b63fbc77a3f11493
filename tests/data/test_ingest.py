"""Ingest: every bad input gives one clear line naming the file; nothing half-written."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from segsweep.config import Folder2D, Nifti
from segsweep.data.cases import load_case, read_manifest
from segsweep.data.ingest import ingest
from segsweep.errors import DataError
from tests.conftest import write_png

KEY = "datasets.mine"


def _cfg(root: Path, **kw) -> Folder2D:
    return Folder2D(kind="folder2d", root=root, **kw)


def _run(cfg, out: Path):
    return ingest(cfg, Path(cfg.root), out, KEY)


def test_good_folder_is_ingested_and_counts_background_only(folder2d, tmp_path):
    manifest = _run(_cfg(folder2d), tmp_path / "out")
    assert manifest["case"].tolist() == ["c0", "c1", "c2"]
    assert manifest["has_fg"].tolist() == [False, True, True]
    image, mask = load_case(tmp_path / "out", "c2")
    assert image.shape == (32, 32, 3) and mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}
    assert mask.sum() == 12 * 10
    assert read_manifest(tmp_path / "out")["fg_fraction"].iloc[2] == pytest.approx(120 / 1024, abs=1e-6)


def test_suffix_matching_gray_images_rgb_masks_and_16bit(tmp_path):
    (tmp_path / "img").mkdir()
    Image.fromarray(np.full((8, 8), 7, np.uint16)).save(tmp_path / "img/a.tif")
    Image.fromarray(np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000).save(tmp_path / "img/b.tif")
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[2:4] = 255
    write_png(tmp_path / "lab/a_seg.png", rgb)
    write_png(tmp_path / "lab/b_seg.png", np.ones((8, 8), np.uint8))
    cfg = _cfg(tmp_path, image_glob="img/*", mask_glob="lab/*.png", mask_strip="_seg")
    manifest = _run(cfg, tmp_path / "out")
    assert manifest["case"].tolist() == ["a", "b"] and manifest["channels"].tolist() == [1, 1]
    assert manifest["fg_fraction"].tolist() == [0.25, 1.0]
    image, _ = load_case(tmp_path / "out", "b")
    assert image.dtype == np.uint8 and image.min() == 0 and image.max() == 255


@pytest.mark.parametrize(
    ("damage", "pattern"),
    [
        (lambda r: (r / "masks/c1.png").unlink(), r"images/c1\.png: image without mask"),
        (lambda r: (r / "images/c1.png").unlink(), r"masks/c1\.png: mask without image"),
        (lambda r: (r / "images/c1.png").write_bytes(b"not a png"), r"images/c1\.png: unreadable or corrupt image"),
        (
            lambda r: (r / "masks/c1.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated"),
            r"masks/c1\.png: unreadable or corrupt image",
        ),
        (
            lambda r: write_png(r / "masks/c1.png", np.zeros((16, 32), np.uint8)),
            r"masks/c1\.png: shape \[16, 32\] does not match its image c1\.png \[32, 32\]",
        ),
        (
            lambda r: write_png(r / "masks/c1.png", np.arange(32 * 32).reshape(32, 32).astype(np.uint8) % 3),
            r"masks/c1\.png: mask has 3 distinct values \[0, 1, 2\]; .*set datasets\.mine\.foreground_label",
        ),
    ],
)
def test_each_bad_file_is_named(folder2d, tmp_path, damage, pattern):
    damage(folder2d)
    out = tmp_path / "out"
    with pytest.raises(DataError, match=pattern) as info:
        _run(_cfg(folder2d), out)
    assert "\n" not in str(info.value)
    assert not out.exists() and not list(tmp_path.glob(".out*"))  # nothing half-written


def test_empty_dataset(tmp_path):
    with pytest.raises(
        DataError, match=r"empty dataset: no file matches datasets\.mine\.image_glob = 'images/\*\.png'"
    ):
        _run(_cfg(tmp_path), tmp_path / "out")


def test_failed_ingest_keeps_the_previous_output(folder2d, tmp_path):
    out = tmp_path / "out"
    _run(_cfg(folder2d), out)
    (folder2d / "masks/c2.png").unlink()
    with pytest.raises(DataError):
        _run(_cfg(folder2d), out)
    assert read_manifest(out)["case"].tolist() == ["c0", "c1", "c2"]


def _nifti(path: Path, arr: np.ndarray, zooms=(1.0, 1.0, 2.0)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(arr, np.diag([*zooms, 1.0])), path)


def _nifti_cfg(root: Path, **kw) -> Nifti:
    return Nifti(kind="nifti", root=root, image_glob="im/*.nii.gz", mask_glob="lb/*.nii.gz", **kw)


def test_nifti_label_map_needs_a_foreground_label(tmp_path):
    vol = np.random.default_rng(0).normal(size=(10, 12, 8)).astype(np.float32)
    lab = np.zeros((10, 12, 8), np.uint8)
    lab[2:5, 3:6, 1:4], lab[6:8, 6:9, 4:6] = 1, 2
    _nifti(tmp_path / "im/p1.nii.gz", vol)
    _nifti(tmp_path / "lb/p1.nii.gz", lab)
    with pytest.raises(DataError, match=r"lb/p1\.nii\.gz: mask has 3 distinct values \[0, 1, 2\]"):
        ingest(_nifti_cfg(tmp_path), tmp_path, tmp_path / "out", KEY)
    manifest = ingest(_nifti_cfg(tmp_path, foreground_label=2), tmp_path, tmp_path / "out", KEY)
    image, mask = load_case(tmp_path / "out", "p1")
    assert image.shape == mask.shape == (8, 12, 10)  # (D, H, W) = (z, y, x)
    assert mask.sum() == 2 * 3 * 2 and manifest["spacing"].iloc[0] == "2x1x1"


@pytest.mark.parametrize(
    ("image", "label", "pattern"),
    [
        (
            np.full((6, 6, 6), np.nan, np.float32),
            np.zeros((6, 6, 6), np.uint8),
            r"im/p1\.nii\.gz: image contains NaN or inf",
        ),
        (
            np.zeros((6, 6, 6), np.float32),
            np.zeros((6, 6, 5), np.uint8),
            r"lb/p1\.nii\.gz: shape \[5, 6, 6\] does not match",
        ),
        (np.zeros((6, 6), np.float32), np.zeros((6, 6), np.uint8), r"im/p1\.nii\.gz: expected a 3D volume"),
    ],
)
def test_bad_nifti(tmp_path, image, label, pattern):
    _nifti(tmp_path / "im/p1.nii.gz", image)
    _nifti(tmp_path / "lb/p1.nii.gz", label)
    with pytest.raises(DataError, match=pattern):
        ingest(_nifti_cfg(tmp_path), tmp_path, tmp_path / "out", KEY)


def test_corrupt_nifti(tmp_path):
    (tmp_path / "im").mkdir()
    (tmp_path / "im/p1.nii.gz").write_bytes(b"\x1f\x8b garbage")
    _nifti(tmp_path / "lb/p1.nii.gz", np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(DataError, match=r"im/p1\.nii\.gz: unreadable or corrupt NIfTI"):
        ingest(_nifti_cfg(tmp_path), tmp_path, tmp_path / "out", KEY)


def test_mixed_channel_counts_or_bit_depths_name_the_raw_file(tmp_path):
    """A 16-bit gray image among RGB ones passed ingest and failed three stages later,
    naming a derived .npz."""
    write_png(tmp_path / "images/a.png", np.zeros((8, 8, 3), np.uint8))
    Image.fromarray(np.zeros((8, 8), np.uint16)).save(tmp_path / "images/b.tif")
    for case in ("a", "b"):
        write_png(tmp_path / f"masks/{case}.png", np.eye(8, dtype=np.uint8) * 255)
    cfg = _cfg(tmp_path, image_glob="images/*")
    with pytest.raises(
        DataError,
        match=r"images/b\.tif: 1 channel, 16-bit, but .*images/a\.png \(the dataset's first image\) has 3 channels, 8-bit",
    ):
        _run(cfg, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_dataset_without_foreground_is_refused_unless_declared(folder2d, tmp_path):
    for mask in (folder2d / "masks").glob("*.png"):
        write_png(mask, np.zeros((32, 32), np.uint8))
    with pytest.raises(
        DataError,
        match=r"no mask of the 3 cases has foreground \(e\.g\. .*masks/c0\.png\).*"
        r"set datasets\.mine\.no_foreground: true",
    ):
        _run(_cfg(folder2d), tmp_path / "out")
    assert not _run(_cfg(folder2d, no_foreground=True), tmp_path / "out")["has_fg"].any()


def test_a_label_with_another_affine_than_its_image_is_refused(tmp_path):
    vol = np.random.default_rng(0).normal(size=(6, 6, 6)).astype(np.float32)
    lab = np.zeros((6, 6, 6), np.uint8)
    lab[2:4, 2:4, 2:4] = 1
    _nifti(tmp_path / "im/p1.nii.gz", vol, zooms=(0.63, 0.63, 5.0))
    _nifti(tmp_path / "lb/p1.nii.gz", lab, zooms=(1.0, 1.0, 1.0))  # same shape, other spacing
    with pytest.raises(
        DataError,
        match=r"lb/p1\.nii\.gz: its affine \[\[1,0,0,0\],.*differs from its image .*im/p1\.nii\.gz's "
        r"\[\[0\.63,0,0,0\],\[0,0\.63,0,0\],\[0,0,5,0\]\] by more than 0\.001",
    ):
        ingest(_nifti_cfg(tmp_path), tmp_path, tmp_path / "out", KEY)
    _nifti(tmp_path / "lb/p1.nii.gz", lab, zooms=(0.6300001, 0.63, 5.0))  # header rounding passes
    assert ingest(_nifti_cfg(tmp_path), tmp_path, tmp_path / "out", KEY)["has_fg"].all()
