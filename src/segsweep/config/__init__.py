"""The typed models of params.yaml, the single source of truth of a study, and their
validation section by section.

``parse_params`` validates a whole mapping, ``load_section`` one section passed by
Snakemake as JSON. Reading the file and the checks that need the expanded grid are
``segsweep.study``'s (config comes first in the house: it imports neither the grid nor
the builders). Errors become one ``ConfigError`` line naming the dotted key, the bad
value and what is allowed.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, TypeAdapter, ValidationError

from segsweep.config.cluster import Cluster
from segsweep.config.components import MODELS as COMPONENTS
from segsweep.config.components import LossCfg, OptimCfg, SchedCfg, loss_cfg, optim_cfg, sched_cfg
from segsweep.config.data import (
    Augment,
    Clahe,
    Params,
    Patches,
    Prepare,
    Preprocess,
    Resize,
    Splits,
    Window,
    known_image_size,
)
from segsweep.config.datasets import DATASET_KINDS, Dataset, Folder2D, Nifti, Synth2D, Synth3D, dataset_ndim
from segsweep.config.landscape import Landscape
from segsweep.config.probe import Probe, ProbeDynamics, ProbeInit, ProbePixels
from segsweep.config.report import Report
from segsweep.config.train import Grid, ModelCfg, RegCfg, Train
from segsweep.errors import ConfigError, did_you_mean

__all__ = [
    "Augment",
    "Clahe",
    "Cluster",
    "ConfigError",
    "Dataset",
    "Folder2D",
    "Grid",
    "Landscape",
    "LossCfg",
    "ModelCfg",
    "Nifti",
    "OptimCfg",
    "Params",
    "Patches",
    "Prepare",
    "Preprocess",
    "Probe",
    "ProbeDynamics",
    "ProbeInit",
    "ProbePixels",
    "RegCfg",
    "Report",
    "Resize",
    "SchedCfg",
    "Splits",
    "Synth2D",
    "Synth3D",
    "Train",
    "Window",
    "dataset_ndim",
    "format_error",
    "load_section",
    "loss_cfg",
    "optim_cfg",
    "parse_params",
    "sched_cfg",
    "section_json",
]


def parse_params(raw: object, source: str = "params.yaml") -> Params:
    """Validate an already-parsed params mapping section by section (types, ranges,
    names, patch sizes against image sizes). What needs the grid (cells and studies
    named elsewhere, every cell's U-Net against the patches) is ``segsweep.study``'s."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: must be a mapping of sections, got {type(raw).__name__}")
    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {format_error(exc)}") from None
    _check_patch_fits(params, source)
    return params


def load_section(model: object, text: str, key: str):
    """Validate one section passed as JSON (how Snakemake rules hand params to the CLI).

    Args:
        model: a section model (e.g. ``Prepare``) or a type such as ``Dataset``.
        text: the JSON text.
        key: the section's dotted key in params.yaml, for error messages.
    """
    try:
        return TypeAdapter(model).validate_json(text)
    except ValidationError as exc:
        raise ConfigError(f"--cfg: {format_error(exc, prefix=key)}") from None


def section_json(section: BaseModel | dict | list) -> str:
    """Canonical JSON of a section: equal values give equal strings, so Snakemake's
    params-based rerun trigger fires exactly when a value changes."""
    data = section.model_dump(mode="json") if isinstance(section, BaseModel) else section
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


# --- error formatting -----------------------------------------------------------------


def _dotted(loc: tuple, prefix: str = "") -> str:
    out = prefix
    for i, item in enumerate(loc):
        if isinstance(item, int):
            out += f"[{item}]"
        elif i == 2 and loc[0] == "datasets" and item in DATASET_KINDS:
            continue  # pydantic inserts the discriminator's value into the location
        elif i and item in COMPONENTS.get(_family(loc[:i]), ()):
            continue  # the same for a loss / optimizer / scheduler: train.optimizer.sgd.lr
        else:
            out += f".{item}" if out else str(item)
    return out


def _family(loc: tuple) -> str:
    """The component family a location ends in: ``(..., "optimizer")``, ``("probe",
    "losses", 0)``."""
    names = [x for x in loc if not isinstance(x, int)]
    last = names[-1] if names else ""
    return "loss" if last == "losses" else str(last)


def _show(value: object) -> str:
    if isinstance(value, tuple):
        value = list(value)
    text = json.dumps(value) if isinstance(value, (str, int, float, list, bool)) or value is None else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def format_error(exc: ValidationError, prefix: str = "") -> str:
    """One line for the first error of ``exc``: ``key = value: what is allowed``."""
    errors = exc.errors(include_url=False)
    err = errors[0]
    key = _dotted(tuple(err["loc"]), prefix) or "(top level)"
    kind, ctx, value = err["type"], err.get("ctx", {}), err.get("input")
    msg = err["msg"]
    if kind == "value_error":
        msg = str(ctx.get("error", msg))
        # Unknown keys are raised by the parent model: name the bad key itself.
        m = re.match(r"unknown key '([^']*)'(.*)", msg)
        if m:
            key = f"{key}.{m.group(1)}" if key != "(top level)" else m.group(1)
            return f"{key}: unknown key{m.group(2)}{_more(errors)}"
        m = re.match(r"boolean for '([^']*)': (\w+)", msg)
        if m:
            key = f"{key}.{m.group(1)}" if key != "(top level)" else m.group(1)
            return f"{key} = {m.group(2)}: true/false is not allowed here (it would be read as 1/0){_more(errors)}"
        return f"{key} = {_show(value)}: {msg}{_more(errors)}"
    if kind == "missing":
        return f"{key}: required key is missing{_more(errors)}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return (
            f"{key} = {_show(value)}: must be one of {', '.join(choices)}{did_you_mean(value, choices)}{_more(errors)}"
        )
    if kind == "union_tag_invalid":
        tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        field = str(ctx.get("discriminator", "kind")).strip("'")  # datasets: kind; components: name
        return (
            f"{key}.{field} = {_show(ctx.get('tag'))}: must be one of {', '.join(tags)}"
            f"{did_you_mean(ctx.get('tag'), tags)}{_more(errors)}"
        )
    if kind == "union_tag_not_found":
        return f"{key}.kind: required key is missing; one of {', '.join(DATASET_KINDS)}{_more(errors)}"
    msg = re.sub(r"^Input should (be )?", "must be ", msg)
    return f"{key} = {_show(value)}: {msg}{_more(errors)}"


def _more(errors: list) -> str:
    return f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""


def _check_patch_fits(params: Params, source: str) -> None:
    # A patch larger than the image is only detectable here when params fix the image
    # size; otherwise the patch stage checks each case.
    pre = params.preprocess
    for name, ds in params.datasets.items():
        ndim = dataset_ndim(ds)
        key = f"size_{ndim}d"
        patch = getattr(pre.patches, key)
        image, fixed_by = known_image_size(name, ds, pre)
        if image is not None and any(p > s for p, s in zip(patch, image)):
            raise ConfigError(
                f"{source}: preprocess.patches.{key} = {list(patch)}: larger than the {ndim}D "
                f"image size {list(image)} set by {fixed_by}; each side must be at most that"
            )
