"""What every verb's handler shares: its settings from ``--cfg`` or ``--params``."""

from __future__ import annotations

import logging

from segsweep.errors import ConfigError, did_you_mean

log = logging.getLogger("segsweep")


def section(args, model, key: str):
    """The validated settings at dotted ``key``: from ``--cfg`` when given (how the
    rules call: the rule's ``params:`` as JSON), else from ``--params`` (the whole
    params.yaml, validated). ``datasets.<name>`` checks that the dataset exists."""
    from segsweep.config import load_section
    from segsweep.study import load_params

    if getattr(args, "cfg", None) is not None:
        return load_section(model, args.cfg, key)
    obj = load_params(args.params)
    parts = key.split(".")
    if parts[0] == "datasets" and parts[1] not in obj.datasets:
        raise ConfigError(
            f"--dataset {parts[1]}: no such dataset in {args.params}"
            f"{did_you_mean(parts[1], obj.datasets)}; valid: {', '.join(obj.datasets)}"
        )
    for part in parts:
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


def cell_section(args, what: str):
    """The cell's train section from ``--cell-cfg``; one line when it is missing."""
    from segsweep.config import Train, load_section

    if not args.cell_cfg:
        raise ConfigError(f"{what} needs --cell-cfg (the cell's train section as JSON)")
    return load_section(Train, args.cell_cfg, "train")
