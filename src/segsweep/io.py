"""Atomic file and folder writes, and the per-case store shared by the data stages.

Every output appears whole or not at all: it is written under a temporary name in
the same folder and renamed into place (``os.replace`` is atomic on one filesystem).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Works for files and folders. On an exception the temporary is removed and an
    existing ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp / path.name
    try:
        yield target
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, obj: object) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as CSV (``.csv``) or parquet (``.parquet``) at ``path`` (not atomic:
    callers write inside a folder that is renamed into place)."""
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)


# --- The case store -------------------------------------------------------------------
# A stage folder holds ``manifest.csv`` (one row per case) and ``cases/<case>.npz`` with
# ``image`` and ``mask``. 2D images are (H, W, C) uint8 or float32 in [0, 1]; 3D images
# are (D, H, W) float32; masks are uint8 in {0, 1} with the image's spatial shape.

MANIFEST = "manifest.csv"


def save_case(folder: Path, case: str, image: np.ndarray, mask: np.ndarray) -> None:
    """Store one case (uncompressed: the stores are read back whole, speed beats size)."""
    (folder / "cases").mkdir(parents=True, exist_ok=True)
    np.savez(folder / "cases" / f"{case}.npz", image=image, mask=mask)


def load_case(folder: Path, case: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(image, mask)`` of ``case`` from a stage folder."""
    with np.load(Path(folder) / "cases" / f"{case}.npz") as z:
        return z["image"], z["mask"]


def read_manifest(folder: Path) -> pd.DataFrame:
    """Read a stage folder's manifest; the ``case`` column stays a string."""
    return pd.read_csv(Path(folder) / MANIFEST, dtype={"case": str})


def fg_stats(mask: np.ndarray) -> dict[str, object]:
    """Foreground fraction and flag of a binary mask, as manifest columns."""
    frac = float(mask.mean()) if mask.size else 0.0
    return {"fg_fraction": round(frac, 6), "has_fg": bool(mask.any())}
