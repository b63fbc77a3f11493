"""params.yaml validation: each bad value fails with one line naming key, value, rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from segsweep.config import ConfigError, Prepare, load_section, section_json
from segsweep.study import load_params, validate_params

REPO = Path(__file__).resolve().parents[2]


def test_shipped_params_are_valid():
    params = load_params(REPO / "params.yaml")
    assert {"lesion2d", "organ3d"} <= set(params.datasets)
    # the evaluation protocol the default study promises: ≥ 3 seeds everywhere, ≥ 30 test
    # images and ≥ 10 validation images (fractions of the 2D dataset's cases)
    n = params.datasets["lesion2d"].n_cases
    assert len(params.grid.seeds) >= 3
    assert (
        params.splits.test_fraction * n >= 30
        and params.splits.val_fraction * n * (1 - params.splits.test_fraction) >= 10
    )


def _merge(base: dict, patch: dict) -> dict:
    for key, value in patch.items():
        if isinstance(value, dict) and value and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


@pytest.mark.parametrize(
    ("patch", "pattern"),
    [
        (
            {"splits": {"train_fractions": [1.5]}},
            r"splits\.train_fractions\[0\] = 1\.5: must be less than or equal to 1$",
        ),
        ({"splits": {"train_fractions": [0.0]}}, r"splits\.train_fractions\[0\] = 0\.0: must be greater than 0"),
        (
            {"preprocess": {"augment": {"crop_2d": [-5, 48]}}},
            r"preprocess\.augment\.crop_2d\[0\] = -5: must be greater than 0",
        ),
        (
            {"preprocess": {"patches": {"size_2d": [64, 64]}}},
            r"preprocess\.patches\.size_2d = \[64, 64\]: larger than the 2D image size \[48, 48\] set by preprocess\.augment\.crop_2d",
        ),
        (
            {"preprocess": {"patches": {"size_3d": [16, 40, 16]}}},
            r"preprocess\.patches\.size_3d = \[16, 40, 16\]: larger than the 3D image size \[24, 32, 32\] set by datasets\.organ3d\.shape",
        ),
        (
            {"preprocess": {"prepare": {"clahe": {"clip_limt": 2}}}},
            r"preprocess\.prepare\.clahe\.clip_limt: unknown key \(did you mean 'clip_limit'\?\); allowed: enabled, clip_limit, tile_grid",
        ),
        ({"prepro": {}}, r"prepro: unknown key \(did you mean 'preprocess'\?\)"),
        (
            {"preprocess": {"prepare": {"resize": {"mode": "resise"}}}},
            r"preprocess\.prepare\.resize\.mode = \"resise\": must be one of none, resize, pad \(did you mean 'resize'\?\)",
        ),
        (
            {"datasets": {"x": {"kind": "synth2"}}},
            r"datasets\.x\.kind = \"synth2\": must be one of synth2d, synth3d, folder2d, nifti \(did you mean 'synth2d'\?\)",
        ),
        (
            {"datasets": {"x": {"kind": "synth2d", "n_cases": "many"}}},
            r"datasets\.x\.n_cases = \"many\": must be a valid integer",
        ),
        (
            {"datasets": {"x": {"kind": "synth2d", "n_cases": 2.5}}},
            r"datasets\.x\.n_cases = 2\.5: must be a valid integer",
        ),
        ({"datasets": {"x": {"kind": "folder2d"}}}, r"datasets\.x\.root: required key is missing"),
        (
            {"datasets": {"x": {"kind": "synth2d", "fg_range": [0.3, 0.1]}}},
            r"datasets\.x\.fg_range = \[0\.3, 0\.1\]: must be \[low, high\]",
        ),
        (
            {"preprocess": {"prepare": {"window": {"low": 5, "high": 1}}}},
            r"preprocess\.prepare\.window = .*low \(5\.0\) must be below high",
        ),
        (
            {"preprocess": {"noise_sigmas": [-0.1]}},
            r"preprocess\.noise_sigmas\[0\] = -0\.1: must be greater than or equal to 0",
        ),
        (
            {"preprocess": {"patches": {"fg_oversample": 1.0}}},
            r"preprocess\.patches\.fg_oversample = 1\.0: must be less than 1",
        ),
        ({"splits": {"seeds": [0, 0]}}, r"splits\.seeds = \[0, 0\]: values must be distinct"),
        (  # issue 27: a study name becomes file names and a LaTeX \label
            {"grid": {"studies": {"My Study!": {"optimizer": ["adam", "sgd"]}}}},
            r"grid\.studies = .*study name 'My Study!' must match",
        ),
        ({"datasets": {}}, r"datasets = \{\}: .*at least 1 item"),
        (
            {"grid": {"studies": {"opt": {"optimizer": ["adam", "sgd"]}}}, "report": {"studies": ["optimiser"]}},
            r"report\.studies\[0\] = \"optimiser\": not a study; valid: opt$",
        ),
        (
            {"grid": {"studies": {"opt": {"optimizer": ["adam", "sgd"]}}}, "probe": {"dynamics": {"studies": ["op"]}}},
            r"probe\.dynamics\.studies\[0\] = \"op\": not a study \(did you mean 'opt'\?\); valid: opt$",
        ),
        ({"report": {"alpha": 1.5}}, r"report\.alpha = 1\.5: must be less than 1$"),
        # pydantic alone reads true as 1 and accepts inf/nan (issue 16)
        (
            {"train": {"epochs": True}},
            r"train\.epochs = true: true/false is not allowed here \(it would be read as 1/0\)$",
        ),
        (
            {"datasets": {"x": {"kind": "synth2d", "n_cases": False}}},
            r"datasets\.x\.n_cases = false: true/false is not",
        ),
        (
            {"train": {"optimizer": {"name": "adam", "lr": float("inf")}}},
            r"train\.optimizer\.lr = Infinity: must be a finite number$",
        ),
        (
            {"train": {"loss": {"name": "dice", "smooth_nr": float("nan")}}},
            r"train\.loss\.smooth_nr = NaN: must be a finite",
        ),
        (
            {"grid": {"studies": {"s": {"lr": [float("inf"), 0.1]}}}},
            r"grid\.studies\.s \(lr=inf\): train\.optimizer\.lr = Infinity: must be a finite number$",
        ),
        (
            {"grid": {"studies": {"s": {"epochs": [True, 2]}}}},
            r"grid\.studies\.s \(epochs=True\): train\.epochs = true: ",
        ),
    ],
)
def test_bad_values_fail_with_one_line(tiny_params, patch, pattern):
    with pytest.raises(ConfigError, match=r"^params\.yaml: " + pattern) as info:
        validate_params(_merge(tiny_params, patch))
    assert "\n" not in str(info.value)


def test_yaml_errors_name_the_file(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("datasets: [unclosed\n")
    with pytest.raises(ConfigError, match=r"p\.yaml: line \d+ not valid YAML"):
        load_params(bad)
    with pytest.raises(ConfigError, match="file not found"):
        load_params(tmp_path / "missing.yaml")


def test_for_ndim_keeps_only_what_the_dimension_uses(tiny_params):
    params = validate_params(tiny_params)
    prep2, prep3 = params.preprocess.prepare.for_ndim(2), params.preprocess.prepare.for_ndim(3)
    assert set(prep2) == {"clahe", "resize"} and set(prep3) == {"window"}
    patches3 = params.preprocess.patches.for_ndim(3)
    assert "size_3d" in patches3 and "size_2d" not in patches3 and "fg_oversample" in patches3


def test_section_roundtrip_through_json(tiny_params):
    prep = validate_params(tiny_params).preprocess.prepare
    assert load_section(Prepare, section_json(prep), "preprocess.prepare") == prep
    with pytest.raises(ConfigError, match=r"preprocess\.prepare\.clahe\.clip_limit = -1: must be greater than 0"):
        load_section(Prepare, '{"clahe": {"clip_limit": -1}}', "preprocess.prepare")


def test_booleans_stay_allowed_where_a_field_takes_them(tiny_params):
    params = validate_params(_merge(tiny_params, {"train": {"amp": True, "log_norms": False}}))
    assert params.train.amp is True and params.train.log_norms is False


def test_probe_losses_are_names_or_mappings_with_their_own_settings():
    """The probed losses took their settings from train.loss (another section)."""
    from segsweep.config import Probe, format_error

    probe = Probe.model_validate({"losses": ["dice", {"name": "topk_ce", "topk": 0.1}]})
    assert [(loss.name, getattr(loss, "topk", None)) for loss in probe.losses] == [("dice", None), ("topk_ce", 0.1)]
    assert probe.losses[0].batch_dice is False  # the dice default, whatever train.loss says
    for bad, pattern in (
        (["dice", {"name": "dice", "smooth_nr": 1.0}], r"loss 'dice' is listed twice"),
        ([{"name": "ce", "topk": 0.1}], r"^probe\.losses\[0\]\.topk: unknown key \(not a setting of ce\)"),
        (["dic"], r"^probe\.losses\[0\]\.name = \"dic\": must be one of .*\(did you mean 'dice'\?\)"),
    ):
        with pytest.raises(ValidationError) as info:
            Probe.model_validate({"losses": bad})
        assert re.search(pattern, format_error(info.value, "probe")), format_error(info.value, "probe")
