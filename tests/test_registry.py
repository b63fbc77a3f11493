"""Registries: unknown names list the valid ones; a name registers once."""

from __future__ import annotations

from typing import get_args

import pytest

from segsweep.config import ModelCfg
from segsweep.config.components import MODELS as COMPONENTS
from segsweep.losses import LOSSES
from segsweep.models import MODELS
from segsweep.optim import OPTIMIZERS, SCHEDULERS
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


def test_every_component_model_has_a_builder_and_back():
    """A typed model without a builder (or the reverse) would validate a study that
    fails at its first training job."""
    for family, registry in (("loss", LOSSES), ("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS)):
        assert set(registry.names()) == set(COMPONENTS[family]), family
    assert set(MODELS.names()) == set(get_args(ModelCfg.model_fields["name"].annotation))
