"""Code gates the test command runs (so `.ci/run` does): ruff's lint rules chosen in
pyproject.toml ([tool.ruff]) and its formatter."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

PATHS = ["src", "tests", "benchmarks"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(command):
    res = subprocess.run([sys.executable, "-m", "ruff", *command, *PATHS], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
