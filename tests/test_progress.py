"""Progress bars: drawn on a terminal, nothing in a job's log or a pipe."""

from __future__ import annotations

import io
import sys

from segsweep.progress import progress
from segsweep.report.tables import study_table


class Terminal(io.StringIO):
    """Standard error as an interactive terminal."""

    def isatty(self) -> bool:
        return True


def test_a_bar_on_a_terminal_and_nothing_elsewhere(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert list(progress(range(3), desc="steps")) == [0, 1, 2]
    assert sys.stderr.getvalue() == ""
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert list(progress(range(3), desc="steps")) == [0, 1, 2]
    assert "steps" in sys.stderr.getvalue() and "/3" in sys.stderr.getvalue()


def test_the_report_shows_its_rows_on_a_terminal(monkeypatch):
    import pandas as pd

    cells = pd.DataFrame(
        [
            {"cell": c, "status": "ok", "dice": d, "val_dice": d, "seed": 0, "params.seed": 0, "params.x": c}
            for c, d in (("a", 0.5), ("b", 0.6))
        ]
    )
    monkeypatch.setattr(sys, "stderr", Terminal())
    study_table(cells, ["a", "b"], reference="a")
    assert "report rows" in sys.stderr.getvalue()
