"""Typed model of the ``report`` section. Only the report rules read it, so changing
any of these reruns the report (and the example figure), never training or probes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from segsweep.config.base import Section


class FigureStyle(Section):
    """Style of the report's own figures (curves, Dice vs train fraction, examples).
    Widths are fixed by the figure's kind: 7 in (two columns) or 3.5 in (one column), so
    the text keeps its size in print (``segsweep.figures``)."""

    dpi: Annotated[int, Field(ge=50, le=300)] = 150  # PNG resolution (PDFs are vector)
    font_size: Annotated[float, Field(ge=7, le=12)] = 8.0  # points at print size; journals ask for >= 7


class Examples(Section):
    """Example segmentations (image, ground truth, prediction) of the best and worst
    cells by test Dice, on the same test images."""

    n_images: Annotated[int, Field(ge=0, le=12)] = 3  # 0: no example figure


class Convergence(Section):
    """When a row counts as still improving at the end of its budget: its mean
    validation Dice gained more than ``tolerance`` over the last ``window`` of its steps
    (least-squares line; ``segsweep.report.convergence``)."""

    window: Annotated[float, Field(gt=0, le=1)] = 0.3  # fraction of the steps, at the end
    tolerance: Annotated[float, Field(ge=0, le=1)] = 0.01  # Dice


class Report(Section):
    title: str = "segsweep study"
    decimals: Annotated[int, Field(ge=1, le=6)] = 3
    studies: list[str] = []  # studies to tabulate, in this order; []: every study
    # family-wise level: Holm over every comparison on the page (differences; equivalence)
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    # TOST margin in Dice: a row is "equivalent" when its difference lies within +-margin
    equivalence_margin: Annotated[float, Field(gt=0, lt=1)] = 0.01
    # study -> a cell of the row every other row is compared with (default: baseline)
    reference: dict[str, str] = {}
    # rows per study in the page, Markdown/LaTeX tables, curves and DVC metrics: the
    # reference and the best by validation Dice; every row is in tables/<study>.csv
    max_rows: Annotated[int, Field(ge=2, le=1000)] = 25
    convergence: Convergence = Convergence()
    figure: FigureStyle = FigureStyle()
    examples: Examples = Examples()
