"""Load and validate params.yaml: the single source of truth of a study.

``load_params`` is the one reader of the file; the Snakefile and every CLI verb call
it (or validate a section passed by Snakemake with ``load_section``), so both see the
same validated object. Errors become one ``ConfigError`` line naming the dotted key,
the bad value and what is allowed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from segsweep.config.landscape import Landscape
from segsweep.config.models import (
    DATASET_KINDS,
    Augment,
    Clahe,
    Dataset,
    Folder2D,
    Nifti,
    Params,
    Patches,
    Prepare,
    Preprocess,
    Resize,
    Splits,
    Synth2D,
    Synth3D,
    Window,
    dataset_ndim,
    known_image_size,
)
from segsweep.config.probe import Probe, ProbeDynamics, ProbeInit, ProbePixels
from segsweep.config.report import Report
from segsweep.config.train import Grid, LossCfg, ModelCfg, OptimCfg, RegCfg, SchedCfg, Train
from segsweep.errors import ConfigError, did_you_mean

__all__ = [
    "Augment",
    "Clahe",
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
    "load_params",
    "load_section",
    "section_json",
    "validate_params",
]


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate a params file.

    Raises:
        ConfigError: the file is missing, is not YAML, or any value is invalid.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return validate_params(raw, source=str(path))


def validate_params(raw: object, source: str = "params.yaml") -> Params:
    """Validate an already-parsed params mapping (e.g. Snakemake's ``config``)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: must be a mapping of sections, got {type(raw).__name__}")
    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {format_error(exc)}") from None
    _check_patch_fits(params, source)
    _check_train(params, source)
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
        else:
            out += f".{item}" if out else str(item)
    return out


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
        return (
            f"{key}.kind = {_show(ctx.get('tag'))}: must be one of {', '.join(tags)}"
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


def _check_train(params: Params, source: str) -> None:
    """The baseline dataset exists, and every cell's U-Net fits the dataset's patches."""
    from segsweep.grid import expand

    name = params.train.dataset
    if name not in params.datasets:
        raise ConfigError(
            f"{source}: train.dataset = {json.dumps(name)}: not a dataset"
            f"{did_you_mean(name, params.datasets)}; valid: {', '.join(params.datasets)}"
        )
    ndim = dataset_ndim(params.datasets[name])
    patch = getattr(params.preprocess.patches, f"size_{ndim}d")
    cells, studies = expand(params.train, params.grid, source)
    _check_probe(params, cells, studies, source)
    _check_studies(params.report.studies, "report.studies", studies, source)
    _check_studies(list(params.report.reference), "report.reference", studies, source)
    for study, cell in params.report.reference.items():
        if cell not in studies[study]:
            raise ConfigError(
                f"{source}: report.reference.{study} = {json.dumps(cell)}: not a cell of study "
                f"{study}{did_you_mean(cell, studies[study])}; valid: {', '.join(studies[study])}"
            )
    for i, cell in enumerate(params.landscape.cells):
        if cell not in cells:
            raise ConfigError(
                f"{source}: landscape.cells[{i}] = {json.dumps(cell)}: not a grid cell"
                f"{did_you_mean(cell, cells)}; `segsweep grid` lists them"
            )
    for cid, cell in cells.items():
        factor = 2**cell.model.depth
        if any(s % factor for s in patch):
            raise ConfigError(
                f"{source}: preprocess.patches.size_{ndim}d = {list(patch)}: cell '{cid}' has a U-Net of "
                f"depth {cell.model.depth}, which needs every side divisible by 2**depth = {factor}"
            )


def _check_studies(names: list[str], key: str, studies: dict, source: str) -> None:
    """Every name in the list at ``key`` is a study of the grid."""
    for i, study in enumerate(names):
        if study not in studies:
            raise ConfigError(
                f"{source}: {key}[{i}] = {json.dumps(study)}: not a study"
                f"{did_you_mean(study, studies)}; valid: {', '.join(studies) or '(none)'}"
            )


def _check_probe(params: Params, cells: dict, studies: dict, source: str) -> None:
    """Probed cells and studies exist; cells probed along training keep snapshots."""
    probe = params.probe
    for i, cell in enumerate(probe.cells):
        key = f"probe.cells[{i}]"
        if cell not in cells:
            raise ConfigError(
                f"{source}: {key} = {json.dumps(cell)}: not a grid cell{did_you_mean(cell, cells)}; "
                "`segsweep grid` lists them"
            )
        if not cells[cell].snapshot_every:
            raise ConfigError(
                f"{source}: {key} = {json.dumps(cell)}: the cell saves no snapshots; set train.snapshot_every > 0"
            )
    pix = probe.pixels.cell
    if pix is not None and (pix not in cells or not cells[pix].snapshot_every):
        raise ConfigError(
            f"{source}: probe.pixels.cell = {json.dumps(pix)}: must be a grid cell with "
            f"train.snapshot_every > 0{did_you_mean(pix, cells)}"
        )
    _check_studies(probe.dynamics.studies, "probe.dynamics.studies", studies, source)
    name = probe.init.dataset
    if name is None:
        return
    if name not in params.datasets:
        raise ConfigError(
            f"{source}: probe.init.dataset = {json.dumps(name)}: not a dataset"
            f"{did_you_mean(name, params.datasets)}; valid: {', '.join(params.datasets)}"
        )
    ndim = dataset_ndim(params.datasets[name])
    patch = getattr(params.preprocess.patches, f"size_{ndim}d")
    factor = 2**probe.init.model.depth
    if any(s % factor for s in patch):
        raise ConfigError(
            f"{source}: probe.init.model.depth = {probe.init.model.depth}: needs every side of "
            f"preprocess.patches.size_{ndim}d = {list(patch)} divisible by {factor}"
        )
