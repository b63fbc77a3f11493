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
        r"\(D, H, W\) of datasets\.mri",
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
