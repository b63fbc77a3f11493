"""The case store shared by the data and preprocessing stages.

A stage folder holds ``manifest.csv`` (one row per case) and ``cases/<case>.npz`` with
``image`` and ``mask``. 2D images are (H, W, C) uint8 or float32 in [0, 1]; 3D images
are (D, H, W) float32; masks are uint8 in {0, 1} with the image's spatial shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

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
