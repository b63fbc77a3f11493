"""Typed model of the ``report`` section. Only the report rules read it, so changing
any of these reruns the report (and the example figure), never training or probes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from segsweep.config.base import Section


class FigureStyle(Section):
    """Style of the report's own figures (curves, Dice vs train fraction, examples)."""

    dpi: Annotated[int, Field(ge=50, le=600)] = 150   # PNG resolution (PDFs are vector)
    font_size: Annotated[float, Field(ge=5, le=20)] = 9.0
    width: Annotated[float, Field(ge=3, le=20)] = 9.0    # inches, a two-panel figure


class Examples(Section):
    """Example segmentations (image, ground truth, prediction) of the best and worst
    cells by validation Dice, on the same validation images."""

    n_images: Annotated[int, Field(ge=0, le=12)] = 3    # 0: no example figure


class Report(Section):
    title: str = "segsweep study"
    decimals: Annotated[int, Field(ge=1, le=6)] = 3
    studies: list[str] = []       # studies to tabulate, in this order; []: every study
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05   # "n.s." when the Holm-adjusted p >= alpha
    # study -> a cell of the row every other row is compared with (default: baseline)
    reference: dict[str, str] = {}
    bootstrap: Annotated[int, Field(ge=100, le=1_000_000)] = 10_000   # resamples (hierarchical bootstrap)
    seed: int = 0                 # bootstrap resampling seed
    figure: FigureStyle = FigureStyle()
    examples: Examples = Examples()
