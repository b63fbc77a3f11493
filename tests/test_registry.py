"""Registries: unknown names list the valid ones; a name registers once."""

from __future__ import annotations

import pytest

from segsweep.registries import LOSSES, MODELS, OPTIMIZERS, SCHEDULERS
from segsweep.registry import Registry


@pytest.mark.parametrize(
    ("registry", "bad", "hint"),
    [(LOSSES, "dic", "dice"), (OPTIMIZERS, "adm", "adam"), (SCHEDULERS, "cosin", "cosine"), (MODELS, "unte", "unet")],
)
def test_unknown_name_suggests_and_lists(registry, bad, hint):
    with pytest.raises(ValueError, match=rf"unknown {registry.family} '{bad}' \(did you mean '{hint}'\?\); valid: "):
        registry.check(bad)


def test_expected_families_are_registered():
    assert set(LOSSES.names()) == {
        "dice",
        "dice_all",
        "inverse_dice",
        "dice_inverse_mix",
        "ce",
        "dice_ce",
        "focal",
        "topk_ce",
        "tversky",
        "generalized_dice",
    }
    assert set(OPTIMIZERS.names()) == {"sgd", "adam", "adamw", "rmsprop"}
    assert set(SCHEDULERS.names()) == {"none", "step", "exponential", "cosine", "poly"}


def test_double_registration_fails():
    reg = Registry("thing")
    reg.register("a")(lambda: 1)
    with pytest.raises(KeyError, match="registered twice"):
        reg.register("a")(lambda: 2)


def test_settings_are_what_the_builder_takes():
    section = {"lr": 0.1, "momentum": 0.9, "betas": (0.9, 0.99), "alpha": 0.9, "params": "x"}
    assert OPTIMIZERS.settings("sgd", section, exclude=("params",)) == {"lr": 0.1, "momentum": 0.9}
    assert OPTIMIZERS.settings("adam", section, exclude=("params",)) == {"lr": 0.1, "betas": (0.9, 0.99)}
    assert SCHEDULERS.settings("exponential", {"gamma": 0.5, "step_size": 3}) == {"gamma": 0.5}
