"""The .tex tables compile with pdflatex in a minimal article with only the packages the
README names (booktabs, graphicx) and fit the text width; the study tables at their
natural size, with no \\resizebox and real minus signs (skipped without pdflatex)."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from segsweep.report.render import to_latex
from segsweep.report.tables import study_table
from segsweep.report.verdicts import table_note

pytestmark = pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")

ARTICLE = r"""\documentclass{article}
\usepackage{booktabs}
\usepackage{graphicx}
\begin{document}
\input{table}
\end{document}
"""


def _wide_table() -> pd.DataFrame:
    rows, images = [], []
    for opt, mom, base in (("adam", 0.9, 0.9), ("sgd", 0.95, 0.85), ("rms_prop&x", 0.9, 0.8)):
        for seed in range(3):
            cell = f"opt-{opt}" + (f"__seed-{seed}" if seed else "")
            d = base + 0.01 * seed
            rows.append(
                {
                    "cell": cell,
                    "status": "ok",
                    "dice": d,
                    "iou": d - 0.1,
                    "empty_correct": 1.0,
                    "val_dice": d,
                    "selected_epoch": 9,
                    "selection": "last",
                    "steps_run": 100,
                    "n_test_images": 35,
                    "seed": seed,
                    "params.seed": seed,
                    "params.optimizer.name": opt,
                    "params.optimizer.momentum": mom,
                    "params.optimizer.lr_very_long_setting_name": 1e-3 * (1 + mom),
                }
            )
            images += [{"cell": cell, "case": f"c{i}", "dice": d + 0.01 * np.sin(i)} for i in range(10)]
    cells = pd.DataFrame(rows)
    return study_table(cells, cells["cell"].tolist(), pd.DataFrame(images), reference="opt-adam")


def test_tex_compiles_and_fits_the_text_width(tmp_path):
    table = _wide_table()
    (tmp_path / "table.tex").write_text(to_latex(table, "Study optimizer_x", 3, table_note(table, 0.05), "tab:opt"))
    (tmp_path / "paper.tex").write_text(ARTICLE)
    res = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (tmp_path / "paper.log").read_text(errors="replace")
    assert res.returncode == 0, res.stdout[-2000:]
    assert "Overfull \\hbox" not in log and "Missing character" not in log
    assert (tmp_path / "paper.pdf").exists()
    tex = (tmp_path / "table.tex").read_text()
    # issue 27: printed at its natural size (a \\resizebox shrank the text to 3 pt), and
    # minus signs that are minus signs, not hyphens
    assert "resizebox" not in tex and "scalebox" not in tex
    assert "$-$0.0" in tex and not re.search(r"(?<![a-z_\\])-\d", tex.split("\\midrule")[1])
