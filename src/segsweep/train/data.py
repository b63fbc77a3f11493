"""Training, validation and test data of one cell.

Training: the patches (``images.npy``/``masks.npy``, memory-mapped) whose source case
is in the split's training set, in batches from ``epoch_batches``. Validation and
test: the whole prepared (un-augmented, noise-free) images of those cases, zero-padded
so every side is divisible by the U-Net's 2**depth; metrics are computed on the
original extent only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from segsweep.data.cases import load_case, load_original_mask, read_manifest
from segsweep.errors import DataError
from segsweep.preprocess.patches import to_channels_first


@dataclass
class TrainPatches:
    images: np.ndarray  # (N, C, *patch) float32, memory-mapped
    masks: np.ndarray  # (N, *patch) uint8
    index: np.ndarray  # rows of the training patches

    def batch(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, *patch) float32 and (B, 1, *patch) uint8 for the given patch rows."""
        order = np.sort(self.index[rows])  # sorted reads are sequential on a memmap
        x = torch.from_numpy(np.ascontiguousarray(self.images[order]))
        y = torch.from_numpy(np.ascontiguousarray(self.masks[order]))[:, None]
        return x, y

    def inputs(self, rows: np.ndarray) -> torch.Tensor:
        return self.batch(rows)[0]


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, steps_per_epoch: int | None) -> list[np.ndarray]:
    """Positions (into the training patches, ``0..n-1``) of each batch of ``epoch``.

    ``steps_per_epoch`` None: one pass over the ``n`` patches in a seeded order. Set:
    exactly that many batches, cut from an endless stream of seeded passes, so the
    number of optimizer steps does not depend on ``n`` (the train fraction) or the
    batch size. Either way the order depends only on (seed, epoch): a resumed job
    draws the same batches.
    """
    if steps_per_epoch is None:
        order = np.random.default_rng([seed, epoch, 7]).permutation(n)
        return [order[b : b + batch_size] for b in range(0, n, batch_size)]
    start, stop = epoch * steps_per_epoch * batch_size, (epoch + 1) * steps_per_epoch * batch_size
    passes = range(start // n, (stop - 1) // n + 1)
    stream = np.concatenate([np.random.default_rng([seed, k, 7]).permutation(n) for k in passes])
    offset = start - passes[0] * n
    return [stream[offset + i * batch_size : offset + (i + 1) * batch_size] for i in range(steps_per_epoch)]


def bn_batches(data: TrainPatches, n_batches: int, batch_size: int, seed: int) -> list[torch.Tensor]:
    """A fixed sample of training inputs for the batch-norm re-estimation: the same
    patches at every evaluation of a cell."""
    n = len(data.index)
    pick = np.random.default_rng([seed, 11]).choice(n, size=min(n, n_batches * batch_size), replace=False)
    return [data.inputs(pick[b : b + batch_size]) for b in range(0, len(pick), batch_size)]


@dataclass
class EvalImage:
    case: str
    image: torch.Tensor  # (1, C, *padded)
    mask: torch.Tensor  # (1, 1, *padded) uint8
    extent: tuple[int, ...]  # spatial shape before padding
    # a case resampled by prepare: its mask (1, 1, *original) uint8 on the original
    # grid and that grid's spacing, where test Dice is counted
    original: torch.Tensor | None = None
    original_spacing: tuple[float, ...] | None = None
    # the spacing (mm per axis) of the grid Dice is scored on, for boundary metrics;
    # None for 2D images, which have none (a pixel counts as 1 mm)
    spacing: tuple[float, ...] | None = None


def read_split(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def load_train_patches(patches_dir: Path, train_cases: list[str]) -> TrainPatches:
    table = pd.read_parquet(Path(patches_dir) / "patches.parquet")
    rows = np.flatnonzero(table["case"].astype(str).isin(set(train_cases)).to_numpy())
    if rows.size == 0:
        raise DataError(f"{patches_dir}: no patch belongs to the training cases of this split")
    images = np.load(Path(patches_dir) / "images.npy", mmap_mode="r")
    masks = np.load(Path(patches_dir) / "masks.npy", mmap_mode="r")
    return TrainPatches(images, masks, rows)


def pad_to_multiple(arr: np.ndarray, factor: int, spatial: int) -> np.ndarray:
    """Zero-pad the last ``spatial`` axes of ``arr`` at the end up to multiples of ``factor``."""
    pad = [(0, 0)] * (arr.ndim - spatial) + [(0, (-s) % factor) for s in arr.shape[-spatial:]]
    return np.pad(arr, pad)


def load_eval_images(prepared_dir: Path, cases: list[str], ndim: int, factor: int) -> list[EvalImage]:
    """Whole prepared images of ``cases`` (validation or test), padded for the U-Net;
    with their original-grid masks where prepare resampled them, and (3D) the spacing
    of the grid they are scored on."""
    out = []
    manifest = read_manifest(Path(prepared_dir)).set_index("case") if ndim == 3 else None
    for case in cases:
        image, mask = load_case(Path(prepared_dir), case)
        x = pad_to_multiple(to_channels_first(image, ndim), factor, ndim)
        y = pad_to_multiple(mask, factor, ndim)
        item = EvalImage(case, torch.from_numpy(x)[None], torch.from_numpy(y)[None, None], mask.shape)
        original = load_original_mask(Path(prepared_dir), case)
        if original is not None:
            item.original = torch.from_numpy(original)[None, None]
            item.original_spacing = _spacing(manifest.loc[case, "original_spacing"])
        if manifest is not None:
            item.spacing = item.original_spacing or _spacing(manifest.loc[case, "spacing"])
        out.append(item)
    return out


def _spacing(text: object) -> tuple[float, ...] | None:
    """A manifest's spacing cell, ``2.5x1.5x1.5``, as floats; None when not recorded."""
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return None
    return tuple(float(v) for v in str(text).split("x"))
