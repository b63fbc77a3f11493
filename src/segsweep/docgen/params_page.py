"""``docs/params.md``: every key of params.yaml with its type, default, bounds and
description, walked from the models in ``segsweep.config`` (a section per model, the
datasets per kind, the losses, optimizers and schedulers per component)."""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from segsweep.config import Params
from segsweep.config.base import Section
from segsweep.config.components import DEFAULT, FAMILIES

TITLES = {"loss": "Losses", "optimizer": "Optimizers", "scheduler": "Schedulers"}
HEADER = "| key | type | default | bounds | description |\n|---|---|---|---|---|"
COMPONENTS = {m: family for family, members in FAMILIES.items() for m in members}

INTRO = """\
# params.yaml reference

<!-- Generated from the models in src/segsweep/config/ by `python -m segsweep.docgen`.
Do not edit: change a model's Field(description=...) and rerun; tests/test_docs.py fails
when this page is stale. -->

Every key `params.yaml` takes, section by section, as the typed models in
`src/segsweep/config/` define it: its type, default, bounds and meaning. A key that is
not listed is an error naming the keys that are allowed, and so is `true`/`false` where
a number or text is expected; `segsweep validate` checks a file. Bounds: `[a, b]`
includes its ends, `(a, b)` excludes them. Sizes are (H, W) in 2D and (D, H, W) in 3D.
The guide to the sections is [Designing a study](studies.md).
"""


def params_page() -> str:
    out = [INTRO]
    for name, info in Params.model_fields.items():
        if _is_section(info.annotation):
            _section(info.annotation, name, None, 2, out)
            continue
        out += [f"## {name}\n", HEADER, _row(name, info, info.default), ""]
        for kind in _kinds(typing.get_args(info.annotation)[1]):  # datasets: one table per kind
            tag = typing.get_args(kind.model_fields["kind"].annotation)[0]
            _section(kind, f"Datasets of kind {tag}", None, 3, out, prefix=f"{name}.<name>")
    for family, members in FAMILIES.items():
        out.append(f"## {TITLES[family]}\n")
        example = next(m for m in members if len(m.model_fields) > 1)
        setting, info = next((k, v) for k, v in example.model_fields.items() if k != "name")
        where = f"`train.{family}`{', ' if family == 'loss' else ' or '}in a grid's `{family}` axis"
        where += " or in `probe.losses`" if family == "loss" else ""
        out.append(
            f"{'An' if family[0] in 'aeiou' else 'A'} {family} is a name (`{family}: {DEFAULT[family]}`) or a "
            f"mapping of one component's settings (`{{name: {name_of(example)}, {setting}: {_value(info.default)}}}`)"
            f"; a mapping without `name` is the default, `{DEFAULT[family]}`. It goes in {where}.\n"
        )
        for model in members:
            _section(model, f"{family}: {name_of(model)}", None, 3, out, prefix=family)
    return "\n".join(out).rstrip("\n") + "\n"


def name_of(model: type[Section]) -> str:
    return typing.get_args(model.model_fields["name"].annotation)[0]


# --- sections -------------------------------------------------------------------------


def _section(
    model: type[Section], title: str, instance: BaseModel | None, level: int, out: list[str], prefix: str | None = None
) -> None:
    """``model``'s heading, docstring and table of keys (under ``prefix``, else
    ``title``), then its nested sections a level down. ``instance`` holds the defaults
    where the parent sets other ones (``probe.init.model``)."""
    key = title if prefix is None else prefix
    nested: list[tuple[type[Section], str, BaseModel | None]] = []
    rows = []
    fields = model.model_fields
    for name in sorted(fields, key=lambda f: f != "kind"):  # a dataset's kind first
        info = fields[name]
        if name == "name" and model in COMPONENTS:
            continue  # the heading names the component
        default = getattr(instance, name) if instance is not None else info.default
        if _is_section(info.annotation):
            nested.append((info.annotation, f"{key}.{name}", default))
        else:
            rows.append(_row(f"{key}.{name}", info, default))
    out.append(f"{'#' * level} {title}\n")
    doc = inspect.cleandoc(model.__dict__.get("__doc__") or "")
    if doc:
        out.append(_md(doc) + "\n")
    if rows:
        out += [HEADER, *rows, ""]
    elif model in COMPONENTS:
        out.append("No settings besides `name`.\n")
    for sub, sub_key, sub_instance in nested:
        _section(sub, sub_key, sub_instance, min(level + 1, 4), out)


def _row(key: str, info: FieldInfo, default: object) -> str:
    required = default is PydanticUndefined
    cells = [
        f"`{key}`",
        _type(info.annotation),
        "required" if required else f"`{_value(default)}`",
        _bounds(info),
        _md(info.description or "").replace("|", "\\|"),
    ]
    return "| " + " | ".join(cells) + " |"


def _is_section(ann: object) -> bool:
    return inspect.isclass(ann) and issubclass(ann, Section)


