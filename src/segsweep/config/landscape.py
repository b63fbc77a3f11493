"""Typed model of the ``landscape`` section: loss surfaces around trained cells."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveInt

from segsweep.config.base import Section


class Landscape(Section):
    """Filter-normalised random directions (Li et al. 2018) around each cell's best
    weights: a 1D line, a 2D plane, and the interpolation initialisation -> trained."""

    cells: list[str] = Field([], description="Cells whose landscapes are computed and compared.")
    kinds: list[Literal["line", "plane", "interpolation"]] = Field(
        ["line", "plane", "interpolation"], description="Which landscapes to compute."
    )
    resolution: Annotated[int, Field(ge=3, le=201)] = Field(11, description="Points per axis.")
    span: Annotated[float, Field(gt=0)] = Field(1.0, description="Line and plane coordinates in [-span, span].")
    normalization: Literal["filter", "layer", "none"] = Field(
        "filter", description="How the random directions are scaled to the weights: per filter, per layer, or not."
    )
    ignore_bias_bn: bool = Field(True, description="Zero the directions of biases and batch-norm parameters.")
    interpolate_buffers: bool = Field(True, description="Interpolation: blend the batch-norm running statistics too.")
    n_batches: PositiveInt = Field(2, description="Evaluation batches of training patches.")
    batch_size: PositiveInt = Field(16, description="Patches per evaluation batch.")
    chunk: PositiveInt = Field(8, description="Parameter sets per batched forward (bounds the memory).")
    evaluation: Literal["auto", "fast", "loop", "batched"] = Field(
        "auto",
        description="auto: vmap-batched on CUDA, the fused fast path on the CPU (the fastest there: "
        "benchmarks/landscape_speed.py); loop (the plain reference), batched and fast give the same numbers within "
        "float rounding (tests).",
    )
    seed: int = Field(0, description="Seed of the random directions.")
