"""Which ``segsweep`` modules a CLI verb can run, and a digest of their source.

The import graph is read from the source (``ast``), not by importing: module-level
imports and the imports inside functions (the CLI imports lazily), followed
transitively from the handler of each verb. A job's fingerprint holds the digest of
its verb's modules, so a changed module reruns exactly the jobs that can import it;
dvc.yaml's code deps are checked against the same graph (tests/test_dvc_deps.py).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
CLI = ("segsweep.cli", "segsweep.cli_analysis")


def module_path(name: str) -> Path | None:
    """The source file of module ``name`` under src/, or None (not a segsweep module)."""
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


@functools.cache
def _tree(name: str) -> ast.Module:
    return ast.parse(module_path(name).read_text())


def module_level(tree: ast.Module) -> list[ast.stmt]:
    """The statements that run on import (not function or class bodies)."""
    return [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def closure(roots: set[str], eager: bool = False) -> set[str]:
    """``roots`` and all they import; the CLI modules count as themselves only (their
    handlers' imports are added by ``verb_modules``, one verb at a time). ``eager``
    follows only the imports that run on import, not those inside functions."""
    seen, todo = set(), set(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_path(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = _tree(name)
        found = set() if name in CLI else _imports(module_level(tree) if eager else [tree], package)
        todo |= (found | _parents(name)) - seen
    return seen


def handlers() -> dict[str, ast.FunctionDef]:
    """CLI verb -> its handler function's AST."""
    funcs = {}
    for mod in CLI:
        funcs |= {f.name: f for f in _tree(mod).body if isinstance(f, ast.FunctionDef)}
    text = module_path("segsweep.cli").read_text()
    # verb("train", cmd_train, ...) and the ("prepare", cmd_prepare, ...) table
    pairs = re.findall(r'(?:verb\(|\()\s*"([a-z_]+)",\s*(cmd_[a-z_]+)', text)
    return {verb: funcs[func] for verb, func in pairs}


def verb_modules(verbs: set[str] | frozenset[str], eager: bool = False) -> set[str]:
    """Every module a job running one of ``verbs`` can import: the CLI's module-level
    imports and the handlers' own, transitively (``eager``: only what surely loads,
    leaving out imports inside functions other than the handlers)."""
    top = set()
    for mod in CLI:
        top |= _imports(module_level(_tree(mod)), "segsweep")
    found = handlers()
    unknown = set(verbs) - set(found)
    if unknown:
        raise ValueError(f"not a segsweep verb: {', '.join(sorted(unknown))}; verbs: {', '.join(sorted(found))}")
    own = set().union(*(_imports([found[v]], "segsweep") for v in verbs))
    return closure(set(CLI) | top | own, eager)


@functools.cache
def code_digest(verbs: frozenset[str]) -> str:
    """sha256 over the path and bytes of every module ``verbs`` can import (sorted)."""
    h = hashlib.sha256()
    for name in sorted(verb_modules(verbs)):
        path = module_path(name)
        h.update(str(path.relative_to(SRC)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()
