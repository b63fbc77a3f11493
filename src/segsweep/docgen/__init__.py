"""Reference pages generated from their source, so the two cannot drift: ``docs/params.md``
from the params models (``segsweep.config``: every key, type, default, bound and
``Field(description=...)``), ``docs/cli.md`` from the command-line parser
(``segsweep.cli``).

``python -m segsweep.docgen`` rewrites the pages that changed; ``python -m
segsweep.docgen --check`` names the stale ones and exits 1 (``tests/test_docs.py`` runs
the same comparison).
"""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[3] / "docs"
COMMAND = "python -m segsweep.docgen"


def pages() -> dict[str, str]:
    """The generated pages by file name under ``docs/``, as text."""
    from segsweep.docgen.cli_page import cli_page
    from segsweep.docgen.params_page import params_page

    return {"params.md": params_page(), "cli.md": cli_page()}


def stale(docs: Path = DOCS) -> list[str]:
    """The generated pages whose file in ``docs`` is missing or differs."""
    return sorted(name for name, text in pages().items() if _read(docs / name) != text)


def write(docs: Path = DOCS) -> list[str]:
    """Write the pages that differ into ``docs`` (atomically); return their names."""
    from segsweep.io import atomic_path

    changed = []
    for name, text in pages().items():
        if _read(docs / name) != text:
            with atomic_path(docs / name) as tmp:
                tmp.write_text(text, encoding="utf-8")
            changed.append(name)
    return changed


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None
