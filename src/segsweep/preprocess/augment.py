"""Stage ``augment``: ``copies`` seeded random rotations and crops of every case.

2D uses albumentations (rotation with constant zero fill, nearest-neighbour masks;
random crop padded when the image is smaller). 3D uses scipy: an in-plane rotation
of every axial slice (linear for the image, nearest for the label) and a random crop.
The draw for (case, copy) depends only on the seed, the case id and the copy index,
so adding a case never changes the others.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pandas as pd
from scipy import ndimage

from segsweep.config import Augment
from segsweep.data.cases import MANIFEST, fg_stats, load_case, read_manifest, save_case
from segsweep.io import atomic_path


def draw_seed(seed: int, case: str, copy: int) -> int:
    """A 32-bit seed for one (case, copy) draw, stable across runs and platforms."""
    return int(np.random.SeedSequence([seed, zlib.crc32(case.encode()), copy]).generate_state(1)[0])


def build_2d_transform(cfg: Augment) -> A.Compose:
    steps: list[A.BasicTransform] = [
        A.Rotate(
            limit=cfg.rotate_limit,
            p=cfg.rotate_p,
            interpolation=cv2.INTER_LINEAR,
            mask_interpolation=cv2.INTER_NEAREST,
            border_mode=cv2.BORDER_CONSTANT,
            fill=0,
            fill_mask=0,
        ),
    ]
    if cfg.crop_2d is not None:
        steps.append(
            A.RandomCrop(*cfg.crop_2d, pad_if_needed=True, border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0)
        )
    return A.Compose(steps, seed=cfg.seed)


def random_crop(
    arrays: list[np.ndarray], size: tuple[int, ...], rng: np.random.Generator, centre: np.ndarray | None = None
) -> list[np.ndarray]:
    """Crop the leading ``len(size)`` axes of every array at one random position (or
    around ``centre``, clamped inside), zero-padding (symmetrically) any axis shorter
    than ``size`` first."""
    shape = arrays[0].shape[: len(size)]
    pad = [max(s - n, 0) for s, n in zip(size, shape)]
    if any(pad):
        arrays = [np.pad(a, [(p // 2, p - p // 2) for p in pad] + [(0, 0)] * (a.ndim - len(size))) for a in arrays]
        shape = arrays[0].shape[: len(size)]
    if centre is None:
        start = [int(rng.integers(0, n - s + 1)) for s, n in zip(size, shape)]
    else:
        start = [int(np.clip(c + p // 2 - s // 2, 0, n - s)) for c, p, s, n in zip(centre, pad, size, shape)]
    sl = tuple(slice(b, b + s) for b, s in zip(start, size))
    return [a[sl] for a in arrays]


def augment_3d(image: np.ndarray, mask: np.ndarray, cfg: Augment, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rotate (D, H, W) arrays in the H-W plane and crop them; with probability
    ``fg_crop_3d`` the crop is centred on a random foreground voxel (a random crop of a
    volume with a 0.01 % lesion almost never holds it)."""
    rng = np.random.default_rng(seed)
    if rng.random() < cfg.rotate_p and cfg.rotate_limit > 0:
        angle = rng.uniform(-cfg.rotate_limit, cfg.rotate_limit)
        image = ndimage.rotate(image, angle, axes=(1, 2), reshape=False, order=1, mode="constant", cval=0.0)
        mask = ndimage.rotate(mask, angle, axes=(1, 2), reshape=False, order=0, mode="constant", cval=0)
    if cfg.crop_3d is not None:
        centre = None
        if cfg.fg_crop_3d > 0 and rng.random() < cfg.fg_crop_3d and mask.any():  # no draw when off
            fg = np.argwhere(mask)
            centre = fg[int(rng.integers(len(fg)))]
        image, mask = random_crop([image, mask], tuple(cfg.crop_3d), rng, centre)
    return np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(mask)


def augment(cfg: Augment, src: Path, out: Path) -> pd.DataFrame:
    """Write ``copies`` augmented samples of every case of ``src`` into the store ``out``.

    Sample ids are ``<case>_a<k>``; the manifest keeps ``source_case`` for leak-free splits.
    """
    manifest = read_manifest(src)
    transform = build_2d_transform(cfg)
    rows = []
    with atomic_path(out) as tmp:
        for row in manifest.itertuples(index=False):
            image, mask = load_case(src, row.case)
            for k in range(cfg.copies):
                seed = draw_seed(cfg.seed, row.case, k)
                if row.ndim == 2:
                    transform.set_random_seed(seed)
                    res = transform(image=image, mask=mask)
                    aug_img, aug_mask = res["image"], res["mask"]
                    if aug_img.ndim == 2:
                        aug_img = aug_img[..., None]
                else:
                    aug_img, aug_mask = augment_3d(image, mask, cfg, seed)
                sample = f"{row.case}_a{k}"
                save_case(tmp, sample, aug_img, aug_mask)
                rows.append(
                    {
                        "case": sample,
                        "source_case": row.case,
                        "copy": k,
                        "ndim": row.ndim,
                        "shape": "x".join(map(str, aug_mask.shape)),
                        **fg_stats(aug_mask),
                    }
                )
        result = pd.DataFrame(rows)
        result.to_csv(tmp / MANIFEST, index=False)
    return result
