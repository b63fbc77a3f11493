"""The case store shared by the data and preprocessing stages.

A stage folder holds ``manifest.csv`` (one row per case) and ``cases/<case>.npz`` with
``image`` and ``mask``. 2D images are (H, W, C) uint8 or float32 in [0, 1]; 3D images
are (D, H, W) float32; masks are uint8 in {0, 1} with the image's spatial shape. A
case resampled to another spacing also keeps its mask on the original grid
(``original_mask``; its spacing in the manifest's ``original_spacing``), so test Dice
can be counted where the reference was drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MANIFEST = "manifest.csv"


def save_case(
    folder: Path, case: str, image: np.ndarray, mask: np.ndarray, original_mask: np.ndarray | None = None
) -> None:
    """Store one case (uncompressed: the stores are read back whole, speed beats size)."""
    (folder / "cases").mkdir(parents=True, exist_ok=True)
    extra = {} if original_mask is None else {"original_mask": original_mask}
    np.savez(folder / "cases" / f"{case}.npz", image=image, mask=mask, **extra)


def load_case(folder: Path, case: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(image, mask)`` of ``case`` from a stage folder."""
    with np.load(Path(folder) / "cases" / f"{case}.npz") as z:
        return z["image"], z["mask"]


def load_original_mask(folder: Path, case: str) -> np.ndarray | None:
    """The mask of ``case`` on its original grid when the stage resampled it, else None."""
    with np.load(Path(folder) / "cases" / f"{case}.npz") as z:
        return z["original_mask"] if "original_mask" in z.files else None


def read_manifest(folder: Path) -> pd.DataFrame:
    """Read a stage folder's manifest; the ``case`` column stays a string."""
    return pd.read_csv(Path(folder) / MANIFEST, dtype={"case": str})


def fg_stats(mask: np.ndarray) -> dict[str, object]:
    """Foreground fraction and flag of a binary mask, as manifest columns."""
    frac = float(mask.mean()) if mask.size else 0.0
    return {"fg_fraction": round(frac, 6), "has_fg": bool(mask.any())}
