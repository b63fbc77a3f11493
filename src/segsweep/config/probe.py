"""Typed model of the ``probe`` section: gradient probing of losses."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveInt

from segsweep.config.base import Section
from segsweep.config.train import ModelCfg, _registered

LossName = _registered("LOSSES")


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
    losses: list[LossName] = Field(default=["dice", "dice_all", "ce", "topk_ce"], min_length=1)
    n_patches: PositiveInt = 16  # per patch kind (fg_bg, bg_only)
    batch_size: PositiveInt = 1
    bn_mode: Literal["train", "eval"] = "train"  # batch norm as during training, or frozen
    seed: int = 0
    init: ProbeInit = ProbeInit()
    cells: list[str] = []  # along training: these cells' snapshots
    pixels: ProbePixels = ProbePixels()
    dynamics: ProbeDynamics = ProbeDynamics()
