"""Dataset fingerprint (segsweep inspect) and the validation that reads NIfTI headers."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from segsweep.config import ConfigError, Nifti
from segsweep.data.inspect import check_volumes, inspect_dataset, volume_shapes
from segsweep.study import validate_params


def _volume(root: Path, case: str, arr: np.ndarray, label: np.ndarray, zooms=(0.63, 0.63, 5.0)) -> None:
    for folder, data in (("imagesTr", arr), ("labelsTr", label)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(data, np.diag([*zooms, 1.0])), root / folder / f"{case}.nii.gz")


def _dataset(root: Path, low: float) -> Nifti:
    rng = np.random.default_rng(0)
    for i, depth in enumerate((21, 30)):  # (x, y, z): 21 and 30 slices
        vol = (low + rng.random((32, 32, depth)) * 400).astype(np.float32)
        lab = np.zeros((32, 32, depth), np.uint8)
        if i:
            lab[10:14, 10:14, 5:8] = 1
        _volume(root, f"p{i}", vol, lab)
    return Nifti(kind="nifti", root=root)


def test_fingerprint_of_an_anisotropic_dataset(tmp_path):
    ct = inspect_dataset(_dataset(tmp_path / "ct", -1000.0), tmp_path / "ct", "datasets.ct", 3)
    assert ct["n_cases"] == 2 and ct["min_shape"] == [21, 32, 32] and ct["median_spacing"] == [5.0, 0.63, 0.63]
    assert ct["anisotropy"] == pytest.approx(5.0 / 0.63, abs=1e-3) and ct["orientations"] == ["RAS"]
    # thick slices: z takes the 10th percentile of the z spacings (all 5 mm here)
    assert ct["target_spacing"] == [5.0, 0.63, 0.63] and ct["resampled_min_shape"] == [21, 32, 32]
    assert [Path(c).name for c in ct["empty_cases"]] == ["p0.nii.gz"]
    assert ct["suggested_normalization"] == "window" and "CT-like" in ct["modality_hint"]
    mri = inspect_dataset(_dataset(tmp_path / "mri", 100.0), tmp_path / "mri", "datasets.mri", 3)
    assert mri["suggested_normalization"] == "zscore" and "MRI-like" in mri["modality_hint"]
    case = mri["cases"][1]
    assert case["fg_fraction"] == pytest.approx(4 * 4 * 3 / (30 * 32 * 32), abs=1e-6)
    assert 100 <= case["percentiles"][0][0] < case["percentiles"][0][2] <= 500 and case["raw"] == "float32"


def test_a_patch_larger_than_a_volume_fails_at_validation_from_the_headers(tmp_path, tiny_params):
    """32³ patches and a 21-slice volume failed only at the patches job, after ingest,
    prepare and augment had run."""
    _dataset(tmp_path / "mri", 100.0)
    assert sorted(volume_shapes(Nifti(kind="nifti", root=tmp_path / "mri"), tmp_path / "mri", "k").values()) == [
        (21, 32, 32),
        (30, 32, 32),
    ]
    tiny_params["datasets"]["mri"] = {"kind": "nifti", "root": str(tmp_path / "mri"), "normalization": "zscore"}
    tiny_params["preprocess"]["patches"] |= {"size_3d": [24, 16, 16], "stride_3d": [24, 16, 16]}
    with pytest.raises(
        ConfigError,
        match=r"preprocess\.patches\.size_3d = \[24, 16, 16\]: larger than .*p0\.nii\.gz's volume \[21, 32, 32\] "
        r"\(D, H, W, resampled to datasets\.mri\.target_spacing\) of datasets\.mri",
    ):
        check_volumes(validate_params(tiny_params))
    tiny_params["preprocess"]["patches"] |= {"size_3d": [16, 16, 16], "stride_3d": [8, 16, 16]}
    check_volumes(validate_params(tiny_params))


def test_segsweep_validate_and_the_workflow_run_the_volume_check(tmp_path, tiny_params):
    import subprocess
    import sys

    import yaml

    from tests.conftest import REPO

    _dataset(tmp_path / "mri", 100.0)
    tiny_params["datasets"]["mri"] = {"kind": "nifti", "root": str(tmp_path / "mri"), "normalization": "zscore"}
    tiny_params["preprocess"]["patches"] |= {"size_3d": [24, 16, 16], "stride_3d": [24, 16, 16]}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    res = subprocess.run(
        [sys.executable, "-m", "segsweep", "validate", "--params", str(tmp_path / "params.yaml")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "p0.nii.gz's volume [21, 32, 32]" in res.stderr.strip().splitlines()[-1]
    assert "check_volumes(P, SOURCE)" in (REPO / "workflow/rules/common.smk").read_text()


def test_the_volume_check_uses_the_resampled_shapes(tmp_path, tiny_params):
    """16 slices of 4 mm and 32 of 2 mm: both become 21 slices of 3 mm (the median), so
    24-slice patches cannot fit although the second volume has 32 slices."""
    rng = np.random.default_rng(0)
    for case, depth, z in (("a", 16, 4.0), ("b", 32, 2.0)):
        lab = np.zeros((32, 32, depth), np.uint8)
        lab[8:16, 8:16, 2:6] = 1
        _volume(tmp_path / "v", case, rng.random((32, 32, depth)).astype(np.float32), lab, zooms=(1.0, 1.0, z))
    cfg = Nifti(kind="nifti", root=tmp_path / "v")
    assert sorted(volume_shapes(cfg, tmp_path / "v", "k").values()) == [(21, 32, 32), (21, 32, 32)]
    native = cfg.model_copy(update={"target_spacing": None})
    assert sorted(volume_shapes(native, tmp_path / "v", "k").values()) == [(16, 32, 32), (32, 32, 32)]
    tiny_params["datasets"]["v"] = {"kind": "nifti", "root": str(tmp_path / "v"), "normalization": "zscore"}
    tiny_params["preprocess"]["patches"] |= {"size_3d": [24, 16, 16], "stride_3d": [24, 16, 16]}
    with pytest.raises(ConfigError, match=r"a\.nii\.gz's volume \[21, 32, 32\]"):
        check_volumes(validate_params(tiny_params))


def test_the_suggested_patch_fits_the_budget_the_pooling_and_the_smallest_volume():
    from segsweep.data.inspect import PATCH_BUDGET, suggest_patch

    assert suggest_patch([60, 512, 512], [40, 512, 512]) == [32, 176, 176]  # shrunk in-plane, depth bounded by 40
    assert suggest_patch([48, 64, 64], [21, 64, 64]) == [16, 64, 64]  # the 21-slice volume bounds depth
    assert suggest_patch([10, 64, 64], [10, 64, 64]) == [10, 64, 64]  # thinner than one multiple: as is
    for shape in ([300, 300, 300], [64, 640, 640], [200, 90, 500]):
        patch = suggest_patch(shape, shape)
        assert np.prod(patch) <= PATCH_BUDGET and all(p % 16 == 0 for p in patch)
