"""The study a params file describes: read it, validate every section
(``segsweep.config``), expand the grid (``segsweep.grid``) and check what refers to
cells and studies against it.

``load_params`` is the one reader of the file; the Snakefile (``validate_params`` on
Snakemake's ``config``) and every CLI verb call it, so both see the same validated
object. Errors become one ``ConfigError`` line naming the dotted key, the bad value and
what is allowed.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from segsweep.config import Params, dataset_ndim, parse_params
from segsweep.errors import ConfigError, did_you_mean
from segsweep.grid import expand


class _UniqueKeys(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the
    last silently: ``epochs: 2`` then ``epochs: 50`` would train 50; DVC refuses)."""


def _unique_mapping(loader: _UniqueKeys, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read_yaml(path: str | Path) -> object:
    """A params file's contents, every mapping's keys unique.

    Raises:
        ConfigError: the file is missing, is not YAML, or repeats a key (one line
            naming the file, the line and the key).
    """
    path = Path(path)
    try:
        return yaml.load(path.read_text(), Loader=_UniqueKeys)  # (a SafeLoader: no arbitrary objects)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} not valid YAML: {getattr(exc, 'problem', exc)}") from None


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate a params file.

    Raises:
        ConfigError: the file is missing, is not YAML, repeats a key, or any value is
            invalid.
    """
    path = Path(path)
    return validate_params(read_yaml(path), source=str(path))


def validate_params(raw: object, source: str = "params.yaml") -> Params:
    """Validate an already-parsed params mapping (e.g. Snakemake's ``config``): every
    section, then the references to the grid's cells and studies."""
    params = parse_params(raw, source)
    _check_train(params, source)
    return params


def _dataset_patch(params: Params, key: str, name: str, source: str) -> tuple[int, tuple[int, ...]]:
    """The dimensionality and patch size of dataset ``name``, named at ``key``; one
    error line when there is no such dataset."""
    if name not in params.datasets:
        raise ConfigError(
            f"{source}: {key} = {json.dumps(name)}: not a dataset"
            f"{did_you_mean(name, params.datasets)}; valid: {', '.join(params.datasets)}"
        )
    ndim = dataset_ndim(params.datasets[name])
    return ndim, getattr(params.preprocess.patches, f"size_{ndim}d")


def _check_train(params: Params, source: str) -> None:
    """The baseline dataset exists, and every cell's U-Net fits the dataset's patches."""
    ndim, patch = _dataset_patch(params, "train.dataset", params.train.dataset, source)
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
        n, size = ndim, patch
        if cell.dataset != params.train.dataset:  # a dataset axis: a 2D and a 3D study in one file
            n, size = _dataset_patch(params, f"cell '{cid}': train.dataset", cell.dataset, source)
        factor = 2**cell.model.depth
        if any(s % factor for s in size):
            raise ConfigError(
                f"{source}: preprocess.patches.size_{n}d = {list(size)}: cell '{cid}' has a U-Net of "
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
    ndim, patch = _dataset_patch(params, "probe.init.dataset", name, source)
    factor = 2**probe.init.model.depth
    if any(s % factor for s in patch):
        raise ConfigError(
            f"{source}: probe.init.model.depth = {probe.init.model.depth}: needs every side of "
            f"preprocess.patches.size_{ndim}d = {list(patch)} divisible by {factor}"
        )
