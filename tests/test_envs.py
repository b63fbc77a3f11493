"""The conda env files (`snakemake --use-conda`) cover what each rule's jobs import, and
ask for at least the versions pyproject does. Conda cannot run here: the files are
checked against the import graph instead."""

from __future__ import annotations

import ast
import re
import sys
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from segsweep.codegraph import _called, handlers, module_level, module_path, verb_modules
from tests.conftest import REPO

# import name -> distribution name, where they differ
DIST = {"yaml": "pyyaml", "PIL": "pillow", "cv2": "opencv-python-headless", "sklearn": "scikit-learn"}


def rule_envs() -> dict[str, tuple[str, set[str]]]:
    """rule -> (env file, the CLI verbs its shell command calls)."""
    out = {}
    for smk in (REPO / "workflow/rules").glob("*.smk"):
        for block in re.split(r"\n(?=rule \w+:)", smk.read_text()):
            name = re.match(r"rule (\w+):", block)
            env = re.search(r'conda:\s*"\.\./envs/([\w.]+)"', block)
            if name and env:
                out[name.group(1)] = (
                    env.group(1),
                    set(re.findall(r"--fingerprint \{params\.fingerprint\} ([a-z_]+)", block)),
                )
    return out


def _top_names(nodes) -> set[str]:
    names = set()
    for node in nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.Import):
                names |= {a.name.split(".")[0] for a in n.names}
            elif isinstance(n, ast.ImportFrom) and not n.level and n.module:
                names.add(n.module.split(".")[0])
    return names


def third_party(verbs: set[str]) -> set[str]:
    """Distributions a job running ``verbs`` surely loads: the module-level imports of
    every module it loads on the way (``eager``) and the imports inside the verbs'
    handlers."""
    names = set()
    for mod in verb_modules(verbs, eager=True):
        names |= _top_names(module_level(ast.parse(module_path(mod).read_text())))
    found = handlers()
    names |= _top_names(f for v in verbs for f in _called(*found[v]))
    names -= set(sys.stdlib_module_names) | {"segsweep", "__future__"}
    return {DIST.get(n, n) for n in names}


def env_requirements(env: str) -> dict[str, Requirement]:
    deps = yaml.safe_load((REPO / "workflow/envs" / env).read_text())["dependencies"]
    flat = [d for d in deps if isinstance(d, str)] + [p for d in deps if isinstance(d, dict) for p in d.get("pip", [])]
    reqs = [Requirement(re.sub(r"^([\w.-]+)=(?!=)", r"\1==", d)) for d in flat]
    return {r.name.lower(): r for r in reqs if r.name not in ("python", "pip")}


def lower_bound(req: Requirement) -> Version | None:
    bounds = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
    return max(bounds, default=None)


def test_every_rule_with_an_env_calls_known_verbs():
    envs = rule_envs()
    assert {"train", "prepare", "report", "summary", "landscape_cell"} <= set(envs)
    assert all(verbs for _, verbs in envs.values()), envs


def test_env_files_cover_what_each_rule_imports():
    missing = {}
    for rule, (env, verbs) in rule_envs().items():
        lost = sorted(third_party(verbs) - set(env_requirements(env)))
        if lost:
            missing[f"{rule} ({env})"] = lost
    assert missing == {}


def test_env_files_ask_for_at_least_pyprojects_versions():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = {r.name.lower(): r for r in map(Requirement, deps)}
    lower = []
    for env in {e for e, _ in rule_envs().values()}:
        for name, req in env_requirements(env).items():
            need = lower_bound(wanted[name]) if name in wanted else None
            have = lower_bound(req)
            if need is not None and (have is None or have < need):
                lower.append(f"{env}: {req} (pyproject: {wanted[name]})")
    assert lower == []
