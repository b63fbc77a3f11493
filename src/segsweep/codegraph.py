"""Which ``segsweep`` modules a CLI verb can run, and a digest of their source.

The import graph is read from the source (``ast``), not by importing: module-level
imports and the imports inside functions (the CLI imports lazily), followed
transitively from the handler of each verb. A job's fingerprint holds the digest of
its verb's modules (their syntax trees: a comment or docstring changes nothing), so a
changed module reruns exactly the jobs that can import it;
dvc.yaml's code deps are checked against the same graph (tests/test_dvc_deps.py).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
CLI = "segsweep.cli"  # the package: __init__ (main, parser), common, one module per stage
SHARED = (CLI, f"{CLI}.common")  # what every verb runs besides its own stage's module


def cli_modules() -> list[str]:
    """``segsweep.cli`` and its modules."""
    folder = SRC / "segsweep" / "cli"
    return [CLI] + [f"{CLI}.{p.stem}" for p in sorted(folder.glob("*.py")) if p.stem != "__init__"]


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
    """``roots`` and all they import. A CLI stage module counts with its module-level
    imports only (its handlers' imports are added by ``verb_modules``, one verb at a
    time), and so does ``segsweep.cli`` (``main``'s own imports are bookkeeping: the log,
    the fingerprint); ``segsweep.cli.common`` is followed whole (every handler calls it).
    ``eager`` follows only the imports that run on import, not those inside functions."""
    cli = set(cli_modules()) - {f"{CLI}.common"}
    seen, todo = set(), set(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_path(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = _tree(name)
        found = _imports(module_level(tree) if eager or name in cli else [tree], package)
        todo |= (found | _parents(name)) - seen
    return seen


def handlers() -> dict[str, tuple[str, ast.FunctionDef]]:
    """CLI verb -> (its stage module, its handler function's AST)."""
    out = {}
    for mod in cli_modules():
        funcs = {f.name: f for f in _tree(mod).body if isinstance(f, ast.FunctionDef)}
        # verb("train", cmd_train, ...) and tables of ("prepare", cmd_prepare, ...)
        for verb, func in re.findall(r'(?:verb\(|\()\s*"([a-z_]+)",\s*(cmd_[a-z_]+)', module_path(mod).read_text()):
            out[verb] = (mod, funcs[func])
    return out


def _called(module: str, handler: ast.FunctionDef) -> list[ast.FunctionDef]:
    """``handler`` and the functions of its module it names, transitively (a handler
    may dispatch to helpers that import lazily)."""
    local = {f.name: f for f in _tree(module).body if isinstance(f, ast.FunctionDef)}
    out, todo = {}, [handler]
    while todo:
        f = todo.pop()
        if f.name in out:
            continue
        out[f.name] = f
        names = {n.id for n in ast.walk(f) if isinstance(n, ast.Name)}  # called or passed on
        todo += [local[n] for n in names if n in local]
    return list(out.values())


def verb_modules(verbs: set[str] | frozenset[str], eager: bool = False) -> set[str]:
    """Every module a job running one of ``verbs`` can import: the shared CLI modules,
    the verbs' stage modules and what their handlers import, transitively (``eager``:
    only what surely loads, leaving out imports inside functions other than the
    handlers). Other stages' CLI modules are left out: the parser loads them, but they
    cannot change this verb's outputs."""
    found = handlers()
    unknown = set(verbs) - set(found)
    if unknown:
        raise ValueError(f"not a segsweep verb: {', '.join(sorted(unknown))}; verbs: {', '.join(sorted(found))}")
    own = set().union(*(_imports(_called(*found[v]), "segsweep") for v in verbs))
    return closure(set(SHARED) | {found[v][0] for v in verbs} | own, eager)


@functools.cache
def behaviour(source: str) -> str:
    """A module's syntax tree without docstrings, as text: what ``source`` does, not how
    it is written (comments, docstrings, formatting and blank lines left out), so a
    comment never reruns the jobs that import the module."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def code_digest(verbs: frozenset[str]) -> str:
    """sha256 over the path and behaviour (``behaviour``) of every module ``verbs`` can
    import (sorted)."""
    h = hashlib.sha256()
    for name in sorted(verb_modules(verbs)):
        path = module_path(name)
        h.update(str(path.relative_to(SRC)).encode() + b"\0" + behaviour(path.read_text()).encode() + b"\0")
    return h.hexdigest()
