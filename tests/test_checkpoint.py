"""One checkpoint API: atomic saves, restricted loads, snapshots by epoch."""

from __future__ import annotations

import pickle

import pytest
import torch

from segsweep import checkpoint


class _Code:
    """Not a tensor, number, string, list or dict: the restricted unpickler refuses it."""


def test_save_load_round_trip_and_snapshots_by_epoch(tmp_path):
    model = torch.nn.Conv2d(1, 2, 3)
    for epoch in (10, 0, 2):
        checkpoint.save_snapshot(tmp_path / "snapshots", epoch, model)
    snaps = checkpoint.list_snapshots(tmp_path / "snapshots")
    assert [p.name for p in snaps] == ["epoch_000.pt", "epoch_002.pt", "epoch_010.pt"]
    assert snaps[0] == checkpoint.snapshot_path(tmp_path / "snapshots", 0)
    assert checkpoint.load(snaps[2])["epoch"] == 10
    weights = checkpoint.load_weights(snaps[1])
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert not list((tmp_path / "snapshots").glob(".*"))  # no temporary left behind


def test_loads_refuse_pickled_code(tmp_path):
    torch.save({"model": {}, "extra": _Code()}, tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError):
        checkpoint.load(tmp_path / "evil.pt")


def test_a_failed_save_leaves_the_old_file(tmp_path):
    path = tmp_path / checkpoint.SELECTED
    checkpoint.save(path, {"epoch": 1, "model": {}})
    with pytest.raises(Exception):  # noqa: B017 (torch raises its own pickling error type)
        checkpoint.save(path, {"epoch": 2, "model": {}, "bad": lambda: None})
    assert checkpoint.load(path)["epoch"] == 1
