"""Stage ``prepare``: per-case intensity and size normalisation, no randomness.

2D (uint8 RGB or gray): CLAHE first (albumentations works on uint8; RGB through the L
channel of LAB), then resize or pad+centre-crop to a fixed size. Images stay uint8
here; scaling to [0, 1] happens when patches are written.
3D (float HU or any scanner unit): the dataset's ``normalization``: clip to the intensity
window and scale to [0, 1] (``window``, CT), per-case z-score (MRI) or min-max, or none.
CLAHE and resizing apply to 2D only.
"""

from __future__ import annotations

from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pandas as pd

from segsweep.config import Prepare
from segsweep.data.cases import MANIFEST, fg_stats, load_case, read_manifest, save_case
from segsweep.io import atomic_path


def build_2d_transform(cfg: Prepare) -> A.Compose | None:
    """The deterministic 2D pipeline for ``cfg``, or None when it does nothing."""
    steps: list[A.BasicTransform] = []
    if cfg.clahe.enabled:
        grid = (cfg.clahe.tile_grid, cfg.clahe.tile_grid)
        steps.append(A.CLAHE(clip_limit=(cfg.clahe.clip_limit, cfg.clahe.clip_limit), tile_grid_size=grid, p=1.0))
    h, w = cfg.resize.size
    if cfg.resize.mode == "resize":
        steps.append(A.Resize(h, w, interpolation=cv2.INTER_AREA, mask_interpolation=cv2.INTER_NEAREST))
    elif cfg.resize.mode == "pad":
        steps += [
            A.PadIfNeeded(h, w, border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0),
            A.CenterCrop(h, w),
        ]
    return A.Compose(steps) if steps else None


def window_3d(volume: np.ndarray, low: float, high: float) -> np.ndarray:
    """Clip ``volume`` to [low, high] and scale to [0, 1] (float32)."""
    return ((np.clip(volume, low, high) - low) / (high - low)).astype(np.float32)


def normalize_3d(volume: np.ndarray, method: str, low: float, high: float) -> np.ndarray:
    """A volume's intensities as float32 network inputs by ``method`` (a dataset's
    ``normalization``): ``window`` (clip to [low, high], scale to [0, 1]), ``zscore``
    and ``minmax`` over the case itself, or ``none``. A constant volume maps to zeros."""
    v = volume.astype(np.float64)
    if method == "window":
        return window_3d(volume, low, high)
    if method == "zscore":
        std = v.std()
        return ((v - v.mean()) / std if std > 0 else np.zeros_like(v)).astype(np.float32)
    if method == "minmax":
        span = v.max() - v.min()
        return ((v - v.min()) / span if span > 0 else np.zeros_like(v)).astype(np.float32)
    return volume.astype(np.float32)


def prepare(cfg: Prepare, src: Path, out: Path, normalization: str = "window") -> pd.DataFrame:
    """Normalise every case of the store ``src`` into the store ``out`` (atomic); 3D
    volumes by the dataset's ``normalization`` (``normalize_3d``)."""
    manifest = read_manifest(src)
    transform = build_2d_transform(cfg)
    rows = []
    with atomic_path(out) as tmp:
        for row in manifest.itertuples(index=False):
            image, mask = load_case(src, row.case)
            if row.ndim == 2:
                if transform is not None:
                    res = transform(image=image, mask=mask)
                    image, mask = res["image"], res["mask"]
                    if image.ndim == 2:  # cv2 drops a single channel axis
                        image = image[..., None]
            else:
                image = normalize_3d(image, normalization, cfg.window.low, cfg.window.high)
            save_case(tmp, row.case, image, mask)
            rows.append({**row._asdict(), "shape": "x".join(map(str, mask.shape)), **fg_stats(mask)})
        result = pd.DataFrame(rows)
        result.to_csv(tmp / MANIFEST, index=False)
    return result
