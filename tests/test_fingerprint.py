"""Fingerprints: content digests (cached), keys, reasons, and file times put in
dependency order."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from segsweep import fingerprint as fp


def test_file_and_folder_digests_are_content_md5s_and_ignore_snakemakes_marker(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"abc" * 1000)
    d = fp.Digests(cache=None)
    assert d.path(f) == hashlib.md5(b"abc" * 1000).hexdigest()
    folder = tmp_path / "out"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub/x.txt").write_text("x")
    before = d.path(folder)
    (folder / ".snakemake_timestamp").touch()
    assert d.path(folder) == before
    (folder / "sub/x.txt").write_text("y")
    assert d.path(folder) != before


def test_the_cache_is_reused_and_invalidated_by_a_new_mtime(tmp_path, monkeypatch):
    cache = tmp_path / "c/digests.jsonl"
    f = tmp_path / "a.txt"
    f.write_text("one")
    first = fp.Digests(cache).file(f)
    calls = []
    real = hashlib.file_digest
    monkeypatch.setattr(hashlib, "file_digest", lambda *a: calls.append(a) or real(*a))
    again = fp.Digests(cache)  # a new process: reads the cache file
    assert again.file(f) == first and calls == []
    f.write_text("two")  # same size, new content and time
    os.utime(f, ns=(1, 1))
    assert again.file(f) == hashlib.md5(b"two").hexdigest() and len(calls) == 1
    with open(cache, "a") as fh:
        fh.write('["cut by a kill')  # a torn last line is skipped
    assert fp.Digests(cache).file(f) == hashlib.md5(b"two").hexdigest()


def test_the_key_covers_params_code_and_inputs():
    base = fp.make("train", {"cell": "a"}, {"cfg": {"epochs": 2}}, "c0", {"x": "1"}, ["o"], {"o": "d"})
    assert base == fp.make("train", {"cell": "a"}, {"cfg": {"epochs": 2}}, "c0", {"x": "1"}, ["o"], {"o": "d"})
    others = [
        fp.make("train", {"cell": "a"}, {"cfg": {"epochs": 3}}, "c0", {"x": "1"}, ["o"], {"o": "d"}),
        fp.make("train", {"cell": "a"}, {"cfg": {"epochs": 2}}, "c1", {"x": "1"}, ["o"], {"o": "d"}),
        fp.make("train", {"cell": "a"}, {"cfg": {"epochs": 2}}, "c0", {"x": "2"}, ["o"], {"o": "d"}),
        fp.make("train", {"cell": "b"}, {"cfg": {"epochs": 2}}, "c0", {"x": "1"}, ["o"], {"o": "d"}),
        fp.make("train", {"cell": "a"}, {"cfg": {"epochs": 2}}, "c0", {"x": "1"}, ["o"], {"o": "truncated"}),
    ]
    assert len({base["key"], *(o["key"] for o in others)}) == 6
    assert fp.differences(base, others[0]) == "params changed: cfg"
    assert fp.differences(base, others[1]) == "code changed"
    assert fp.differences(base, others[2]) == "inputs changed: x"
    assert fp.differences(base, others[4]) == "outputs changed since the job wrote them: o"
    assert fp.differences(None, base) == "no fingerprint"


def test_write_then_read_round_trips_and_a_missing_or_torn_file_reads_as_none(tmp_path):
    rec = fp.make("r", {}, {}, "c", {}, [], {})
    fp.write(tmp_path / "f.json", rec)
    assert fp.read(tmp_path / "f.json") == rec
    assert fp.read(tmp_path / "none.json") is None
    (tmp_path / "torn.json").write_text('{"key": ')
    assert fp.read(tmp_path / "torn.json") is None


def test_the_cache_file_is_compacted_when_mostly_superseded(tmp_path):
    cache = tmp_path / "digests.jsonl"
    f = tmp_path / "a.txt"
    f.write_text("x")
    d = fp.Digests(cache)
    for t in range(1, 1100):  # the same file at 1,099 times: one live entry
        os.utime(f, ns=(t, t))
        d.file(f)
    assert len(cache.read_text().splitlines()) == 1099
    assert fp.Digests(cache).file(f) == hashlib.md5(b"x").hexdigest()
    assert len(cache.read_text().splitlines()) == 1


def _pending(tmp_path, inputs):
    return {
        "rule": "summary",
        "wildcards": {},
        "params": {"cfg": {"k": 1}},
        "code": "c0",
        "inputs": [str(p) for p in inputs],
        "outputs": [str(tmp_path / "out.csv"), str(tmp_path / "fp.json")],
        "path": str(tmp_path / "fp.json"),
    }


def test_finish_pending_writes_what_the_workflow_would_expect_and_leaves_the_markers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the digest cache lives in .segsweep/ of the working dir
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text("1")
    b.write_text("2")
    record = _pending(tmp_path, [a, b])
    (tmp_path / "stale/summary").mkdir(parents=True)
    (tmp_path / "stale/summary/abc-1234").touch()
    (tmp_path / "stale/summary/other-1234").touch()
    fp.write(tmp_path / "pending.json", record)
    written = fp.finish_pending(tmp_path / "pending.json", fp.read_pending(tmp_path / "pending.json"))
    # the same fingerprint the workflow computes from the current inputs (fingerprint.smk)
    expected = fp.make(
        "summary",
        {},
        {"cfg": {"k": 1}},
        "c0",
        {str(a): hashlib.md5(b"1").hexdigest(), str(b): hashlib.md5(b"2").hexdigest()},
        record["outputs"],
        {str(tmp_path / "out.csv"): "missing"},
    )
    assert written.pop("libraries") == fp.library_versions()  # beside the key, not in it
    assert written == expected
    assert fp.read(tmp_path / "fp.json") == dict(expected, libraries=fp.library_versions())
    assert not (tmp_path / "pending.json").exists()
    # a job never removes stale markers: a group resubmitted on a cluster names them again
    assert sorted(p.name for p in (tmp_path / "stale/summary").iterdir()) == ["abc-1234", "other-1234"]


def test_the_cli_writes_the_fingerprint_only_after_the_verb_succeeded(tmp_path, monkeypatch, capsys):
    from segsweep.cli import main

    params = Path(__file__).resolve().parents[1] / "params.yaml"
    monkeypatch.chdir(tmp_path)
    fp.write(tmp_path / "pending.json", _pending(tmp_path, [params]))
    assert main(["--fingerprint", "pending.json", "grid", "--params", "none.yaml"]) != 0
    assert not (tmp_path / "fp.json").exists() and (tmp_path / "pending.json").exists()
    assert main(["--fingerprint", "pending.json", "grid", "--params", str(params)]) == 0
    assert fp.read(tmp_path / "fp.json")["inputs"] == {str(params): hashlib.md5(params.read_bytes()).hexdigest()}
    assert not (tmp_path / "pending.json").exists()
    capsys.readouterr()
    assert main(["--fingerprint", "pending.json", "grid", "--params", str(params)]) != 0
    assert "no pending fingerprint record" in capsys.readouterr().err


def test_a_missing_pending_record_stops_the_job_before_its_verb_runs(tmp_path, monkeypatch, capsys):
    """Issue 26: `rm -rf .segsweep` during training let the cell train to the end, then
    fail on the missing record, and Snakemake threw the finished outputs away."""
    from segsweep import cli

    ran = []
    monkeypatch.chdir(tmp_path)
    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _spy(parser(), ran))
    assert cli.main(["--fingerprint", "gone.json", "grid", "--params", "params.yaml"]) == 2
    assert ran == []
    assert "gone.json: no pending fingerprint record" in capsys.readouterr().err


def _spy(parser, ran):
    """``parser`` whose verbs record that they ran instead of running."""
    real = parser.parse_args

    def parse_args(argv=None):
        args = real(argv)
        args.func = lambda a: ran.append(a.verb)
        return args

    parser.parse_args = parse_args
    return parser


def test_library_versions_are_recorded_and_a_change_is_named():
    now = fp.library_versions()
    assert now["torch"] and now["numpy"] and now["monai"]
    assert fp.library_changes({"libraries": dict(now)}, now) is None
    old = dict(now, torch="2.12.0")
    assert fp.library_changes({"libraries": old}, now) == f"torch 2.12.0 -> {now['torch']}"
    assert fp.library_changes({}, now) == "library versions not recorded"
