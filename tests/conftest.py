"""Shared fixtures: tiny configs and tiny on-disk datasets the tests generate."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]

TINY = {
    "datasets": {
        "lesion2d": {"kind": "synth2d", "n_cases": 6, "size": 64, "empty_fraction": 0.2, "seed": 0},
        "organ3d": {"kind": "synth3d", "n_cases": 3, "shape": [24, 32, 32], "seed": 0},
    },
    "preprocess": {
        "augment": {"copies": 1, "crop_2d": [48, 48], "crop_3d": None},
        "patches": {"size_2d": [32, 32], "stride_2d": [16, 16], "size_3d": [16, 16, 16], "stride_3d": [8, 16, 16]},
    },
    "splits": {"train_fractions": [0.5], "seeds": [0]},
    "train": {"epochs": 2, "model": {"depth": 2, "base_filters": 4}},
    "grid": {"axes": {}, "studies": {}},  # DVC stages track every section: keep them all
    "probe": {"losses": ["dice", "ce"]},
    "landscape": {"resolution": 3},
    "report": {"title": "tiny"},
}


@pytest.fixture
def tiny_params() -> dict:
    """A deep copy of a small valid params mapping (fast to run end to end)."""
    return copy.deepcopy(TINY)


def write_png(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def folder2d(tmp_path: Path) -> Path:
    """Three 32x32 RGB image / 0-255 mask pairs under images/ and masks/ (one all background)."""
    rng = np.random.default_rng(0)
    for i in range(3):
        img = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
        mask = np.zeros((32, 32), np.uint8)
        if i:
            mask[8 : 8 + 6 * i, 10:20] = 255
        write_png(tmp_path / "images" / f"c{i}.png", img)
        write_png(tmp_path / "masks" / f"c{i}.png", mask)
    return tmp_path


@pytest.fixture(scope="session")
def default_run(tmp_path_factory) -> Path:
    """README command (1) in a fresh copy of the repo: the default study, end to end
    (slow, ~10 min on 2 cores); shared by the e2e tests of its report."""
    from tests.test_workflow import run, snakemake

    dst = tmp_path_factory.mktemp("default") / "repo"
    dst.mkdir()
    for name in ("Snakefile", "dvc.yaml", ".gitignore", ".dvcignore", "params.yaml"):
        shutil.copy(REPO / name, dst / name)
    for name in ("workflow", "src", ".dvc"):
        shutil.copytree(REPO / name, dst / name, ignore=shutil.ignore_patterns("__pycache__", "cache", "tmp"))
    run(["git", "init", "-q"], dst)
    snakemake(dst)
    return dst
