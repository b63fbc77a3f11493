"""constraints.txt: the exact versions the README commands and CI install. Every
dependency pyproject declares is pinned there, inside pyproject's range."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin (name==version)"
            pins[_norm(name)] = Version(version)
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_declared_dependency_is_pinned_inside_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    pins = _pins()
    for text in declared:
        req = Requirement(text)
        name = _norm(req.name)
        assert name in pins, f"{req.name} is declared in pyproject.toml but not pinned in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req.name}=={pins[name]} outside {req.specifier}"


def test_the_readme_commands_and_ci_install_with_the_constraints():
    readme = (ROOT / "README.md").read_text()
    assert "pip install -e . -c constraints.txt && snakemake --cores all" in readme
    assert "pip install -e '.[test]' -c constraints.txt && pytest" in readme
    assert "pip install -e '.[test]' -c constraints.txt && pytest" in (ROOT / ".ci" / "run").read_text()


def test_torch_pin_has_no_local_label():
    """``torch==2.13.0`` is met by the CPU wheel and by a CUDA build; ``+cpu`` would
    refuse the CUDA build a GPU machine installs first."""
    assert _pins()["torch"].local is None
