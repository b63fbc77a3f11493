"""The report's dataset summary: what the numbers were computed on.

One row per dataset split the cells used (dataset, train fraction, split seed): case
counts of train / validation / test, how many of each have an empty reference mask, the
foreground fraction of the non-empty cases, and the image shapes and voxel spacings,
read from the ingest manifest (``data/interim/datasets.csv``) and the split files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

PARTS = ("train", "val", "test")


def _values(series: pd.Series, most: int = 3) -> str:
    """Distinct values, most frequent first: ``1x1`` or ``128x128, 96x96 (+2 more)``."""
    counts = series.astype(str).value_counts()
    shown = ", ".join(counts.index[:most])
    return shown + (f" (+{len(counts) - most} more)" if len(counts) > most else "")


def _fraction(fg: pd.Series) -> str:
    fg = fg[fg > 0]
    if fg.empty:
        return "–"
    return f"{fg.median():.3f} [{fg.min():.3f}–{fg.max():.3f}]"


def dataset_summary(manifest: Path, splits: list[Path]) -> pd.DataFrame:
    """Summarise each split in ``splits`` against the ingest ``manifest``.

    Args:
        manifest: ``datasets.csv`` from ingest (columns dataset, case, shape, spacing,
            fg_fraction, has_fg).
        splits: split JSON files (``data/splits/<dataset>/train<f>_seed<s>.json``).

    Returns:
        One row per split: dataset, train fraction, split seed, cases per part, empty
        cases per part, foreground fraction (median [min–max] over non-empty cases of
        the split), shapes and spacings.
    """
    cases = pd.read_csv(manifest).set_index("case")
    rows = []
    for path in sorted(splits):
        split = json.loads(Path(path).read_text())
        dataset = Path(path).parent.name
        ds = cases[cases["dataset"] == dataset]
        used = [c for part in PARTS for c in split[part]]
        missing = sorted(set(used) - set(ds.index))
        if missing:
            raise ValueError(f"{path}: case {missing[0]} is not in {manifest} (dataset {dataset})")
        row = {"dataset": dataset, "train_fraction": split["train_fraction"], "split_seed": split["seed"]}
        for part in PARTS:
            row[f"n_{part}"] = len(split[part])
        for part in PARTS:
            row[f"empty_{part}"] = int((~ds.loc[split[part], "has_fg"].astype(bool)).sum())
        sub = ds.loc[used]
        row.update(
            {
                "foreground_fraction": _fraction(sub["fg_fraction"].astype(float)),
                "shape": _values(sub["shape"]),
                "spacing": _values(sub["spacing"]),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


LABELS = {
    "dataset": "dataset",
    "train_fraction": "train fraction",
    "split_seed": "split seed",
    "n_train": "train",
    "n_val": "validation",
    "n_test": "test",
    "empty_train": "empty train",
    "empty_val": "empty validation",
    "empty_test": "empty test",
    "foreground_fraction": "foreground fraction, median [range]",
    "shape": "shape",
    "spacing": "spacing",
}
