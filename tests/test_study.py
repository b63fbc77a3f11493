"""The study: sections validated by config, then checked against the grid; config
comes first in the house and imports neither the grid nor the study."""

from __future__ import annotations

import pytest
import yaml

from segsweep.codegraph import closure
from segsweep.config import ConfigError, parse_params
from segsweep.study import validate_params
from tests.conftest import REPO


def test_config_imports_neither_the_grid_nor_the_study():
    below = closure({"segsweep.config"})  # lazy imports inside functions included
    assert not {"segsweep.grid", "segsweep.study"} & below
    assert "segsweep.study" not in closure({"segsweep.grid"})
    # validation needs no builder: component names and settings are typed models
    assert not {"segsweep.losses", "segsweep.optim", "segsweep.models", "segsweep.registry"} & below


def test_references_to_cells_are_checked_against_the_grid():
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["landscape"]["cells"] = ["no-such-cell"]
    assert parse_params(raw).landscape.cells == ["no-such-cell"]  # each section is valid alone
    with pytest.raises(ConfigError, match=r"landscape.cells\[0\] = \"no-such-cell\": not a grid cell"):
        validate_params(raw)


def test_dataset_is_a_grid_axis_and_each_cell_is_checked_against_its_dataset(tiny_params):
    """A 2D and a 3D study in one params file (dataset was not an axis: two files, and
    their results/cells/baseline collided)."""
    from segsweep.grid import expand

    tiny_params["grid"] = {"studies": {"data": {"dataset": ["lesion2d", "organ3d"]}}}
    params = validate_params(tiny_params)
    cells, studies = expand(params.train, params.grid)
    assert studies["data"] == ["baseline", "dataset-organ3d"]
    assert cells["dataset-organ3d"].dataset == "organ3d" and cells["baseline"].dataset == "lesion2d"
    tiny_params["preprocess"]["patches"]["size_3d"] = [18, 16, 16]  # 18: not divisible by 2**2
    tiny_params["preprocess"]["patches"]["stride_3d"] = [18, 16, 16]
    with pytest.raises(ConfigError, match=r"patches\.size_3d = \[18, 16, 16\]: cell 'dataset-organ3d' has a U-Net"):
        validate_params(tiny_params)
    tiny_params["grid"] = {"studies": {"data": {"dataset": ["organ"]}}}
    with pytest.raises(ConfigError, match=r"cell 'dataset-organ': train\.dataset = \"organ\": not a dataset"):
        validate_params(tiny_params)
