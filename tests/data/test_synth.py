"""Synthetic data: deterministic to the byte, realistic foreground range."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from PIL import Image

from segsweep.config import Synth2D, Synth3D
from segsweep.data.synth import write_synth


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path):
    for cfg in (Synth2D(kind="synth2d", n_cases=4, size=64), Synth3D(kind="synth3d", n_cases=2, shape=(16, 24, 24))):
        write_synth(cfg, tmp_path / "a", "d")
        write_synth(cfg, tmp_path / "b", "d")
        a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
        assert a == b and len(a) == 2 * cfg.n_cases + 1
        write_synth(cfg.model_copy(update={"seed": 1}), tmp_path / "c", "d")
        assert _digests(tmp_path / "c") != a


def test_adding_cases_keeps_earlier_cases(tmp_path):
    write_synth(Synth2D(kind="synth2d", n_cases=2, size=64), tmp_path / "a", "d")
    write_synth(Synth2D(kind="synth2d", n_cases=3, size=64), tmp_path / "b", "d")
    assert (tmp_path / "a/images/d_0001.png").read_bytes() == (tmp_path / "b/images/d_0001.png").read_bytes()


def test_2d_lesions_span_the_foreground_range(tmp_path):
    manifest = write_synth(Synth2D(kind="synth2d", n_cases=64, size=96, empty_fraction=0.1), tmp_path, "d")
    fg = manifest.loc[manifest.has_fg, "fg_fraction"]
    assert fg.min() < 0.01 and 0.25 < fg.max() <= 0.45
    assert (~manifest.has_fg).sum() >= 2  # background-only images exist and are counted
    on_disk = pd.read_csv(tmp_path / "manifest.csv")
    assert on_disk["fg_fraction"].tolist() == manifest["fg_fraction"].tolist()
    img = np.asarray(Image.open(tmp_path / "images/d_0000.png"))
    mask = np.asarray(Image.open(tmp_path / "masks/d_0000.png"))
    assert img.shape == (96, 96, 3) and img.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255}


def test_2d_lesion_is_darker_than_skin(tmp_path):
    write_synth(Synth2D(kind="synth2d", n_cases=8, size=96, empty_fraction=0.0), tmp_path, "d")
    for i in range(8):
        img = np.asarray(Image.open(tmp_path / f"images/d_{i:04d}.png")).astype(float).mean(-1)
        mask = np.asarray(Image.open(tmp_path / f"masks/d_{i:04d}.png")) > 0
        assert img[mask].mean() < img[~mask].mean() - 20


def test_3d_volumes_are_ct_like_nifti(tmp_path):
    cfg = Synth3D(kind="synth3d", n_cases=2, shape=(16, 24, 32), spacing=(3.0, 1.0, 0.5))
    manifest = write_synth(cfg, tmp_path, "v")
    img = nib.load(tmp_path / "imagesTr/v_0000.nii.gz")
    lab = nib.load(tmp_path / "labelsTr/v_0000.nii.gz")
    vol, label = np.asarray(img.dataobj), np.asarray(lab.dataobj)
    assert vol.shape == (32, 24, 16)  # NIfTI (x, y, z)
    assert img.header.get_zooms() == (0.5, 1.0, 3.0)
    assert vol.min() <= -900 and vol.max() >= 500  # air and bone
    assert set(np.unique(label)) == {0, 1} and manifest.has_fg.all()
    assert 60 < vol[label == 1].mean() < 120  # the organ is brighter than soft tissue


def test_mri_like_volumes_and_tiny_lesions():
    """Fixtures for issue 15: MRI-like volumes (arbitrary positive scale per case, bias
    field) and lesions of at most 0.01 % of the volume; the CT organ path is unchanged."""
    from segsweep.config import Synth3D
    from segsweep.data.synth import organ_volume

    mri = [organ_volume(Synth3D(kind="synth3d", modality="mri", empty_fraction=0.0), i) for i in range(3)]
    assert all(v.dtype == np.float32 and v.min() >= 0 for v, _ in mri)
    assert len({round(float(np.median(v)), -1) for v, _ in mri}) == 3  # each case its own scale
    fg, bg = mri[0][0][mri[0][1] > 0].mean(), mri[0][0][mri[0][1] == 0].mean()
    assert fg > bg  # hyperintense target
    v, lesion = organ_volume(Synth3D(kind="synth3d", target="lesion", empty_fraction=0.0), 0)
    assert v.dtype == np.int16 and v.min() == -1024 and 0 < lesion.mean() <= 1e-4
    ct, organ = organ_volume(Synth3D(kind="synth3d"), 0)
    assert ct.dtype == np.int16 and organ.mean() > 1e-3


def test_microscopy_tiles_are_gray_8_or_16_bit_with_bright_nuclei(tmp_path):
    for depth, dtype, top in ((8, np.uint8, 255), (16, np.uint16, 4095)):
        cfg = Synth2D(kind="synth2d", style="microscopy", bit_depth=depth, n_cases=6, size=96, empty_fraction=0.0)
        manifest = write_synth(cfg, tmp_path / str(depth), "m")
        assert manifest["has_fg"].all()
        for i in range(6):
            img = np.asarray(Image.open(tmp_path / f"{depth}/images/m_{i:04d}.png"))
            mask = np.asarray(Image.open(tmp_path / f"{depth}/masks/m_{i:04d}.png")) > 0
            assert img.ndim == 2 and img.dtype == dtype and img.max() <= top
            assert img[mask].mean() > 3 * img[~mask].mean()  # nuclei shine on a dark background
        if depth == 16:
            assert img.max() > 255  # a real 16-bit range, not 8-bit values in a wider type


def test_microscopy_tiles_are_ingested_as_one_gray_channel(tmp_path):
    from segsweep.data.cases import load_case
    from segsweep.data.ingest import ingest, reader_for

    cfg = Synth2D(kind="synth2d", style="microscopy", bit_depth=16, n_cases=3, size=64)
    write_synth(cfg, tmp_path / "raw", "m")
    manifest = ingest(reader_for(cfg, tmp_path / "raw"), tmp_path / "raw", tmp_path / "out", "datasets.m")
    assert manifest["channels"].tolist() == [1, 1, 1]
    image, _ = load_case(tmp_path / "out", "m_0000")
    assert image.shape == (64, 64, 1) and image.dtype == np.uint8 and image.max() == 255  # rescaled per image


def test_a_16_bit_lesion_style_is_refused():
    import pytest

    from segsweep.config import ConfigError, parse_params

    with pytest.raises(ConfigError, match=r"bit_depth = 16: the lesion style is 8-bit RGB"):
        parse_params({"datasets": {"d": {"kind": "synth2d", "bit_depth": 16}}})
