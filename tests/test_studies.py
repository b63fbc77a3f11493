"""The shipped study files: the published one-factor-at-a-time design, full size and
down-scaled for a CPU, validate and describe the same 45 cells."""

from __future__ import annotations

import pytest

from segsweep.grid import expand
from segsweep.study import load_params
from tests.conftest import REPO

FULL, CPU = REPO / "studies/published_unet.yaml", REPO / "studies/published_unet_cpu.yaml"


def test_full_size_baseline_is_the_published_one():
    p = load_params(FULL)
    t, m = p.train, p.train.model
    assert (m.depth, m.base_filters, m.activation, m.norm, m.norm_after_activation, m.upsampling, m.init) == (
        4,
        64,
        "relu",
        "batch",
        True,
        "transpose",
        "xavier",
    )
    assert (t.optimizer.name, t.optimizer.lr) == ("adam", 2e-3)
    assert (t.scheduler.name, t.scheduler.step_size, t.scheduler.gamma) == ("step", 100, 0.1)
    assert (t.batch_size, t.epochs, t.train_fraction) == (32, 300, 1.0)
    assert (t.loss.name, t.loss.lam) == ("dice_inverse_mix", 0.5)  # mean of dice and inverse dice
    aug = p.preprocess.augment
    assert p.preprocess.prepare.clahe.enabled and (aug.rotate_limit, aug.rotate_p, aug.crop_2d) == (
        180,
        0.5,
        (192, 192),
    )


@pytest.mark.parametrize("path", [FULL, CPU])
def test_published_design_has_45_cells_and_the_published_factors(path):
    p = load_params(path)
    cells, studies = expand(p.train, p.grid)
    assert len(cells) == 45
    opt = {cells[c].optimizer.name: cells[c].optimizer for c in studies["optimizer"]}
    assert set(opt) == {"adam", "sgd", "rmsprop"} and opt["sgd"].momentum == 0.95
    assert sorted(cells[c].optimizer.weight_decay for c in studies["weight_decay"]) == [
        0,
        1e-4,
        5e-4,
        1e-3,
        5e-3,
        0.01,
        0.05,
        0.1,
    ]
    assert sorted(cells[c].model.dropout for c in studies["dropout"]) == [0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert sorted(cells[c].loss.lam for c in studies["loss_lambda"]) == [0, 0.25, 0.4, 0.5, 0.6, 0.75, 1]
    assert {cells[c].model.upsampling for c in studies["upsampling"]} == {"transpose", "interpolate"}
    assert sorted((cells[c].regularization.l1, cells[c].regularization.l2) for c in studies["l1l2"]) == [
        (0, 0),
        (0.001, 0.001),
        (0.01, 0.01),
        (0.1, 0.1),
    ]
    for study in ("fraction_x_optimizer", "fraction_x_scheduler"):
        assert sorted({cells[c].train_fraction for c in studies[study]}) == [0.25, 0.5, 0.75, 1.0]
        assert len(studies[study]) == 12


def test_cpu_file_is_the_same_design_down_scaled():
    full, cpu = load_params(FULL), load_params(CPU)
    assert {k: list(v) for k, v in full.grid.studies.items()} == {k: list(v) for k, v in cpu.grid.studies.items()}
    # schedules keep their shape over 12 instead of 300 epochs: the same total decay
    assert cpu.train.scheduler.step_size / cpu.train.epochs == full.train.scheduler.step_size / full.train.epochs
    for g_full, g_cpu in ((0.97, 0.467), (0.99, 0.778)):
        assert g_cpu**cpu.train.epochs == pytest.approx(g_full**full.train.epochs, rel=0.02)
    assert cpu.train.model.base_filters < full.train.model.base_filters and cpu.train.epochs < full.train.epochs
