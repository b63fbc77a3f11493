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

    dataset: str | None = Field(None, description="Dataset whose training patches are probed; null: skip.")
    model: ModelCfg = ModelCfg(depth=3, base_filters=8)
    seeds: list[int] = Field(default=[0], min_length=1, description="One freshly initialised model per seed.")


class ProbePixels(Section):
    """Per-pixel gradients: controlled synthetic predictions, and validation images of
    ``cell`` at its snapshots (the cell must have ``train.snapshot_every`` > 0)."""

    cell: str | None = Field(None, description="Cell whose snapshots give the gradient heatmaps; null: none.")
    n_images: PositiveInt = Field(2, description="Validation images of the heatmaps.")
    size: Annotated[int, Field(ge=16, le=512)] = Field(64, description="Side of the synthetic disk image.")


class ProbeDynamics(Section):
    """Per-layer gradient/update norm plots per cell, and comparisons per study."""

    studies: list[str] = Field([], description="Studies whose rows are compared (e.g. optimizer, scheduler).")
    smooth: PositiveInt = Field(5, description="Rolling-mean window of the plotted norms, in steps.")


class Probe(Section):
    """Gradient probes (``results/probes/``): gradient norms per loss on foreground and
    background-only patches, per-pixel gradients, and gradient/update norms over training."""

    losses: list[LossCfg] = Field(
        default=[Dice(), DiceAll(), CE(), TopKCE()],
        min_length=1,
        description="Each a loss name (its default settings) or a mapping, as a grid's loss axis takes: the "
        "probe's losses are its own, not the training loss's settings. Each name once.",
    )
    n_patches: PositiveInt = Field(16, description="Patches per patch kind (fg_bg, bg_only).")
    batch_size: PositiveInt = Field(1, description="Patches per backward pass.")
    bn_mode: Literal["train", "eval"] = Field(
        "eval",
        description="Batch norm during the probe: eval uses the running statistics (what the model computes at "
        "inference; at initialisation mean 0, variance 1); train normalises by the probed batch's own statistics, "
        "which for a batch of one is not what training did and turns a patch that is constant in a channel into "
        "zeros (a warning says so).",
    )
    seed: int = Field(0, description="Seed of the patch draw.")
    init: ProbeInit = ProbeInit()
    cells: list[str] = Field([], description="Along training: these cells' snapshots are probed.")
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
