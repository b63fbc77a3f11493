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