def _members(ann: object) -> tuple:
    """The members of a union (through ``Annotated``), else ``()``."""
    if typing.get_origin(ann) is Annotated:
        return _members(typing.get_args(ann)[0])
    if typing.get_origin(ann) in (Union, types.UnionType):
        return typing.get_args(ann)
    return ()


def _kinds(ann: object) -> list[type[Section]]:
    """The dataset models of a union discriminated on ``kind``."""
    members = _members(ann)
    if members and all(_is_section(m) and "kind" in m.model_fields for m in members):
        return list(members)
    return []


def _family(ann: object) -> str | None:
    members = set(_members(ann))
    return next((f for f, ms in FAMILIES.items() if members and members == set(ms)), None)


# --- types, defaults, bounds ----------------------------------------------------------


def _type(ann: object) -> str:
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    family = _family(ann)
    if family:
        return f"[{family}](#{slug(TITLES[family])})"
    if _kinds(ann):
        return "dataset"
    if origin is Annotated:
        return _type(args[0])
    if ann is type(None):
        return "null"
    if origin in (Union, types.UnionType):
        return " or ".join(dict.fromkeys(_type(a) for a in args))
    if origin is Literal:
        return ", ".join(map(_flow, args)) if len(args) == 1 else "one of " + ", ".join(map(_flow, args))
    if origin is tuple:
        return "[" + ", ".join(_type(a) for a in args) + "]"
    if origin is list:
        return f"list of {_part(args[0])}"
    if origin is dict:
        return f"mapping {_part(args[0])} → {_part(args[1])}"
    if ann is Any:
        return "any"
    if ann is Path:
        return "path"
    if _is_section(ann):
        return "section"
    return getattr(ann, "__name__", str(ann))


def _part(ann: object) -> str:
    """A type inside a list or mapping: a union in parentheses."""
    text = _type(ann)
    origin = typing.get_origin(typing.get_args(ann)[0] if typing.get_origin(ann) is Annotated else ann)
    return f"({text})" if origin in (Union, types.UnionType, Literal) and " " in text else text


def _value(value: object) -> str:
    return _flow(_plain(value))


def _flow(value: object) -> str:
    """``value`` as YAML flow style, the way params.yaml writes it."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str):
        plain = re.fullmatch(r"[A-Za-z_][\w./*+ -]*", value) and value.lower() not in ("true", "false", "null")
        return value if plain and value.strip() == value else json.dumps(value)
    return json.dumps(value)


def _md(text: str) -> str:
    """``text`` for Markdown: ``<`` outside code spans escaped, so ``<study>`` is not
    read as an HTML tag."""
    parts = re.split(r"(`+[^`]*`+)", text)
    return "".join(p if p.startswith("`") else p.replace("<", "&lt;") for p in parts)


def _plain(value: object) -> object:
    if type(value) in COMPONENTS:  # a component at its defaults is its name
        return value.name if value == type(value)() else value.model_dump(mode="json")
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def _bounds(info: FieldInfo) -> str:
    own = _interval(info.metadata)
    inner = _inner(info.annotation)
    return "; ".join(t for t in (own, inner) if t)


def _constraints(ann: object) -> list:
    if typing.get_origin(ann) is not Annotated:
        return []
    out = []
    for meta in typing.get_args(ann)[1:]:
        out += meta.metadata if isinstance(meta, FieldInfo) else [meta]
    return out


def _inner(ann: object) -> str:
    """Bounds on the parts of a type: a union's members, each item of a list or tuple,
    each value of a mapping."""
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is Annotated:
        return _inner(args[0])
    if origin in (Union, types.UnionType):
        texts = [t for a in args if (t := _interval(_constraints(a)) or _inner(a))]
        return "; ".join(dict.fromkeys(texts))
    parts = args if origin in (list, tuple) else args[1:] if origin is dict else ()
    texts = {_interval(_constraints(a)) or _inner(a) for a in parts}
    if len(texts) == 1 and (text := texts.pop()):
        return ("each value " if origin is dict else "each ") + text
    return ""


def _interval(constraints: list) -> str:
    low = high = None
    parts = []
    for c in constraints:
        if isinstance(c, at.Ge):
            low = ("[", "≥", c.ge)
        elif isinstance(c, at.Gt):
            low = ("(", ">", c.gt)
        elif isinstance(c, at.Le):
            high = ("]", "≤", c.le)
        elif isinstance(c, at.Lt):
            high = (")", "<", c.lt)
        elif isinstance(c, at.MinLen):
            parts.append(f"at least {c.min_length} item{'s' if c.min_length != 1 else ''}")
    if low and high:
        parts.insert(0, f"{low[0]}{_num(low[2])}, {_num(high[2])}{high[0]}")
    elif low or high:
        _, sign, x = low or high
        parts.insert(0, f"{sign} {_num(x)}")
    return ", ".join(parts)


def _num(x: float) -> str:
    return f"{x:g}"


def slug(text: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) and GitHub give a heading."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)
