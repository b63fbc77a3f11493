"""Collect the cells' results into the files DVC reads: ``metrics.json`` (headline
numbers per cell, for ``dvc metrics show/diff``: test-set metrics of the selected
weights), ``cells.csv`` (one row per cell: study membership, the values that define
it, metrics), ``per_image.csv`` (one row per cell and test case: the Dice the report's
paired tests use; NaN for an empty reference) and ``curves/<cell>.csv`` (per-epoch
history, for ``dvc plots show``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from segsweep.io import atomic_path, write_json

HEADLINE = ("status", "dice", "iou", "empty_correct", "selected_epoch")
DETAILS = ("selection", "val_dice", "final_val_dice", "best_val_epoch", "n_test_images", "n_test_scored",
           "n_test_empty", "n_test_constant", "n_val_images", "n_train_cases", "epochs_run", "steps_run")


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= _flatten(v, f"{key}.")
        else:
            out[key] = v if not isinstance(v, list) else json.dumps(v)
    return out


def summarize(metric_files: list[Path], studies: dict[str, list[str]], out: Path) -> pd.DataFrame:
    """Write the summary folder ``out`` (files atomically) and return the cells table."""
    out.mkdir(parents=True, exist_ok=True)
    rows, headline, per_image = [], {}, []
    for path in metric_files:
        m = json.loads(Path(path).read_text())
        cell = m["cell"]
        headline[cell] = {k: m.get(k) for k in HEADLINE}
        member = [s for s, ids in studies.items() if cell in ids]
        rows.append({"cell": cell, "studies": ";".join(member), **{k: m.get(k) for k in HEADLINE + DETAILS},
                     "seed": m["seed"], **_flatten(m["params"], "params.")})
        for case, dice in zip(m.get("test_cases", []), m.get("per_image_dice", [])):
            per_image.append({"cell": cell, "case": case, "dice": dice})
    table = pd.DataFrame(rows)
    write_json(out / "metrics.json", headline)
    with atomic_path(out / "cells.csv") as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(out / "per_image.csv") as tmp:
        pd.DataFrame(per_image, columns=["cell", "case", "dice"]).to_csv(tmp, index=False)
    (out / "curves").mkdir(exist_ok=True)
    for path in metric_files:
        with atomic_path(out / "curves" / f"{Path(path).parent.name}.csv") as tmp:
            shutil.copy(Path(path).parent / "history.csv", tmp)
    return table
