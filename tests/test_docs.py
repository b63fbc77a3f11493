"""The documentation: the README is a front door into docs/; docs/params.md and
docs/cli.md are generated from their source and fail here when stale; the site builds
with `mkdocs build --strict` (broken links, missing anchors and pages left out of the
nav fail)."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
import typing

import pytest

from segsweep.config import Params
from segsweep.config.base import Section
from segsweep.config.components import FAMILIES
from segsweep.docgen import COMMAND, pages, stale
from segsweep.docgen.__main__ import main as docgen_main
from tests.conftest import REPO

DOCS = REPO / "docs"
HAS_MKDOCS = importlib.util.find_spec("mkdocs") is not None and importlib.util.find_spec("material") is not None
NO_MKDOCS = "mkdocs and mkdocs-material are not installed (pip install -e '.[docs]' -c constraints.txt)"


def test_the_generated_pages_are_current():
    for name, text in pages().items():
        committed = (DOCS / name).read_text(encoding="utf-8") if (DOCS / name).exists() else None
        assert committed == text, f"docs/{name} is stale (a model field or a verb changed): run `{COMMAND}`"


def test_a_changed_field_makes_params_md_stale(monkeypatch):
    info = Params.model_fields["splits"].annotation.model_fields["test_seed"]
    monkeypatch.setattr(info, "description", "a description nobody generated")
    assert stale(DOCS) == ["params.md"]


def test_docgen_writes_then_checks(tmp_path, capsys):
    assert docgen_main(["--docs", str(tmp_path), "--check"]) == 1
    assert COMMAND in capsys.readouterr().err  # says how to fix it
    assert docgen_main(["--docs", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli.md", "params.md"]
    assert docgen_main(["--docs", str(tmp_path), "--check"]) == 0


def _models() -> list[type[Section]]:
    """Every params model: Params and the sections below it, the dataset kinds and the
    components."""
    seen: list[type[Section]] = []

    def visit(ann: object) -> None:
        if inspect.isclass(ann) and issubclass(ann, Section):
            if ann not in seen:
                seen.append(ann)
                for info in ann.model_fields.values():
                    visit(info.annotation)
            return
        for arg in typing.get_args(ann):
            visit(arg)

    visit(Params)
    for members in FAMILIES.values():
        for model in members:
            visit(model)
    return seen


def test_every_params_field_has_a_description():
    """params.md takes each key's meaning from Field(description=...): a new field
    without one would be a blank row. (A component's ``name`` is its heading; a nested
    section is described by its class docstring.)"""
    components = {m for members in FAMILIES.values() for m in members}
    missing = [
        f"{model.__name__}.{name}"
        for model in _models()
        for name, info in model.model_fields.items()
        if not (info.description or "").strip()
        and not (name == "name" and model in components)
        and not (inspect.isclass(info.annotation) and issubclass(info.annotation, Section))
    ]
    undocumented = [m.__name__ for m in _models() if not (m.__dict__.get("__doc__") or "").strip()]
    assert missing == [] and undocumented == []


def test_the_readme_is_a_front_door():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    relative = [link for link in links if "://" not in link]
    assert any(link.startswith("docs/") for link in relative)
    missing = [link for link in relative if not (REPO / link).exists()]
    assert missing == [], f"README links to files that do not exist: {missing}"


def _mkdocs(config_dir, site) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's notice about its successor
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)]
    return subprocess.run(cmd, cwd=config_dir, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.skipif(not HAS_MKDOCS, reason=NO_MKDOCS)
def test_the_site_builds_strict(tmp_path):
    res = _mkdocs(REPO, tmp_path / "site")
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    assert (tmp_path / "site" / "params" / "index.html").exists()


@pytest.mark.skipif(not HAS_MKDOCS, reason=NO_MKDOCS)
def test_the_strict_build_fails_on_a_broken_link(tmp_path):
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(DOCS, tmp_path / "docs")
    with open(tmp_path / "docs" / "running.md", "a", encoding="utf-8") as fh:
        fh.write("\nSee [a page that is not there](no-such-page.md).\n")
    res = _mkdocs(tmp_path, tmp_path / "site")
    assert res.returncode != 0 and "no-such-page.md" in res.stdout + res.stderr
