"""Grid cells: the baseline ``train`` section with axis values applied.

Cells come from the full product of ``grid.axes`` and, for each named study, the
product of its axes (every other setting at the baseline). A cell's id is built
from the values where it differs from the baseline, so it is stable, readable and
shared: a cell that two studies both produce is one cell, trained once. The
baseline itself is ``baseline``.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from pydantic import ValidationError

from segsweep.config.components import FAMILIES, MODELS, switch
from segsweep.config.train import Grid, Train
from segsweep.errors import ConfigError, did_you_mean
from segsweep.paths import tag

# Axis name -> the dotted train fields it sets. Axes ending in a section name
# (loss, optimizer, scheduler) also take a mapping of that section's fields.
AXES: dict[str, tuple[str, ...]] = {
    "dataset": ("dataset",),
    "loss": ("loss.name",),
    "lam": ("loss.lam",),
    "optimizer": ("optimizer.name",),
    "lr": ("optimizer.lr",),
    "momentum": ("optimizer.momentum",),
    "weight_decay": ("optimizer.weight_decay",),
    "scheduler": ("scheduler.name",),
    "train_fraction": ("train_fraction",),
    "seed": ("seed",),
    "split_seed": ("split_seed",),
    "noise": ("noise",),
    "epochs": ("epochs",),
    "batch_size": ("batch_size",),
    "dropout": ("model.dropout",),
    "upsampling": ("model.upsampling",),
    "norm": ("model.norm",),
    "depth": ("model.depth",),
    "base_filters": ("model.base_filters",),
    "activation": ("model.activation",),
    "init": ("model.init",),
    "output": ("model.output",),
    "l1": ("regularization.l1",),
    "l2": ("regularization.l2",),
    "l1l2": ("regularization.l1", "regularization.l2"),
}

# Short names in ids; fields not listed use their own name.
SHORT = {
    "optimizer": "opt",
    "scheduler": "sched",
    "train_fraction": "tf",
    "regularization": "reg",
    "weight_decay": "wd",
    "momentum": "mom",
    "base_filters": "width",
    "upsampling": "up",
    "dropout": "drop",
    "batch_size": "bs",
    "step_size": "step",
    "split_seed": "split",
    "activation": "act",
    "norm_after_activation": "norm_after_act",
}


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return tag(v)
    if isinstance(v, (list, tuple)):
        return "-".join(_fmt(x) for x in v)
    return str(v)


def apply_axis(base: dict, axis: str, value: Any) -> dict:
    """Return a copy of the train mapping ``base`` with ``axis`` set to ``value``.

    A value naming another loss / optimizer / scheduler switches the component: the
    settings both share are kept, the others start at the new one's defaults
    (``segsweep.config.components.switch``); a mapping's own settings then apply.
    """
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for path in AXES[axis]:
        section, _, field = path.rpartition(".")
        if isinstance(value, dict):
            if field != "name":
                raise ValueError(f"axis '{axis}' takes a single value, not a mapping")
            name = value.get("name", out[section]["name"])
            out[section] = {**switch(section, out[section], name), **value}
        elif field == "name" and section in FAMILIES:
            out[section] = switch(section, out[section], value)
        elif section:
            out[section] = {**out[section], field: value}
        else:
            out[field] = value
    return out


def _switches(axis: str) -> bool:
    """Whether ``axis`` names a component: applied first, so that ``momentum: [0.8]``
    beside ``optimizer: [sgd]`` sets SGD's momentum whatever the axes' order."""
    return AXES[axis][0].endswith(".name")


def cell_id(cell: Train, baseline: Train) -> str:
    """Tokens for each field that differs from the baseline, in params order, e.g.
    ``opt-sgd-mom0.95__tf-0.4``; ``baseline`` when nothing differs. A switched component
    lists the settings that differ from what the switch alone gives (the baseline's
    shared settings, the new component's defaults): ``opt-sgd`` is SGD at the baseline's
    lr and SGD's default momentum."""
    tokens = []
    c, b = cell.model_dump(), baseline.model_dump()
    for key in Train.model_fields:
        if c[key] == b[key]:
            continue
        if key in FAMILIES:  # loss / optimizer / scheduler: name first, then its changed settings
            ref = _switched(key, baseline, c[key]["name"])
            diff = [f for f in c[key] if f != "name" and c[key][f] != ref[f]]
            extra = "".join(f"-{SHORT.get(f, f)}{_fmt(c[key][f])}" for f in diff)
            tokens.append(f"{SHORT.get(key, key)}-{c[key]['name']}{extra}")
        elif isinstance(c[key], dict):  # model, regularization, evaluation
            tokens += [f"{SHORT.get(f, f)}-{_fmt(c[key][f])}" for f in c[key] if c[key][f] != b[key][f]]
        else:
            tokens.append(f"{SHORT.get(key, key)}-{_fmt(c[key])}")
    return "__".join(tokens) or "baseline"


_SWITCHED: dict[tuple[str, str, str], dict] = {}  # 10,000 cells switch to a handful of components


def _switched(family: str, baseline: Train, name: str) -> dict:
    """The baseline's ``family`` component switched to ``name``, validated and dumped."""
    section = getattr(baseline, family)
    key = (family, section.model_dump_json(), name)
    if key not in _SWITCHED:
        model = MODELS[family][name]
        _SWITCHED[key] = model.model_validate(switch(family, section.model_dump(), name)).model_dump()
    return _SWITCHED[key]


def _sets(axis: str, value: Any) -> set[str]:
    """The dotted train fields an axis value sets (a mapping sets each of its keys)."""
    if isinstance(value, dict):
        section = AXES[axis][0].rpartition(".")[0]
        return {f"{section}.{key}" for key in value}
    return set(AXES[axis])


def _one_source(combo: tuple, where: str) -> None:
    """Two axes of one study setting one field would leave one value silently unused
    (``lr: [0.5]`` beside ``optimizer: [{name: sgd, lr: 0.01}]``): an error naming both."""
    seen: dict[str, tuple[str, Any]] = {}
    for axis, value in combo:
        for field in _sets(axis, value):
            if field in seen:
                other, was = seen[field]
                raise ConfigError(
                    f"{where}: axes '{other}' ({other}={was!r}) and '{axis}' ({axis}={value!r}) "
                    f"both set train.{field}; set it in one of them"
                )
            seen[field] = (axis, value)


def _product(baseline: dict, axes: dict[str, list], where: str) -> list[dict]:
    for axis, values in axes.items():
        if axis not in AXES:
            raise ConfigError(f"{where}.{axis}: unknown axis{did_you_mean(axis, AXES)}; valid: {', '.join(AXES)}")
        if not values:
            raise ConfigError(f"{where}.{axis} = []: an axis needs at least one value")
    cells = []
    for combo in itertools.product(*([(a, v) for v in vals] for a, vals in axes.items())):
        _one_source(combo, where)
        cell = baseline
        for axis, value in sorted(combo, key=lambda av: not _switches(av[0])):
            try:
                cell = apply_axis(cell, axis, value)
            except ValueError as exc:
                raise ConfigError(f"{where}.{axis} = {value!r}: {exc}") from None
        cells.append((cell, combo))
    return cells


def _replicas(grid: Grid) -> list[dict]:
    """The seed settings every cell is trained with: ``grid.seeds`` × ``grid.split_seeds``
    (an empty list leaves that field as the cell has it)."""
    seeds = [{"seed": s} for s in grid.seeds] or [{}]
    splits = [{"split_seed": s} for s in grid.split_seeds] or [{}]
    return [{**a, **b} for a in seeds for b in splits]


_EXPANDED: dict[str, tuple[dict, dict]] = {}  # validation and the Snakefile expand the same grid


def expand(train: Train, grid: Grid, source: str = "params.yaml") -> tuple[dict[str, Train], dict[str, list[str]]]:
    """All cells and the cells of each study (computed once per distinct train and grid
    section: planning a 10,000-cell study expands it twice otherwise).

    Returns:
        ``(cells, studies)``: ``cells`` maps id -> resolved ``Train`` (baseline and its
        replicas first, then in the order axes and studies list them; every cell is
        replicated over ``grid.seeds`` × ``grid.split_seeds``); ``studies`` maps a study name
        (``grid`` for the full product) -> its cell ids.

    Raises:
        ConfigError: unknown axis, a value the ``train`` models reject (the message
            names ``grid.<...>.<axis>`` and the value), or a seed axis in a study
            while ``grid.seeds`` replicates every cell.
    """
    key = f"{source}\0{train.model_dump_json()}\0{grid.model_dump_json()}"
    if key not in _EXPANDED:
        _EXPANDED[key] = _expand(train, grid, source)
    cells, studies = _EXPANDED[key]
    return dict(cells), {name: list(ids) for name, ids in studies.items()}


def _expand(train: Train, grid: Grid, source: str) -> tuple[dict[str, Train], dict[str, list[str]]]:
    from segsweep.config import format_error

    base = train.model_dump()
    cells: dict[str, Train] = {}
    studies: dict[str, list[str]] = {}
    replicas = _replicas(grid)
    groups = ([("grid", grid.axes, "grid.axes")] if grid.axes else []) + [
        (name, axes, f"grid.studies.{name}") for name, axes in grid.studies.items()
    ]
    for name, axes, where in [("", {}, "train"), *groups]:
        for axis in ("seed", "split_seed"):
            if axis in axes and getattr(grid, f"{axis}s"):
                raise ConfigError(
                    f"{source}: {where}.{axis}: set here and by grid.{axis}s = "
                    f"{getattr(grid, f'{axis}s')}; replicate with one of them"
                )
        ids: dict[str, None] = {}  # an ordered set: membership in O(1) at 10,000 cells
        for mapping, combo in _product(base, axes, where):
            for seeds in replicas:
                try:
                    cell = Train.model_validate({**mapping, **seeds})
                except ValidationError as exc:
                    shown = ", ".join(f"{a}={v!r}" for a, v in combo)
                    raise ConfigError(f"{source}: {where} ({shown}): {format_error(exc, prefix='train')}") from None
                cid = cell_id(cell, train)
                if cid in cells and cells[cid] != cell:  # cannot happen unless ids lose information
                    raise AssertionError(f"cell id collision: {cid}")
                cells.setdefault(cid, cell)
                ids.setdefault(cid)
        if name:
            studies[name] = list(ids)
    for cid in cells:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+", cid), cid
    return cells, studies
