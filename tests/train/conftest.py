"""A tiny processed 2D dataset (synth -> ingest -> prepare -> augment -> patches ->
split), built once per session with the library functions the rules call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segsweep.config import Augment, Patches, Prepare, Synth2D, Train
from segsweep.data.cases import read_manifest
from segsweep.data.ingest import ingest, reader_for
from segsweep.data.synth import write_synth
from segsweep.preprocess.augment import augment
from segsweep.preprocess.patches import extract_patches
from segsweep.preprocess.prepare import prepare
from segsweep.splits import split_cases


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    ds = Synth2D(kind="synth2d", n_cases=14, size=64, empty_fraction=0.1, seed=3)
    write_synth(ds, root / "synth", "t")
    ingest(reader_for(ds, root / "synth"), root / "synth", root / "interim", "datasets.t")
    prepare(Prepare(), root / "interim", root / "prepared")
    augment(Augment(copies=2, crop_2d=(48, 48)), root / "prepared", root / "augmented")
    extract_patches(Patches(size_2d=(32, 32), stride_2d=(16, 16)), 0.0, root / "augmented", root / "patches")
    split = split_cases(read_manifest(root / "interim"), 1.0, 0, test_fraction=0.3, val_fraction=0.25)
    (root / "split.json").write_text(json.dumps(split))
    return {"patches": root / "patches", "split": root / "split.json", "prepared": root / "prepared"}


def tiny_cfg(**overrides) -> Train:
    base = {"epochs": 3, "batch_size": 8, "model": {"depth": 2, "base_filters": 4}, "optimizer": {"lr": 3e-3}}
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return Train.model_validate(base)
