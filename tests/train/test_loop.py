"""Training one cell: deterministic, resumable after SIGKILL, divergence recorded."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from segsweep.config import section_json
from segsweep.train.loop import OUTPUTS, RESUME, train_cell
from tests.train.conftest import tiny_cfg


def _train(cfg, tiny_data, out: Path) -> dict:
    return train_cell(cfg, "c", tiny_data["patches"], tiny_data["split"], tiny_data["prepared"], out, ndim=2)


RUN = (
    "train_seconds",
    "images_per_second",
    "seconds_per_step",
    "resumed_from_epoch",
)  # returned and logged, not in metrics.json


def _comparable(m: dict) -> dict:
    return {k: v for k, v in m.items() if k not in RUN}


def test_outputs_and_same_cell_twice_is_identical(tiny_data, tmp_path):
    cfg = tiny_cfg(model={"dropout": 0.2}, snapshot_every=2)  # dropout: the RNG stream must be reproduced too
    a, b = _train(cfg, tiny_data, tmp_path / "a"), _train(cfg, tiny_data, tmp_path / "b")
    assert a["status"] == "ok" and 0.0 <= a["dice"] <= 1.0 and a["selected_epoch"] == 2
    assert _comparable(a) == _comparable(b)
    assert all((tmp_path / "a" / f).exists() for f in OUTPUTS) and not (tmp_path / RESUME).exists()
    assert sorted(p.name for p in (tmp_path / "a/.work").iterdir()) == ["done"]  # links, until the run ends
    for name in ("metrics.json", "history.csv", "norms.parquet"):  # what DVC hashes: the same bytes
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert not set(RUN) & set(json.loads((tmp_path / "a/metrics.json").read_text()))
    assert sorted(p.name for p in (tmp_path / "a/snapshots").iterdir()) == ["epoch_000.pt", "epoch_002.pt"]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a/history.csv"), pd.read_csv(tmp_path / "b/history.csv"))
    norms = pd.read_parquet(tmp_path / "a/norms.parquet")
    pd.testing.assert_frame_equal(norms, pd.read_parquet(tmp_path / "b/norms.parquet"))
    assert len(norms) == a["epochs_run"] * -(-a["n_train_patches"] // 8)
    assert {"grad_total", "update_total", "grad/head", "update/head"} <= set(norms.columns)
    saved = json.loads((tmp_path / "a/metrics.json").read_text())
    assert saved["seed"] == 0 and saved["params"] == json.loads(section_json(cfg))
    best = torch.load(tmp_path / "a/checkpoint_selected.pt", weights_only=False)
    assert best["epoch"] == a["selected_epoch"] and best["selection"] == "last" and "model" in best
    assert a["n_test_images"] == len(json.loads(tiny_data["split"].read_text())["test"]) > 0


def test_different_seed_gives_different_numbers(tiny_data, tmp_path):
    a = _train(tiny_cfg(), tiny_data, tmp_path / "a")
    b = _train(tiny_cfg(seed=1), tiny_data, tmp_path / "b")
    assert a["per_image_dice"] != b["per_image_dice"]


def test_divergence_is_recorded_not_raised(tiny_data, tmp_path):
    cfg = tiny_cfg(loss={"name": "ce"}, optimizer={"name": "sgd", "lr": 1e12, "momentum": 0.9}, model={"norm": "none"})
    m = _train(cfg, tiny_data, tmp_path / "d")
    assert m["status"] == "diverged" and m["dice"] is None and m["diverged_at"]["epoch"] >= 0
    assert all((tmp_path / "d" / f).exists() for f in OUTPUTS)


def test_killed_and_resumed_ends_with_the_same_metrics(tiny_data, tmp_path):
    cfg = tiny_cfg(epochs=6, model={"dropout": 0.1}, snapshot_every=1)
    _train(cfg, tiny_data, tmp_path / "ref")
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "segsweep",
        "train",
        "--cell",
        "c",
        "--ndim",
        "2",
        "--cfg",
        section_json(cfg),
        "--patches",
        str(tiny_data["patches"]),
        "--split",
        str(tiny_data["split"]),
        "--prepared",
        str(tiny_data["prepared"]),
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / RESUME).exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "metrics.json").exists(), "training finished before it could be killed"
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    resumed_from = int(re.search(r"resumed from epoch (\d+)", res.stdout + res.stderr).group(1))
    assert resumed_from >= 1
    assert (out / "metrics.json").read_bytes() == (tmp_path / "ref/metrics.json").read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "norms.parquet"), pd.read_parquet(tmp_path / "ref/norms.parquet")
    )
    snaps = sorted(p.name for p in (out / "snapshots").iterdir())
    assert snaps == [f"epoch_{k:03d}.pt" for k in range(7)]  # those from before the kill are kept
    for name in snaps:
        a, b = (torch.load(d / "snapshots" / name)["model"] for d in (out, tmp_path / "ref"))
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_changed_settings_do_not_resume(tiny_data, tmp_path):
    out = tmp_path / "c"
    _train(tiny_cfg(epochs=1), tiny_data, out)
    # A stale resume file from other settings is ignored.
    ckpt = {"fingerprint": "something else"}
    (out / RESUME).parent.mkdir(exist_ok=True)
    torch.save(ckpt, out / RESUME)
    m = _train(tiny_cfg(epochs=2), tiny_data, out)
    assert m["resumed_from_epoch"] == 0 and m["epochs_run"] == 2  # the returned run facts


def _interrupted(cfg, tiny_data, out: Path, monkeypatch, patches: Path | None = None) -> None:
    """Train until epoch 1 is saved, then stop as a Ctrl-C or a time limit would."""
    from segsweep.train import loop

    real = loop.train_epoch

    def stop_at_one(run, state, epoch, snapshots):
        if epoch == 1:
            raise KeyboardInterrupt
        return real(run, state, epoch, snapshots)

    monkeypatch.setattr(loop, "train_epoch", stop_at_one)
    with pytest.raises(KeyboardInterrupt):
        train_cell(cfg, "c", patches or tiny_data["patches"], tiny_data["split"], tiny_data["prepared"], out, ndim=2)
    monkeypatch.setattr(loop, "train_epoch", real)
    assert (out / RESUME).exists()


def test_a_resume_file_from_other_inputs_is_not_used(tiny_data, tmp_path, monkeypatch, caplog):
    """Issue 26: a cell interrupted, then its patches changed (a preprocess setting),
    must not resume onto the new data; with the same inputs it resumes."""
    import shutil

    import numpy as np

    cfg = tiny_cfg(epochs=3)
    same = tmp_path / "same"
    _interrupted(cfg, tiny_data, same, monkeypatch)
    assert _train(cfg, tiny_data, same)["resumed_from_epoch"] == 1

    changed = tmp_path / "changed"
    _interrupted(cfg, tiny_data, changed, monkeypatch)
    patches = tmp_path / "patches"
    shutil.copytree(tiny_data["patches"], patches)
    images = np.load(patches / "images.npy")
    images[0] = 1 - images[0]
    np.save(patches / "images.npy", images)
    caplog.set_level("INFO", logger="segsweep")
    m = train_cell(cfg, "c", patches, tiny_data["split"], tiny_data["prepared"], changed, ndim=2)
    assert m["resumed_from_epoch"] == 0 and m["epochs_run"] == 3
    assert "not resuming (inputs changed: patches)" in caplog.text


def test_an_unreadable_resume_file_is_named_and_training_starts_over(tiny_data, tmp_path, caplog):
    out = tmp_path / "c"
    (out / RESUME).parent.mkdir(parents=True)
    (out / RESUME).write_bytes(b"PK\x03\x04 cut short")
    caplog.set_level("INFO", logger="segsweep")
    m = _train(tiny_cfg(epochs=1), tiny_data, out)
    assert m["resumed_from_epoch"] == 0 and m["status"] in ("ok", "collapsed")
    assert f"{out / RESUME}: unreadable resume file" in caplog.text and "training starts over" in caplog.text


@pytest.mark.parametrize("loss", ["dice_inverse_mix", "focal"])
def test_other_losses_and_l1l2_train(tiny_data, tmp_path, loss):
    m = _train(
        tiny_cfg(epochs=1, loss={"name": loss}, regularization={"l1": 1e-4, "l2": 1e-4}), tiny_data, tmp_path / loss
    )
    assert m["status"] == "ok"


def test_training_shows_its_epochs_on_a_terminal(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    train_cell(tiny_cfg(), "cellA", tiny_data["patches"], tiny_data["split"], tiny_data["prepared"], tmp_path, ndim=2)
    assert "train cellA" in sys.stderr.getvalue() and "epoch" in sys.stderr.getvalue()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:  # standard error as an interactive terminal (segsweep.progress)
        return True


def test_every_checkpoint_a_job_writes_loads_with_the_restricted_unpickler(tiny_data, tmp_path):
    from segsweep import checkpoint
    from segsweep.train.loop import RESUME

    cfg = tiny_cfg(snapshot_every=1)
    _train(cfg, tiny_data, tmp_path / "a")
    for name in (checkpoint.SELECTED, checkpoint.LAST):
        assert "model" in checkpoint.load(tmp_path / "a" / name)
    assert len(checkpoint.list_snapshots(tmp_path / "a" / checkpoint.SNAPSHOTS)) == cfg.epochs + 1
    assert not (tmp_path / "a" / RESUME).exists()  # (read back in the killed-and-resumed test)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_cell_finished_inside_a_failed_group_is_restored_not_retrained(tiny_data, tmp_path, caplog):
    """Issue 26: a later cell of a SLURM group ran out of time; Snakemake deleted the
    finished cell's outputs with the group's, and the retry trained it from scratch."""
    import shutil

    cfg = tiny_cfg(epochs=2, snapshot_every=1)
    out = tmp_path / "c"
    _train(cfg, tiny_data, out)
    outputs = {k: v for k, v in _tree(out).items() if not k.startswith(".work")}
    for name in OUTPUTS:  # what Snakemake does to every job of a failed group
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    caplog.set_level("INFO", logger="segsweep")
    m = _train(cfg, tiny_data, out)
    assert m["restored"] and "restored the outputs" in caplog.text
    assert {k: v for k, v in _tree(out).items() if not k.startswith(".work")} == outputs
    # damaged kept bytes, or other settings: trained again
    for name in OUTPUTS:
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    (out / ".work/done/checkpoint_last.pt").write_bytes(b"cut")
    caplog.clear()
    m = _train(cfg, tiny_data, out)
    assert "restored" not in m and "finished outputs not reused (outputs damaged)" in caplog.text
    assert {k: v for k, v in _tree(out).items() if not k.startswith(".work")} == outputs  # deterministic
    caplog.clear()
    m = _train(tiny_cfg(epochs=3, snapshot_every=1), tiny_data, out)
    assert "restored" not in m and m["epochs_run"] == 3 and "not reused (params changed: train)" in caplog.text
    # without snapshots their folder is an empty output: restored too (found on SLURM)
    empty = tmp_path / "empty"
    _train(tiny_cfg(epochs=1), tiny_data, empty)
    shutil.rmtree(empty / "snapshots")
    (empty / "metrics.json").unlink()
    assert _train(tiny_cfg(epochs=1), tiny_data, empty)["restored"] and (empty / "snapshots").is_dir()
