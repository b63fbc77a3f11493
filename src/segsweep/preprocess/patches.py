"""Stage ``patches``: one processed dataset per noise level, stored for fast streaming.

Output folder:
    ``images.npy``  (N, C, *patch) float32 in [0, 1] (memory-mappable, ``np.load(mmap_mode="r")``)
    ``masks.npy``   (N, *patch) uint8 in {0, 1}
    ``patches.parquet`` and ``patches.csv``: one row per patch: ``sample``, ``case`` (the
        source case: splits select by it), ``copy``, ``origin`` (``grid`` or ``fg_centred``),
        ``start_0..`` (corner), ``fg_fraction`` and ``kind`` (``fg_bg`` when the patch holds
        any foreground, else ``bg_only``).

Additive Gaussian noise of std ``sigma`` (on the [0, 1] scale, clipped) is drawn per
sample from (seed, sample id), so each noise level is reproducible on its own.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from segsweep.config import Patches
from segsweep.data.cases import load_case, read_manifest
from segsweep.errors import DataError
from segsweep.io import atomic_path, write_table


def grid_starts(length: int, size: int, stride: int) -> list[int]:
    """Window starts along one axis covering [0, length): every ``stride``, plus one
    window flush with the end when the stride does not land there."""
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] != length - size:
        starts.append(length - size)
    return starts


def patch_starts(
    mask: np.ndarray, size: tuple[int, ...], stride: tuple[int, ...], fg_oversample: float, rng: np.random.Generator
) -> list[tuple[tuple[int, ...], str]]:
    """Corners of the grid patches of ``mask`` plus foreground-centred ones.

    The foreground-centred patches make up ``fg_oversample`` of the total (none when
    the mask is empty); each is centred on a random foreground pixel, shifted inside
    the image.
    """
    axes = [grid_starts(n, p, s) for n, p, s in zip(mask.shape, size, stride)]
    starts = [
        (tuple(int(v) for v in corner), "grid")
        for corner in np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(size))
    ]
    fg = np.flatnonzero(mask)
    if fg_oversample > 0 and fg.size:
        n_fg = int(round(len(starts) * fg_oversample / (1 - fg_oversample)))
        centres = np.unravel_index(rng.choice(fg, size=n_fg), mask.shape)
        for c in zip(*centres):
            corner = tuple(int(min(max(ci - p // 2, 0), n - p)) for ci, p, n in zip(c, size, mask.shape))
            starts.append((corner, "fg_centred"))
    return starts


def to_channels_first(image: np.ndarray, ndim: int) -> np.ndarray:
    """(H, W, C) uint8 -> (C, H, W) float32 in [0, 1]; (D, H, W) float -> (1, D, H, W)."""
    if ndim == 2:
        return np.moveaxis(image, -1, 0).astype(np.float32) / 255.0
    return image[None].astype(np.float32)


def _noisy(image: np.ndarray, sigma: float, seed: int, sample: str) -> np.ndarray:
    if sigma == 0:
        return image
    rng = np.random.default_rng([seed, zlib.crc32(sample.encode()), 1])
    return np.clip(image + rng.normal(0.0, sigma, image.shape).astype(np.float32), 0.0, 1.0)


def extract_patches(cfg: Patches, sigma: float, src: Path, out: Path) -> pd.DataFrame:
    """Cut every sample of the store ``src`` into patches and write them to ``out`` (atomic).

    Raises:
        DataError: a sample is smaller than the patch, or samples differ in channels.
    """
    manifest = read_manifest(src)
    ndim = int(manifest["ndim"].iloc[0])
    size, stride = (cfg.size_2d, cfg.stride_2d) if ndim == 2 else (cfg.size_3d, cfg.stride_3d)
    key = f"preprocess.patches.size_{ndim}d"
    plan, channels = [], None
    for row in manifest.itertuples(index=False):
        image, mask = load_case(src, row.case)
        if any(p > n for p, n in zip(size, mask.shape)):
            raise DataError(
                f"{src}/cases/{row.case}.npz: sample shape {list(mask.shape)} is smaller than "
                f"{key} = {list(size)}; use a smaller patch or a larger crop/resize"
            )
        c = image.shape[-1] if ndim == 2 else 1
        if channels not in (None, c):
            raise DataError(
                f"{src}/cases/{row.case}.npz: has {c} channels, earlier samples {channels}; "
                "a dataset must be all RGB or all gray"
            )
        channels = c
        rng = np.random.default_rng([cfg.seed, zlib.crc32(row.case.encode())])
        plan.append((row, patch_starts(mask, tuple(size), tuple(stride), cfg.fg_oversample, rng)))

    total = sum(len(starts) for _, starts in plan)
    rows = []
    with atomic_path(out) as tmp:
        tmp.mkdir()
        images = np.lib.format.open_memmap(tmp / "images.npy", "w+", np.float32, (total, channels, *size))
        masks = np.lib.format.open_memmap(tmp / "masks.npy", "w+", np.uint8, (total, *size))
        i = 0
        for row, starts in plan:
            image, mask = load_case(src, row.case)
            image = _noisy(to_channels_first(image, ndim), sigma, cfg.seed, row.case)
            for corner, origin in starts:
                sl = tuple(slice(b, b + p) for b, p in zip(corner, size))
                images[i] = image[(slice(None), *sl)]
                masks[i] = mask[sl]
                frac = float(masks[i].mean())
                rows.append(
                    {
                        "patch": i,
                        "sample": row.case,
                        "case": row.source_case,
                        "copy": row.copy,
                        "origin": origin,
                        **{f"start_{a}": v for a, v in enumerate(corner)},
                        "fg_fraction": round(frac, 6),
                        "kind": "fg_bg" if frac > 0 else "bg_only",
                    }
                )
                i += 1
        images.flush()
        masks.flush()
        del images, masks
        table = pd.DataFrame(rows)
        write_table(table, tmp / "patches.parquet")
        write_table(table, tmp / "patches.csv")
    return table
