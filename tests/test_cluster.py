"""Cluster requests sized from the data and the model (segsweep.cluster)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from segsweep import cluster
from segsweep.cluster import DataSize
from segsweep.config import Train, parse_params
from segsweep.data.cases import save_case


def _train(**kw) -> Train:
    return Train.model_validate({"epochs": 10, "steps_per_epoch": 10, "batch_size": 16, **kw})


SIZE_2D = DataSize(
    patch=(64, 64), channels=3, train_patches=800, patch_bytes=0.0, eval_image=(128, 128), eval_voxels=100 * 128 * 128
)


def test_feature_values_count_channels_times_voxels_per_level():
    # levels 0..2 of a 2D U-Net, width 4: 4*16*16 + 8*8*8 + 16*4*4
    assert cluster.feature_values(2, (16, 16), 4, 2) == 4 * 256 + 8 * 64 + 16 * 16
    assert cluster.feature_values(3, (8, 8, 8), 2, 1) == 2 * 512 + 4 * 64


@pytest.mark.parametrize("ndim,channels,width,depth", [(2, 3, 8, 4), (3, 1, 8, 3), (2, 1, 16, 2)])
def test_param_count_is_close_to_the_unet_it_describes(ndim, channels, width, depth):
    from segsweep.models.unet import UNet

    real = sum(p.numel() for p in UNet(ndim, channels, depth=depth, base_filters=width).parameters())
    assert cluster.param_count(ndim, channels, width, depth) == pytest.approx(real, rel=0.02)


def test_memory_grows_with_batch_width_and_patch_and_keeps_margin_and_floor():
    base = cluster.train_memory_mb(_train(), 2, SIZE_2D, 1.0, 0)
    assert cluster.train_memory_mb(_train(batch_size=64), 2, SIZE_2D, 1.0, 0) > base
    assert cluster.train_memory_mb(_train(model={"base_filters": 32}), 2, SIZE_2D, 1.0, 0) > base
    bigger = DataSize(**{**SIZE_2D.__dict__, "patch": (128, 128)})
    assert cluster.train_memory_mb(_train(), 2, bigger, 1.0, 0) > base
    assert cluster.train_memory_mb(_train(), 2, SIZE_2D, 2.0, 0) == pytest.approx(2 * base, abs=2)
    assert cluster.train_memory_mb(_train(), 2, SIZE_2D, 1.0, 10**6) == 10**6


def test_sliding_windows_bound_3d_evaluation_memory_by_the_window():
    big = DataSize(
        patch=(32, 32, 32),
        channels=1,
        train_patches=100,
        patch_bytes=0.0,
        eval_image=(64, 512, 512),
        eval_voxels=64 * 512 * 512,
    )
    windows = cluster.train_memory_mb(_train(batch_size=2), 3, big, 1.0, 0)
    whole = cluster.train_memory_mb(_train(batch_size=2, evaluation={"inference": "whole"}), 3, big, 1.0, 0)
    assert windows < whole / 2
    # measured (benchmarks/sliding_window_memory.py, width 8): whole 4.18 GB, windows 0.76 GB
    assert whole >= 4180 and windows >= 760


def test_steps_follow_steps_per_epoch_or_one_pass_over_the_training_patches():
    assert cluster.train_steps(_train(), SIZE_2D) == 100
    assert cluster.train_steps(_train(steps_per_epoch=None), SIZE_2D) == 10 * 50  # 800 / 16 per epoch


def test_runtime_is_steps_times_declared_seconds_with_margin_and_floor():
    cell = _train(evaluation={"precise_bn_batches": 0, "curve_bn_batches": 0})
    small = DataSize(**{**SIZE_2D.__dict__, "eval_voxels": 0.0})
    # 100 steps x 6 s + 60 s start-up = 11 min, x margin 2
    assert cluster.train_runtime_min(cell, 2, small, 6.0, 2.0, 1) == 22
    assert cluster.train_runtime_min(cell, 2, small, 6.0, 2.0, 60) == 60
    estimated = cluster.train_runtime_min(cell, 2, small, None, 1.0, 1)
    assert estimated == int(np.ceil((100 * cluster.seconds_per_step(cell, 2, small) + 60) / 60))


def test_data_size_reads_the_stores_on_disk(tmp_path):
    patches, prepared = tmp_path / "patches", tmp_path / "prepared"
    patches.mkdir()
    np.save(patches / "images.npy", np.zeros((5, 3, 16, 16), np.float32))
    np.save(patches / "masks.npy", np.zeros((5, 16, 16), np.uint8))
    pd.DataFrame({"case": ["a", "a", "b", "c", "c"]}).to_parquet(patches / "patches.parquet")
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["a", "c"], "val": ["b"], "test": []}))
    assert DataSize.read(patches, split, prepared) is None  # not prepared yet
    for case, side in (("a", 20), ("b", 24), ("c", 16)):
        save_case(prepared, case, np.zeros((side, side, 3), np.uint8), np.zeros((side, side), np.uint8))
    (prepared / "manifest.csv").write_text("case\na\nb\nc\n")
    size = DataSize.read(patches, split, prepared)
    assert size.patch == (16, 16) and size.channels == 3 and size.train_patches == 4
    assert size.eval_image == (24, 24) and size.eval_voxels == 20 * 20 + 24 * 24 + 16 * 16
    assert size.patch_bytes == (patches / "images.npy").stat().st_size + (patches / "masks.npy").stat().st_size


def test_data_size_from_params_uses_what_params_fix():
    params = parse_params({"datasets": {"d": {"kind": "synth3d", "n_cases": 4, "shape": [24, 32, 32]}}})
    size = DataSize.from_params(params, "d")
    assert size.patch == (32, 32, 32) and size.channels == 1 and size.train_patches is None
    assert size.eval_image == (24, 32, 32) and size.eval_voxels == 4 * 24 * 32 * 32


def test_cluster_settings_are_validated():
    from segsweep.config import ConfigError

    with pytest.raises(ConfigError, match=r"cluster\.runtime_margin"):
        parse_params({"datasets": {"d": {"kind": "synth2d"}}, "cluster": {"runtime_margin": 0.5}})
    with pytest.raises(ConfigError, match=r"cluster\.seconds_per_step"):
        parse_params({"datasets": {"d": {"kind": "synth2d"}}, "cluster": {"seconds_per_step": -1}})
    with pytest.raises(ConfigError, match=r"max_runtime = 5: must be at least min_runtime = 10"):
        parse_params({"datasets": {"d": {"kind": "synth2d"}}, "cluster": {"max_runtime": 5}})
