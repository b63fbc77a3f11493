"""Text spans of a PDF figure that overlap each other, read back with PyMuPDF (issue 27):
what a reader of the printed figure sees, whatever drew it."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path


def colliding_spans(pdf: Path, tolerance: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of text spans on the first page of ``pdf`` whose boxes overlap by more than
    ``tolerance`` points both ways (horizontal and vertical text: their boxes are their
    outlines)."""
    import pymupdf

    page = pymupdf.open(pdf)[0]
    spans = []
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            upright = round(abs(line["dir"][0]), 3) in (0.0, 1.0)
            for span in line["spans"]:
                if span["text"].strip() and upright:
                    spans.append((pymupdf.Rect(span["bbox"]), span["text"]))
    out = []
    for (a, ta), (b, tb) in combinations(spans, 2):
        both = a & b
        if not both.is_empty and both.width > tolerance and both.height > tolerance:
            out.append((ta, tb))
    return out
