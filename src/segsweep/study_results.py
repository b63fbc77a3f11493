"""Collect the cells' results into the files DVC reads: ``metrics.json`` (headline
numbers per cell: test-set metrics of the selected weights), ``cells.csv`` (one row per
cell: study membership, the values that define it, metrics), ``per_image.csv`` (one row
per cell and test case: the Dice the report's paired tests use; NaN for an empty
reference), ``curves/<cell>.csv`` (per-epoch history) and ``study_curves/<study>.csv``
(the histories of a study's cells in one long table with their row, one overlay per
study for ``dvc plots show``)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd

from segsweep.io import atomic_path, write_json

HEADLINE = ("status", "dice", "nsd", "iou", "empty_correct", "selected_epoch")
DETAILS = (
    "hd95",
    "nsd_tolerance_mm",
    "boundary_spacing",
    "selection",
    "val_dice",
    "final_val_dice",
    "best_val_epoch",
    "n_test_images",
    "n_test_scored",
    "n_test_empty",
    "n_test_constant",
    "n_val_images",
    "n_train_cases",
    "epochs_run",
    "steps_run",
)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= _flatten(v, f"{key}.")
        else:
            out[key] = v if not isinstance(v, list) else json.dumps(v)
    return out


def seed_groups(cells: pd.DataFrame, ids: list[str]) -> list[list[str]]:
    """Split ``ids`` (in order) into groups of cells whose ``params.*`` differ only by
    seed and split seed: the rows of a study. Groups in the order their first member
    appears in ``ids``."""
    sub = cells.set_index("cell").loc[ids]
    keys = [c for c in sub.columns if c.startswith("params.") and c not in ("params.seed", "params.split_seed")]
    order: dict[tuple, list[str]] = {}
    for cell, row in sub[keys].astype(str).iterrows():
        order.setdefault(tuple(row), []).append(cell)
    return list(order.values())


def study_curves(table: pd.DataFrame, histories: dict[str, pd.DataFrame], ids: list[str]) -> pd.DataFrame:
    """One long table of a study's per-epoch histories: ``row`` (the first cell id of its
    seed group, as in the report's tables) and ``cell`` beside each history row."""
    frames = [
        histories[c].assign(row=group[0], cell=c)
        for group in seed_groups(table, [i for i in ids if i in histories])
        for c in group
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["epoch", "row", "cell"])


def summarize(metric_files: list[Path], studies: dict[str, list[str]], out: Path) -> pd.DataFrame:
    """Write the summary folder ``out`` (files atomically) and return the cells table."""
    out.mkdir(parents=True, exist_ok=True)
    rows, headline, per_image, cell_dirs = [], {}, [], {}
    members = {s: set(ids) for s, ids in studies.items()}  # (a list test is O(cells) per cell)
    for path in metric_files:
        m = json.loads(Path(path).read_text())
        cell = m["cell"]
        cell_dirs[cell] = Path(path).parent
        headline[cell] = {k: m.get(k) for k in HEADLINE}
        member = [s for s, ids in members.items() if cell in ids]
        rows.append(
            {
                "cell": cell,
                "studies": ";".join(member),
                **{k: m.get(k) for k in HEADLINE + DETAILS},
                "seed": m["seed"],
                **_flatten(m["params"], "params."),
            }
        )
        cases = m.get("test_cases", [])
        nan = [math.nan] * len(cases)  # cells trained before boundary metrics existed
        for case, dice, nsd, hd95 in zip(
            cases, m.get("per_image_dice", []), m.get("per_image_nsd") or nan, m.get("per_image_hd95") or nan
        ):
            per_image.append({"cell": cell, "case": case, "dice": dice, "nsd": nsd, "hd95": hd95})
    table = pd.DataFrame(rows)
    write_json(out / "metrics.json", headline)
    with atomic_path(out / "cells.csv") as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(out / "per_image.csv") as tmp:
        pd.DataFrame(per_image, columns=["cell", "case", "dice", "nsd", "hd95"]).to_csv(tmp, index=False)
    (out / "curves").mkdir(exist_ok=True)
    histories = {}
    for cell, folder in cell_dirs.items():
        with atomic_path(out / "curves" / f"{folder.name}.csv") as tmp:
            shutil.copy(folder / "history.csv", tmp)
        histories[cell] = pd.read_csv(folder / "history.csv")
    if (out / "study_curves").exists():  # studies removed from params must not linger
        shutil.rmtree(out / "study_curves")
    (out / "study_curves").mkdir()
    for study, ids in studies.items():
        with atomic_path(out / "study_curves" / f"{study}.csv") as tmp:
            study_curves(table, histories, ids).to_csv(tmp, index=False)
    return table
