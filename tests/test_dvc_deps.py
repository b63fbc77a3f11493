"""dvc.yaml's code deps are complete: every module a stage's jobs can import is a dep of
that stage, so a changed module makes ``dvc status`` report every stage that runs it.

The import graph is read from the source (``ast``), not by importing: module-level
imports and the imports inside functions (the CLI imports lazily), followed
transitively from the CLI handlers of the verbs each stage's rules call.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from tests.conftest import REPO

SRC = REPO / "src"
CLI = ("segsweep.cli", "segsweep.cli_analysis")
# the CLI verbs the rules of each DVC stage call (checked against workflow/rules below)
STAGE_VERBS = {"data": {"synth", "ingest", "collect"}, "preprocess": {"prepare", "augment", "patches"},
               "splits": {"split"}, "train": {"train", "summarize"}, "probe": {"probe"},
               "landscape": {"landscape"}, "report": {"report", "reference", "examples"}}


def module_path(name: str) -> Path | None:
    base = SRC / Path(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def _imports(nodes, package: str) -> set[str]:
    """``segsweep`` modules imported anywhere under ``nodes`` (``from a import b`` counts
    ``a.b`` when that is a module)."""
    found = set()
    for node in nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.Import):
                found |= {a.name for a in n.names if a.name.startswith("segsweep")}
            elif isinstance(n, ast.ImportFrom):
                base = n.module or ""
                if n.level:  # relative: from the importing package
                    parts = package.split(".")[: len(package.split(".")) - n.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                if base.startswith("segsweep"):
                    found.add(base)
                    found |= {f"{base}.{a.name}" for a in n.names if module_path(f"{base}.{a.name}")}
    return {m for m in found if module_path(m)}


def _parents(name: str) -> set[str]:
    """Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` too."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def closure(roots: set[str], cli: set[str]) -> set[str]:
    """``roots`` and all they import; the CLI modules count as themselves only (their
    handlers' imports are added by ``stage_modules``, one verb at a time)."""
    seen, todo = set(), set(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_path(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set() if name in CLI else _imports([ast.parse(path.read_text())], package)
        todo |= (found | _parents(name)) - seen
    return seen | (cli & seen)


def handlers() -> dict[str, ast.FunctionDef]:
    """CLI verb -> its handler function's AST."""
    funcs = {}
    for mod in CLI:
        tree = ast.parse(module_path(mod).read_text())
        funcs |= {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    text = module_path("segsweep.cli").read_text()
    # verb("train", cmd_train, ...) and the ("prepare", cmd_prepare, ...) table
    pairs = re.findall(r'(?:verb\(|\()"([a-z_]+)", (cmd_[a-z_]+)', text)
    return {verb: funcs[func] for verb, func in pairs}


def stage_modules(verbs: set[str]) -> set[str]:
    """Everything a job running one of ``verbs`` can import: the CLI's module-level
    imports and the handlers' own, transitively."""
    top = set()
    for mod in CLI:
        tree = ast.parse(module_path(mod).read_text())
        top |= _imports([n for n in tree.body if not isinstance(n, ast.FunctionDef)], "segsweep")
    found = handlers()
    own = set().union(*(_imports([found[v]], "segsweep") for v in verbs))
    return closure(set(CLI) | top | own, set(CLI))


def covered(path: Path, deps: list[str]) -> bool:
    rel = path.relative_to(REPO)
    return any(rel == Path(d) or Path(d) in rel.parents for d in deps)


def test_stage_verbs_match_the_rules():
    used = set()
    for smk in (REPO / "workflow/rules").glob("*.smk"):
        used |= set(re.findall(r"\{SEGSWEEP\} --log \{log\} ([a-z_]+)", smk.read_text()))
    assert used == set().union(*STAGE_VERBS.values())


def test_every_module_a_stage_imports_is_a_dep_of_that_stage():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert set(stages) == set(STAGE_VERBS)
    missing = {}
    for stage, verbs in STAGE_VERBS.items():
        deps = [next(iter(d)) if isinstance(d, dict) else d for d in stages[stage].get("deps", [])]
        lost = sorted(str(module_path(m).relative_to(REPO)) for m in stage_modules(verbs)
                      if not covered(module_path(m), deps))
        lost += [f for f in ("Snakefile", "workflow/rules/common.smk") if f not in deps]  # the DAG's own code
        if lost:
            missing[stage] = lost
    assert missing == {}


def test_the_import_graph_sees_lazy_imports():
    """The check can fail: the report handler imports the report package inside the
    function, and the training handler reaches the losses through the train loop."""
    assert "segsweep.report.build" in stage_modules({"report"})
    train = stage_modules({"train"})
    assert {"segsweep.train.loop", "segsweep.losses", "segsweep.config"} <= train
    assert "segsweep.report.build" not in train
