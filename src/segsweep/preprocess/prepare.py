"""Stage ``prepare``: per-case intensity and size normalisation, no randomness.

2D (uint8 RGB or gray): CLAHE first (albumentations works on uint8; RGB through the L
channel of LAB), then resize or pad+centre-crop to a fixed size. Images stay uint8
here; scaling to [0, 1] happens when patches are written.
3D (float HU or any scanner unit): the dataset's ``normalization``: clip to the intensity
window and scale to [0, 1] (``window``, CT), per-case z-score (MRI) or min-max, none, or
``ct`` (clip to foreground percentiles and z-score with foreground statistics of the
dataset's non-test cases, nnU-Net's CT scheme; written to ``ct_statistics.json``);
then resampling to the dataset's ``target_spacing`` (``segsweep.preprocess.resample``).
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
from segsweep.data.spacing import target_spacing
from segsweep.errors import ConfigError, DataError
from segsweep.io import atomic_path, write_json
from segsweep.preprocess.resample import resample_case
from segsweep.splits import test_cases


def _spacing(text: object) -> tuple[float, ...]:
    """A manifest's ``spacing`` cell, ``2.5x1.5x1.5``, as (D, H, W) floats."""
    return tuple(float(v) for v in str(text).split("x"))


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


CT_SAMPLES = 10_000  # foreground voxels drawn per case for the CT statistics (nnU-Net's number)


def ct_statistics(src: Path, cases: list[str], seed: int = 0) -> dict:
    """Foreground intensity statistics of ``cases`` of the store ``src`` (nnU-Net's CT
    fingerprint): up to ``CT_SAMPLES`` foreground voxels per case, drawn with a seeded
    generator, give the 0.5 and 99.5 percentiles, the mean and the standard deviation.

    Raises:
        DataError: no foreground voxel in any of ``cases``.
    """
    samples = []
    for i, case in enumerate(cases):
        image, mask = load_case(src, case)
        values = image[mask.astype(bool)]
        if values.size > CT_SAMPLES:
            values = np.random.default_rng([seed, i]).choice(values, CT_SAMPLES, replace=False)
        samples.append(values.astype(np.float64))
    values = np.concatenate(samples) if samples else np.zeros(0)
    if values.size == 0:
        raise DataError(f"{src}: normalization ct needs foreground voxels in the non-test cases; none has any")
    low, high = np.percentile(values, [0.5, 99.5])
    return {
        "low": float(low),
        "high": float(high),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "cases": len(cases),
        "voxels": int(values.size),
    }


def normalize_ct(volume: np.ndarray, stats: dict) -> np.ndarray:
    """Clip ``volume`` to the statistics' [low, high] and z-score with their mean and std."""
    clipped = np.clip(volume.astype(np.float64), stats["low"], stats["high"])
    return ((clipped - stats["mean"]) / max(stats["std"], 1e-8)).astype(np.float32)


def _prepare_2d(transform, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if transform is not None:
        res = transform(image=image, mask=mask)
        image, mask = res["image"], res["mask"]
        if image.ndim == 2:  # cv2 drops a single channel axis
            image = image[..., None]
    return image, mask


def prepare(
    cfg: Prepare,
    src: Path,
    out: Path,
    normalization: str = "window",
    spacing: object = None,
    protocol: dict | None = None,
) -> pd.DataFrame:
    """Normalise every case of the store ``src`` into the store ``out`` (atomic); 3D
    volumes by the dataset's ``normalization`` (``normalize_3d``; ``ct``: statistics of
    the cases outside the test set that ``protocol``, the splits' test_fraction and
    test_seed, fixes), then resampled to its target ``spacing`` setting (``"median"``,
    ``[d, h, w]`` or None)."""
    manifest = read_manifest(src)
    stats = None
    if normalization == "ct":
        if protocol is None:
            raise ConfigError("normalization ct needs the splits' test_fraction and test_seed (--protocol)")
        held_out = set(test_cases(manifest, protocol["test_fraction"], protocol["test_seed"]))
        stats = ct_statistics(src, [c for c in manifest["case"] if c not in held_out])
    transform = build_2d_transform(cfg)
    spacings = {row.case: _spacing(row.spacing) for row in manifest.itertuples() if row.ndim == 3}
    target = target_spacing(np.array(list(spacings.values())), spacing) if spacings else None
    rows = []
    with atomic_path(out) as tmp:
        for row in manifest.itertuples(index=False):
            image, mask = load_case(src, row.case)
            done = {**row._asdict()}
            if row.ndim == 2:
                image, mask = _prepare_2d(transform, image, mask)
                save_case(tmp, row.case, image, mask)
            else:
                image = (
                    normalize_ct(image, stats)
                    if stats
                    else normalize_3d(image, normalization, cfg.window.low, cfg.window.high)
                )
                original = mask
                if target is not None:
                    image, mask = resample_case(image, mask, spacings[row.case], target)
                resampled = mask is not original
                if resampled:
                    done |= {"spacing": "x".join(f"{t:g}" for t in target), "original_spacing": row.spacing}
                save_case(tmp, row.case, image, mask, original if resampled else None)
            rows.append({**done, "shape": "x".join(map(str, mask.shape)), **fg_stats(mask)})
        result = pd.DataFrame(rows)
        result.to_csv(tmp / MANIFEST, index=False)
        if stats is not None:
            write_json(tmp / "ct_statistics.json", stats)
    return result
