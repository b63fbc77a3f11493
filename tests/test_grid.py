"""Grid cells: readable stable ids, shared cells trained once, errors name the axis."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from segsweep.config import ConfigError, Grid, Train
from segsweep.grid import expand
from segsweep.study import validate_params


def _grid(**studies) -> Grid:
    return Grid.model_validate({"studies": studies})


def test_ids_from_non_baseline_values_and_shared_cells():
    cells, studies = expand(
        Train(),
        _grid(
            optimizer={"optimizer": ["adam", {"name": "sgd", "momentum": 0.95}, "rmsprop"]},
            split_x_opt={"train_fraction": [1.0, 0.4], "optimizer": ["adam", "rmsprop"]},
            sched={"scheduler": ["none", {"name": "exponential", "gamma": 0.97}, "step"]},
            reg={"l1l2": [0.01], "weight_decay": [0.0, 1e-4]},
        ),
    )
    assert studies["optimizer"] == ["baseline", "opt-sgd-mom0.95", "opt-rmsprop"]
    assert studies["split_x_opt"] == ["baseline", "opt-rmsprop", "tf-0.4", "tf-0.4__opt-rmsprop"]
    assert studies["sched"] == ["baseline", "sched-exponential", "sched-step"]
    assert studies["reg"] == ["l1-0.01__l2-0.01", "opt-adam-wd0.0001__l1-0.01__l2-0.01"]
    # baseline and opt-rmsprop appear in two studies but are one cell each
    assert len(cells) == 1 + 2 + 2 + 2 + 2
    assert cells["tf-0.4__opt-rmsprop"].optimizer.name == "rmsprop"
    # gamma 0.97 is exponential's own default (written once): the id does not list it
    assert cells["sched-exponential"].scheduler.gamma == 0.97
    assert cells["sched-step"].scheduler.gamma == 0.1  # step's own default, not exponential's


def test_a_setting_the_component_does_not_take_is_an_error():
    """``{name: adam, momentum: 0.5}`` made a cell that trained exactly like adam."""
    with pytest.raises(
        ConfigError,
        match=r"^params\.yaml: grid\.studies\.s \(optimizer=.*\): train\.optimizer\.momentum: unknown key "
        r"\(not a setting of adam\); allowed: name, lr, weight_decay, betas$",
    ):
        expand(Train(), _grid(s={"optimizer": [{"name": "adam", "momentum": 0.5}]}))
    with pytest.raises(ConfigError, match=r"train\.optimizer\.momentum: unknown key \(not a setting of adam\)"):
        expand(Train(), _grid(s={"momentum": [0.5]}))  # the momentum axis on the adam baseline
    with pytest.raises(ValueError, match=r"momentum.*not a setting of adam"):
        Train.model_validate({"optimizer": {"name": "adam", "momentum": 0.5}})


def test_a_switch_keeps_shared_settings_and_takes_the_new_defaults():
    base = Train.model_validate(
        {
            "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.99, "weight_decay": 1e-4},
            "scheduler": {"name": "step", "gamma": 0.5},
            "loss": {"name": "dice", "batch_dice": True},
        }
    )
    grid = _grid(
        s={"optimizer": ["rmsprop"], "scheduler": ["exponential"], "loss": ["dice_ce", "topk_ce"]},
        order={"momentum": [0.8], "optimizer": ["sgd", "rmsprop"]},  # a setting axis before the switch
    )
    cells, studies = expand(base, grid)
    c = cells["loss-dice_ce__opt-rmsprop__sched-exponential"]
    # lr and weight_decay are every optimizer's; SGD's momentum 0.99 is not RMSprop's (0)
    assert (c.optimizer.lr, c.optimizer.weight_decay, c.optimizer.momentum) == (0.05, 1e-4, 0.0)
    assert c.scheduler.gamma == 0.97  # exponential's default, not step's 0.5
    assert c.loss.batch_dice is True  # the dice family's
    assert cells["loss-topk_ce__opt-rmsprop__sched-exponential"].loss.topk == 0.25
    assert studies["order"] == ["opt-sgd-mom0.8", "opt-rmsprop-mom0.8"]
    assert cells["opt-rmsprop-mom0.8"].optimizer.momentum == 0.8


def test_ids_are_exact_and_path_safe_for_any_valid_value():
    """`{:g}` gave 1e+06 (a '+', then an assertion traceback) and one id for two lrs
    that differ past six digits (a collision)."""
    cells, studies = expand(Train(), _grid(lr={"lr": [1.0e6, 0.12345678, 0.12345679, 0.001]}))
    assert studies["lr"] == ["opt-adam-lr1e06", "opt-adam-lr0.12345678", "opt-adam-lr0.12345679", "baseline"]
    assert cells["opt-adam-lr0.12345679"].optimizer.lr == 0.12345679
    from segsweep.paths import tag

    assert [tag(x) for x in (0.8, 0.0, 1.0, 1e-05, 2.5e20)] == ["0.8", "0", "1", "1e-05", "2.5e20"]


def test_two_axes_setting_one_field_is_an_error_naming_both():
    with pytest.raises(
        ConfigError,
        match=r"^grid\.studies\.s: axes 'optimizer' \(optimizer=\{'name': "
        r"'sgd', 'lr': 0\.01\}\) and 'lr' \(lr=0\.5\) both set train\.optimizer\.lr; set it in one",
    ):
        expand(Train(), _grid(s={"optimizer": [{"name": "sgd", "lr": 0.01}], "lr": [0.5]}))
    cells, _ = expand(Train(), _grid(s={"optimizer": [{"name": "sgd", "momentum": 0.9}], "lr": [0.5]}))
    assert cells["opt-sgd-lr0.5"].optimizer.lr == 0.5


def test_full_product_axes_and_stable_order():
    grid = Grid.model_validate({"axes": {"loss": ["dice", "ce"], "seed": [0, 1]}})
    cells, studies = expand(Train(), grid)
    assert studies["grid"] == ["baseline", "seed-1", "loss-ce", "seed-1__loss-ce"]  # ids in params order
    assert list(expand(Train(), grid)[0]) == list(cells)


@pytest.mark.parametrize(
    ("studies", "pattern"),
    [
        ({"s": {"optimiser": ["sgd"]}}, r"grid\.studies\.s\.optimiser: unknown axis \(did you mean 'optimizer'\?\)"),
        (
            {"s": {"loss": ["dic"]}},
            r"grid\.studies\.s \(loss='dic'\): train\.loss\.name = \"dic\": must be one of dice, dice_all, .*"
            r"\(did you mean 'dice'\?\)$",
        ),
        (
            {"s": {"train_fraction": [1.2]}},
            r"grid\.studies\.s \(train_fraction=1\.2\): train\.train_fraction = 1\.2: must be less than or equal to 1",
        ),
        (
            {"s": {"dropout": [{"p": 1}]}},
            r"grid\.studies\.s\.dropout = \{'p': 1\}: axis 'dropout' takes a single value",
        ),
    ],
)
def test_bad_axes_are_named(studies, pattern):
    with pytest.raises(ConfigError, match=pattern):
        expand(Train(), _grid(**studies))


def test_unknown_loss_in_train_section_fails_at_validation(tiny_params):
    tiny_params["train"]["loss"] = {"name": "dic"}
    with pytest.raises(
        ConfigError,
        match=r"^params\.yaml: train\.loss\.name = \"dic\": must be one of dice, dice_all, .* \(did you mean 'dice'\?\)$",
    ):
        validate_params(tiny_params)


def test_depth_must_fit_the_patches(tiny_params):
    tiny_params["grid"] = {"studies": {"deep": {"depth": [2, 6]}}}
    with pytest.raises(
        ConfigError, match=r"preprocess\.patches\.size_2d = \[32, 32\]: cell 'depth-6' has a U-Net of depth 6"
    ):
        validate_params(tiny_params)


def test_cli_prints_ids(tmp_path, tiny_params):
    tiny_params["grid"] = {"studies": {"opt": {"optimizer": ["adam", "sgd"]}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params))
    res = subprocess.run([sys.executable, "-m", "segsweep", "grid"], cwd=tmp_path, capture_output=True, text=True)
    assert res.stdout.split() == ["baseline", "opt-sgd"]
    res = subprocess.run(
        [sys.executable, "-m", "segsweep", "grid", "--study", "op"], cwd=tmp_path, capture_output=True, text=True
    )
    assert res.returncode == 2 and "no such study (did you mean 'opt'?)" in res.stderr


def test_grid_seeds_replicate_every_cell_and_the_baseline():
    grid = Grid.model_validate(
        {"seeds": [0, 1, 2], "studies": {"opt": {"optimizer": ["adam", "sgd"]}, "loss": {"loss": ["dice", "ce"]}}}
    )
    cells, studies = expand(Train(), grid)
    assert list(cells)[:3] == ["baseline", "seed-1", "seed-2"]
    assert studies["opt"] == ["baseline", "seed-1", "seed-2", "opt-sgd", "seed-1__opt-sgd", "seed-2__opt-sgd"]
    assert studies["loss"][:3] == studies["opt"][:3], "'baseline' is the same three cells in every study"
    assert len(cells) == 3 * 3 and {c.seed for c in cells.values()} == {0, 1, 2}
    cells, _ = expand(Train(), Grid.model_validate({"seeds": [0, 1], "split_seeds": [0, 5]}))
    assert list(cells) == ["baseline", "split-5", "seed-1", "split-5__seed-1"]
