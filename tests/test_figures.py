"""Figures: PNG + PDF, the same bytes for the same figure (no dates embedded)."""

from __future__ import annotations

import time

from segsweep.figures import plt, save


def test_same_figure_same_bytes(tmp_path):
    def draw(stem):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 4])
        ax.set_title("same")
        return save(fig, tmp_path / stem)

    a = draw("a")
    time.sleep(1.1)  # a PDF creation date would differ by now
    b = draw("b")
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes(), x.suffix
