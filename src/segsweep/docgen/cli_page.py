"""``docs/cli.md``: every ``segsweep`` verb with its arguments, read from the parser
``segsweep.cli.build_parser`` builds (the text is built here rather than taken from
``--help``, whose layout depends on the terminal width and the Python version)."""

from __future__ import annotations

import argparse

from segsweep.cli import STAGES, build_parser

INTRO = """\
# Command-line reference

<!-- Generated from the parser in src/segsweep/cli/ by `python -m segsweep.docgen`.
Do not edit: change a verb's help and rerun; tests/test_docs.py fails when this page is
stale. -->

Every workflow rule calls one verb of `segsweep` (also `python -m segsweep`); you can
call them by hand too. A verb reads its settings from `--params` (the whole
params.yaml, validated) or, when Snakemake calls it, from `--cfg` (the rule's
`params:` section as JSON, validated by the same model). A user error prints one line
(`error: ...`) and exits 2. `segsweep VERB --help` prints the same as below.
"""


def cli_page() -> str:
    parser = build_parser()
    verbs = _subparsers(parser)
    out = [INTRO, f"{parser.description}\n", "```text", "segsweep [global options] VERB [options]", "```\n"]
    out += ["## Global options\n", *_table(parser), ""]
    out += ["## Verbs\n", "| verb | stage | what it does |", "|---|---|---|"]
    for stage in STAGES:
        for name, sub in verbs.items():
            if _stage(sub) == stage:
                out.append(f"| [`{name}`](#segsweep-{name}) | {stage} | {_cell(sub.description)} |")
    out.append("")
    for stage in STAGES:
        for name, sub in verbs.items():
            if _stage(sub) == stage:
                out += [f"## segsweep {name}\n", f"{sub.description}\n", "```text", _usage(name, sub), "```\n"]
                out += [*_table(sub), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _stage(sub: argparse.ArgumentParser) -> str:
    """The stage whose CLI module registers the verb (``segsweep.cli.<stage>``)."""
    return sub.get_default("func").__module__.rsplit(".", 1)[-1]


def _arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    skip = (argparse._HelpAction, argparse._SubParsersAction)
    return [a for a in parser._actions if not isinstance(a, skip)]


def _usage(name: str, sub: argparse.ArgumentParser) -> str:
    parts = [f"segsweep {name}"]
    for a in _arguments(sub):
        text = _syntax(a)
        parts.append(text if a.required or not a.option_strings else f"[{text}]")
    return " ".join(parts)


def _syntax(a: argparse.Action) -> str:
    if a.choices and not a.option_strings:
        metavar = "{" + ",".join(map(str, a.choices)) + "}"
    else:
        metavar = a.metavar or (a.dest.upper() if a.option_strings else a.dest)
    if a.nargs == 0:
        value = ""
    elif a.nargs == "*":
        value = f"[{metavar} ...]"
    elif a.nargs == "+":
        value = f"{metavar} [{metavar} ...]"
    elif a.choices and a.option_strings:
        value = "{" + ",".join(map(str, a.choices)) + "}"
    else:
        value = metavar
    flag = ", ".join(a.option_strings)
    return f"{flag} {value}".strip() if flag else value


def _table(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | default | description |", "|---|---|---|"]
    for a in _arguments(parser):
        rows.append(f"| `{_syntax(a)}` | {_default(a)} | {_cell(a.help or '')} |")
    return rows


def _default(a: argparse.Action) -> str:
    if a.required:
        return "required"
    if a.nargs == 0 or a.default in (None, [], argparse.SUPPRESS):
        return ""
    return f"`{a.default}`"


def _cell(text: str | None) -> str:
    """Text for a table cell: argparse's ``%%`` unescaped, ``|`` and ``<`` escaped."""
    return (text or "").replace("%%", "%").replace("|", "\\|").replace("<", "&lt;")
