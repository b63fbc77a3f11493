"""The global-threshold reference equals a brute-force search and scores like the cells."""

from __future__ import annotations

import math

import numpy as np
import pytest

from segsweep.data.cases import load_case
from segsweep.reference import LEVELS, threshold_reference
from tests.train.conftest import tiny_data  # noqa: F401  (a fixture)


def _brute(prepared, cases):
    best = (-1.0, None, None)
    greys = []
    for c in cases:
        image, mask = load_case(prepared, c)
        greys.append((np.rint(image.astype(np.float64).mean(-1) / 255 * (LEVELS - 1)), mask.astype(bool)))
    for darker in (True, False):
        for level in range(LEVELS):
            dices = []
            for g, m in greys:
                if m.any():
                    pred = g <= level if darker else g > level
                    dices.append(2 * (pred & m).sum() / (pred.sum() + m.sum()))
            if np.mean(dices) > best[0] + 1e-12:
                best = (float(np.mean(dices)), level, darker)
    return best


def test_fit_equals_brute_force_and_test_scores_match(tiny_data):  # noqa: F811
    import json

    split = json.loads(tiny_data["split"].read_text())
    ref = threshold_reference(tiny_data["prepared"], split, ndim=2)
    train_dice, level, darker = _brute(tiny_data["prepared"], split["train"])
    assert ref["train_dice"] == pytest.approx(train_dice)
    assert ref["threshold"] == pytest.approx(level / (LEVELS - 1), abs=1e-6)
    assert ref["foreground"] == ("darker" if darker else "brighter")
    assert ref["test_cases"] == split["test"] and len(ref["per_image_dice"]) == len(split["test"])
    # test Dice: per image on non-empty references; empty ones are None and scored apart
    for case, d in zip(split["test"], ref["per_image_dice"]):
        image, mask = load_case(tiny_data["prepared"], case)
        if not mask.any():
            assert d is None
            continue
        g = np.rint(image.astype(np.float64).mean(-1) / 255 * (LEVELS - 1))
        pred = g <= level if darker else g > level
        assert d == pytest.approx(2 * (pred & mask.astype(bool)).sum() / (pred.sum() + mask.sum()))
    scored = [d for d in ref["per_image_dice"] if d is not None]
    assert ref["dice"] == pytest.approx(np.mean(scored)) and not math.isnan(ref["dice"])
