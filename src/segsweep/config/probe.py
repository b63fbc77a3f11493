"""Typed model of the ``probe`` section: gradient probing of losses."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveInt, field_validator

from segsweep.config.base import Section
from segsweep.config.components import CE, Dice, DiceAll, LossCfg, TopKCE
from segsweep.config.train import ModelCfg


class ProbeInit(Section):
    """Probe a freshly initialised model (one per seed) on ``dataset``'s patches
    (``null``: skip)."""

    dataset: str | None = None
    model: ModelCfg = ModelCfg(depth=3, base_filters=8)
    seeds: list[int] = Field(default=[0], min_length=1)


class ProbePixels(Section):
    """Per-pixel gradients: controlled synthetic predictions, and validation images of
    ``cell`` at its snapshots (the cell must have ``train.snapshot_every`` > 0)."""

    cell: str | None = None
    n_images: PositiveInt = 2
    size: Annotated[int, Field(ge=16, le=512)] = 64  # synthetic disk image side


class ProbeDynamics(Section):
    """Per-layer gradient/update norm plots per cell, and comparisons per study."""

    studies: list[str] = []
    smooth: PositiveInt = 5  # rolling-mean window (steps)


class Probe(Section):
    # Each a loss name (its default settings) or a mapping, as a grid's loss axis takes:
    # the probe's losses are its own, not the training loss's settings.
    losses: list[LossCfg] = Field(default=[Dice(), DiceAll(), CE(), TopKCE()], min_length=1)
    n_patches: PositiveInt = 16  # per patch kind (fg_bg, bg_only)
    batch_size: PositiveInt = 1
    # Batch norm during the probe: ``eval`` uses the running statistics (what the model
    # computes at inference; at initialisation mean 0, variance 1); ``train`` normalises
    # by the probed batch's own statistics, which for a batch of one is not what training
    # did and turns a patch that is constant in a channel into zeros (a warning says so).
    bn_mode: Literal["train", "eval"] = "eval"
    seed: int = 0
    init: ProbeInit = ProbeInit()
    cells: list[str] = []  # along training: these cells' snapshots
    pixels: ProbePixels = ProbePixels()
    dynamics: ProbeDynamics = ProbeDynamics()

    @field_validator("losses")
    @classmethod
    def _distinct_names(cls, losses: list) -> list:
        names = [loss.name for loss in losses]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"loss {twice[0]!r} is listed twice: tables and figures name the losses, one entry each")
        return losses
