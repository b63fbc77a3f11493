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

    dpi: Annotated[int, Field(ge=50, le=300)] = Field(150, description="PNG resolution (PDFs are vector).")
    font_size: Annotated[float, Field(ge=7, le=12)] = Field(
        8.0, description="Every text's size in points at print size; journals ask for >= 7."
    )


class Examples(Section):
    """Example segmentations (image, ground truth, prediction) of the best and worst
    cells by test Dice, on the same test images."""

    n_images: Annotated[int, Field(ge=0, le=12)] = Field(3, description="Test images shown; 0: no example figure.")


class Convergence(Section):
    """When a row counts as still improving at the end of its budget: its mean
    validation Dice gained more than ``tolerance`` over the last ``window`` of its steps
    (least-squares line; ``segsweep.report.convergence``)."""

    window: Annotated[float, Field(gt=0, le=1)] = Field(0.3, description="Fraction of the steps, at the end.")
    tolerance: Annotated[float, Field(ge=0, le=1)] = Field(
        0.01, description="Validation Dice gain over the window above which a row is marked † (still improving)."
    )


class Report(Section):
    """The report (``results/report/``): tables, figures, statistics, provenance."""

    title: str = Field("segsweep study", description="Title of the page.")
    decimals: Annotated[int, Field(ge=1, le=6)] = Field(3, description="Decimals of the metrics in the tables.")
    studies: list[str] = Field([], description="Studies to tabulate, in this order; []: every study.")
    alpha: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.05,
        description="Family-wise level: Holm over every comparison on the page (differences; equivalence).",
    )
    equivalence_margin: Annotated[float, Field(gt=0, lt=1)] = Field(
        0.01, description="TOST margin in Dice: a row is equivalent when its difference lies within ±margin."
    )
    reference: dict[str, str] = Field(
        {}, description="Study -> a cell of the row every other row is compared with (default: baseline)."
    )
    max_rows: Annotated[int, Field(ge=2, le=1000)] = Field(
        25,
        description="Rows per study in the page, Markdown/LaTeX tables, curves and DVC metrics: the reference and "
        "the best by validation Dice; every row is in tables/<study>.csv.",
    )
    convergence: Convergence = Convergence()
    figure: FigureStyle = FigureStyle()
    examples: Examples = Examples()
