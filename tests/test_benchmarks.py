"""The benchmarks are code that must keep running: each script in benchmarks/ runs with
``--smoke --json`` (tiny sizes, its real code paths) and writes finite numbers. Scripts
are found by globbing, so a new benchmark is tested without touching this file."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

import pytest

from tests.conftest import REPO

BENCHMARKS = REPO / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture
def common(monkeypatch):
    """``benchmarks/_common.py``, imported the way the scripts import it."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _common

    return _common


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _reject(constant: str):
    raise ValueError(f"{constant} in the benchmark JSON: JSON has no non-finite numbers")


@pytest.mark.e2e  # 5-15 s each, ~60 s together on 2 idle cores (longer on a loaded machine)
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_benchmark_smoke_run_writes_finite_results(script, tmp_path):
    out = tmp_path / "result.json"
    cmd = [sys.executable, str(script), "--smoke", "--json", str(out)]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    assert res.stdout.strip(), "a benchmark prints its measurements"
    record = json.loads(out.read_text(), parse_constant=_reject)
    assert {"machine", "versions", "commit", "date", "args", "results"} <= record.keys()
    assert record["args"]["smoke"] is True
    leaves = list(_leaves(record["results"]))
    numbers = [x for x in leaves if isinstance(x, (int, float)) and not isinstance(x, bool)]
    assert numbers, f"no numbers in {record['results']}"
    assert None not in leaves, f"a null (non-finite) result in {record['results']}"
    assert all(math.isfinite(x) for x in numbers)


def test_smoke_sizes_replace_defaults_but_not_explicit_options(common):
    def parser():
        ap = argparse.ArgumentParser()
        ap.add_argument("--reps", type=int, default=5)
        ap.add_argument("--steps", type=int, default=20)
        return ap

    smoke = {"reps": 1, "steps": 2}
    assert vars(common.parse_args(parser(), smoke, [])) == {"reps": 5, "steps": 20, "smoke": False, "json": None}
    args = common.parse_args(parser(), smoke, ["--smoke", "--steps", "7"])
    assert (args.reps, args.steps, args.smoke) == (1, 7, True)


def test_write_json_records_machine_versions_and_nulls_non_finite(common, tmp_path):
    args = argparse.Namespace(reps=1, smoke=True, json=str(tmp_path / "r.json"), child=None)
    common.write_json(args.json, {"ratio": 1.5, "bad": float("nan"), "nested": {"inf": [float("inf")]}}, args)
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["results"] == {"ratio": 1.5, "bad": None, "nested": {"inf": [None]}}
    assert set(record["machine"]) == {"platform", "cpu_count", "processor"}
    assert set(record["versions"]) == {"python", "torch", "numpy", "segsweep"}
    assert "child" not in record["args"] and record["args"]["reps"] == 1
    assert list(tmp_path.iterdir()) == [tmp_path / "r.json"]  # no temporary file left behind


def test_a_failing_child_shows_its_stderr(common):
    cmd = [sys.executable, "-c", "import sys; print('partial'); sys.exit('boom: the real error')"]
    with pytest.raises(SystemExit, match="boom: the real error"):
        common.run_child(cmd)
