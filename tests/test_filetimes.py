"""File times as Snakemake reads them, decided without writing (issue 26, items 3-4)."""

from __future__ import annotations

import os
import time

from segsweep import filetimes


def _at(path, t):
    os.utime(path, (t, t), follow_symlinks=False)


def _stamp(tree):
    return {p: os.stat(p, follow_symlinks=False).st_mtime_ns for p in sorted(tree)}


def test_aligned_times_order_a_chain_without_touching_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    names = ("raw", "mid", "fp_mid", "out", "fp_out", "side", "fp_side")
    for name in names:
        (tmp_path / name).write_text(name)
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / ".snakemake_timestamp").touch()
    recorded = {
        "fp_out": {"inputs": {"mid": "m"}, "outputs": ["out", "dir", "fp_out"]},
        "fp_mid": {"inputs": {"raw": "r"}, "outputs": ["mid", "fp_mid"]},
        "fp_side": {"inputs": {"raw": "r"}, "outputs": ["side", "fp_side"]},
    }
    # a checkout wrote them in reverse order; "side" is already newer than "raw"
    for t, name in enumerate(["out", "fp_out", "fp_mid", "mid", "raw"], start=1):
        _at(name, t * 10)
    _at("dir/.snakemake_timestamp", 1)
    _at("side", 90)
    _at("fp_side", 90)
    before = _stamp([*names, "dir/.snakemake_timestamp"])
    times = filetimes.aligned_times(recorded)
    assert _stamp([*names, "dir/.snakemake_timestamp"]) == before  # nothing written
    assert times["raw"] == 50  # a source keeps its time
    assert times["mid"] == times["fp_mid"] == 50
    assert times["out"] == times["dir"] == times["fp_out"] == 50
    assert times["side"] == times["fp_side"] == 90  # already in order


def test_a_symlinked_input_reads_as_the_newer_of_link_and_target(tmp_path):
    target = tmp_path / "cache_file"
    target.write_text("x")
    link = tmp_path / "link"
    link.symlink_to(target)
    _at(target, 100)
    _at(link, 50)
    assert filetimes.seconds(str(link)) == 100
    assert filetimes.seconds(str(tmp_path / "missing")) is None


def test_only_future_files_are_dated_now_and_a_link_never_moves_its_target(tmp_path):
    now = time.time()
    past, future, target = (tmp_path / n for n in ("past", "future", "target"))
    for f in (past, future, target):
        f.write_text("x")
    link = tmp_path / "link"
    link.symlink_to(target)
    _at(past, now - 3600)
    _at(future, now + 3600)
    _at(target, now + 3600)
    _at(link, now + 3600)
    paths = [str(p) for p in (past, future, link, tmp_path / "gone")]
    assert filetimes.future_dated(paths, now) == sorted([str(future), str(link)])
    done, refused = filetimes.set_to_now(filetimes.future_dated(paths, now))
    assert (done, refused) == (2, [])
    assert filetimes.future_dated(paths) == []
    assert os.stat(target).st_mtime > now + 3000  # the cache file behind the link is untouched
    assert abs(os.stat(past).st_mtime - (now - 3600)) < 1


def test_a_file_that_may_not_be_dated_is_reported_not_raised(tmp_path, monkeypatch):
    f = tmp_path / "shared"
    f.write_text("x")

    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "utime", refuse)
    assert filetimes.set_to_now([str(f)]) == (0, [str(f)])
