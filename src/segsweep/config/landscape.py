"""Typed model of the ``landscape`` section: loss surfaces around trained cells."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveInt

from segsweep.config.base import Section


class Landscape(Section):
    """Filter-normalised random directions (Li et al. 2018) around each cell's best
    weights: a 1D line, a 2D plane, and the interpolation initialisation -> trained."""

    cells: list[str] = []
    kinds: list[Literal["line", "plane", "interpolation"]] = ["line", "plane", "interpolation"]
    resolution: Annotated[int, Field(ge=3, le=201)] = 11  # points per axis
    span: Annotated[float, Field(gt=0)] = 1.0  # coordinates in [-span, span]
    normalization: Literal["filter", "layer", "none"] = "filter"
    ignore_bias_bn: bool = True  # zero the directions of biases and BN parameters
    interpolate_buffers: bool = True  # interpolation: blend BN running statistics too
    n_batches: PositiveInt = 2  # evaluation batches of training patches
    batch_size: PositiveInt = 16
    chunk: PositiveInt = 8  # parameter sets per batched forward (memory bound)
    # auto: vmap-batched on CUDA, the fused fast path on CPU (measured fastest there:
    # benchmarks/landscape_speed.py); loop (the plain reference), batched and fast give
    # the same numbers within float rounding (tests).
    evaluation: Literal["auto", "fast", "loop", "batched"] = "auto"
    seed: int = 0
