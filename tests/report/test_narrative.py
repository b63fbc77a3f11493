"""The generated "Data" and "Limitations" paragraphs (issue 27, item 5)."""

from __future__ import annotations

import json

import pandas as pd

from segsweep.report.narrative import data_paragraph, limitations_paragraph
from segsweep.study import load_params
from tests.conftest import REPO


def test_data_says_how_each_used_dataset_was_made_and_prepared():
    params = json.loads(load_params(REPO / "params.yaml").model_dump_json())
    summary = pd.DataFrame([{"dataset": "lesion2d", "n_test": 35, "empty_test": 3}])
    text = data_paragraph(params, ["lesion2d", "organ3d"], summary)
    assert text.startswith("Data. lesion2d: 100 synthetic 2D lesion images of 128×128 px (generator seed 0")
    assert "CLAHE (clip limit 2.0), 64×64 patches" in text and "35 test cases (3 without foreground)" in text
    assert "organ3d: 6 synthetic 3D CT volumes of 48×64×64 voxels at 2.5×1.5×1.5 mm" in text
    assert "resampled to the median spacing, intensities normalised by window" in text
    assert data_paragraph(params, [], None) == ""


def test_limitations_are_stated_from_the_tables_own_counts():
    table = pd.DataFrame(
        {
            "test": ["reference", "paired", "paired", "threshold"],
            "n_seeds": [6, 6, 6, 0],
            "n_test_images": [35, 35, 35, 35],
            "steps": [100.0, 100.0, 100.0, float("nan")],
            "converged": [False, True, False, None],
            "n_diverged": [0, 1, 0, 0],
            "n_collapsed": [0, 0, 2, 0],
            "verdict": ["", "worse", "inconclusive", "not compared"],
        }
    )
    text = limitations_paragraph({"s": table}, 1)
    assert "Each row rests on 6 training seed(s) and 35 test images from 1 dataset;" in text
    assert "fixed budget of 100 optimizer steps, and 2 of 3 rows were still improving" in text
    assert "3 seed(s) diverged or collapsed" in text and "1 comparison(s) are inconclusive" in text
    assert limitations_paragraph({}, 1) == ""
