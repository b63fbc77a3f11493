"""Code gates the test command runs (so `.ci/run` does): ruff's lint rules chosen in
pyproject.toml ([tool.ruff]) and its formatter, and `snakemake --lint` on the workflow."""

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


def test_snakemake_lint_is_clean():
    """Snakemake's own conventions: no variables from outside a rule in its command, no
    functions beside rules, a log for every job, short `run:` blocks, no '+' paths."""
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--cores", "1"], cwd=REPO, capture_output=True, text=True
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0 and "Lints for" not in out, out[-4000:]


def test_the_docs_layout_names_every_module_and_package():
    """The layout block of docs/layout.md (for contributors) must match the tree: every
    module and package under src/segsweep/ (and every module of config/ and cli/) is
    named there."""
    layout = (REPO / "docs" / "layout.md").read_text()
    start = layout.index("src/segsweep/        the package")
    block = layout[start : layout.index("benchmarks/ ", start)]
    src = REPO / "src" / "segsweep"
    names = {p.name for p in src.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    names |= {f"{p.name}/" for p in src.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    missing = sorted(n for n in names if n not in block)
    for pkg in ("config", "cli"):
        mods = {p.stem for p in (src / pkg).glob("*.py") if p.stem != "__init__"}
        missing += [f"{pkg}/{m}" for m in sorted(mods) if m not in block]
    assert missing == []
