"""What each job asks a cluster for: memory and runtime sized from the data and the model.

A U-Net step keeps, per sample, a few values for every voxel of every feature map
(activations, their gradients, the allocator's slack); a no-grad forward keeps fewer.
Counting feature-map values per level and scaling by constants measured on CPU
(``benchmarks/cluster_estimates.py`` prints each estimate beside the measured peak RSS
and step time) gives requests that follow the data and the model instead of one size
for every job. The rules call these functions twice: while the DAG is built, with the
sizes params fix (a placeholder: nothing is submitted then), and again when the job is
ready, with the data on disk (``DataSize.read``); Snakemake re-evaluates resources then.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

# Constants measured with benchmarks/cluster_estimates.py (CPU, torch 2.13, one thread).
BASE_MB = 550.0  # python, torch, MONAI, segsweep (measured 430) and a first step's kernels
TRAIN_VALUES = 20.0  # 4-byte values per feature-map value per sample in a training step (measured 18-19)
EVAL_VALUES = 6.0  # the same in a no-grad forward (measured 5.4 on a 64x512x512 volume)
EVAL_FIXED_MB = 150.0  # allocator and kernels of the first forward
STEP_SECONDS = {2: 0.17e-6, 3: 0.25e-6}  # per feature-map value of a training step, one CPU core
MB = 2**20


@dataclass(frozen=True)
class DataSize:
    """What a training job loads.

    Attributes:
        patch: spatial shape of a training patch.
        channels: image channels.
        train_patches: training patches of the cell's split; None while unknown.
        patch_bytes: bytes of the patch arrays (memory-mapped, and touched every epoch).
        eval_image: spatial shape of the largest prepared image.
        eval_voxels: voxels of all prepared images (an upper bound on validation + test).
    """

    patch: tuple[int, ...]
    channels: int
    train_patches: int | None
    patch_bytes: float
    eval_image: tuple[int, ...]
    eval_voxels: float

    @staticmethod
    def read(patches_dir: Path, split_path: Path, prepared_dir: Path) -> DataSize | None:
        """The sizes of the data on disk; None when any of it does not exist yet."""
        images, masks = Path(patches_dir) / "images.npy", Path(patches_dir) / "masks.npy"
        if not (images.exists() and Path(split_path).exists() and Path(prepared_dir).is_dir()):
            return None
        shape = _npy_shape(images)
        # keyed by modification time: a file remade during the run is read again
        split = Path(split_path)
        train = _train_patches(Path(patches_dir), split, images.stat().st_mtime_ns, split.stat().st_mtime_ns)
        manifest = Path(prepared_dir) / "manifest.csv"
        shapes = _case_shapes(Path(prepared_dir), manifest.stat().st_mtime_ns if manifest.exists() else 0)
        if not shapes:
            return None
        largest = max(shapes, key=math.prod)
        return DataSize(
            patch=tuple(shape[2:]),
            channels=int(shape[1]),
            train_patches=train,
            patch_bytes=float(images.stat().st_size + masks.stat().st_size),
            eval_image=tuple(largest),
            eval_voxels=float(sum(math.prod(s) for s in shapes)),
        )

    @staticmethod
    def from_params(params, name: str) -> DataSize:
        """What params say of dataset ``name`` before any data exists (a placeholder for
        the DAG; the job is sized again from the data once it is ready)."""
        from segsweep.config import dataset_ndim

        ds = params.datasets[name]
        ndim = dataset_ndim(ds)
        patch = tuple(getattr(params.preprocess.patches, f"size_{ndim}d"))
        # evaluation runs on prepared (not cropped) images
        resize = params.preprocess.prepare.resize
        if ndim == 2 and resize.mode != "none":
            image = tuple(resize.size)
        elif ds.kind == "synth2d":
            image = (ds.size, ds.size)
        else:
            image = tuple(getattr(ds, "shape", patch))
        cases = getattr(ds, "n_cases", 100)
        return DataSize(patch, 3 if ndim == 2 else 1, None, 0.0, tuple(image), float(cases * math.prod(image)))


def feature_values(ndim: int, shape: tuple[int, ...], width: int, depth: int) -> float:
    """Feature-map values of one sample: sum over levels of channels x voxels."""
    voxels = math.prod(shape)
    return sum(width * 2**level * voxels / 2 ** (ndim * level) for level in range(depth + 1))


def param_count(ndim: int, channels: int, width: int, depth: int) -> float:
    """About the U-Net's parameters: per level two 3^ndim convs on the way down
    (c/2 -> c -> c) and, except at the bottom, two on the way up (2c -> c -> c), plus the
    upsampling convs (within 2 % of the real count: tests/test_cluster.py)."""
    widths = [width * 2**level for level in range(depth + 1)]
    k = 3**ndim
    convs = k * (channels * widths[0] + sum(1.5 * w * w for w in widths) + sum(3 * w * w for w in widths[:-1]))
    ups = 2**ndim * sum(a * b for a, b in zip(widths[1:], widths[:-1]))
    return float(convs + ups)


def train_memory_mb(cell, ndim: int, size: DataSize, margin: float, floor: int) -> int:
    """Peak memory of a training job of ``cell`` (a ``Train``), in MB."""
    m = cell.model
    step = cell.batch_size * feature_values(ndim, size.patch, m.base_filters, m.depth) * TRAIN_VALUES * 4
    weights = param_count(ndim, size.channels, m.base_filters, m.depth) * 4 * 4  # weights, grads, 2 moments
    window = _sliding(cell, ndim)
    image = size.patch if window else size.eval_image
    forward = feature_values(ndim, image, m.base_filters, m.depth) * EVAL_VALUES * 4
    # whole images held for evaluation, and (windows) the accumulated probabilities
    held = size.eval_voxels * (size.channels + 1) * 4 + (math.prod(size.eval_image) * 5 * 4 if window else 0)
    total = BASE_MB + EVAL_FIXED_MB + (max(step, forward) + weights + held + size.patch_bytes) / MB
    return max(floor, math.ceil(margin * total))


def train_steps(cell, size: DataSize) -> int:
    """Optimizer steps of ``cell``: epochs x steps per epoch (one pass when unset)."""
    if cell.steps_per_epoch is not None:
        return cell.epochs * cell.steps_per_epoch
    patches = size.train_patches if size.train_patches is not None else 1000  # DAG placeholder
    return cell.epochs * math.ceil(patches / cell.batch_size)


def seconds_per_step(cell, ndim: int, size: DataSize) -> float:
    """One CPU core's seconds per training step of ``cell`` (a generous bound on a GPU)."""
    m = cell.model
    return STEP_SECONDS[ndim] * cell.batch_size * feature_values(ndim, size.patch, m.base_filters, m.depth)


def train_runtime_min(cell, ndim: int, size: DataSize, declared: float | None, margin: float, floor: int) -> int:
    """Minutes to request for training ``cell``: steps x seconds per step (declared, or
    estimated), plus the evaluations (a forward costs about a third of a step), with a margin."""
    step = declared if declared is not None else seconds_per_step(cell, ndim, size)
    ev = cell.evaluation
    forward = step / 3 / cell.batch_size  # one patch
    per_voxel = forward / math.prod(size.patch)
    evals = (cell.epochs + 1) * size.eval_voxels * per_voxel  # validation per epoch, test once (upper bound)
    bn = (cell.epochs * ev.curve_bn_batches + ev.precise_bn_batches) * step / 3
    seconds = train_steps(cell, size) * step + evals + bn + 60  # + start-up
    return max(floor, math.ceil(margin * seconds / 60))


def store_memory_mb(folder_bytes: float, margin: float, floor: int) -> int:
    """A data-preparation job: python and torch, plus its dataset held in memory (as
    float32, up to four times the stored bytes of uint8 images)."""
    return max(floor, math.ceil(margin * (BASE_MB + 4 * folder_bytes / MB)))


def folder_bytes(folder: str) -> float:
    """Bytes of the files under ``folder`` (0 when it does not exist yet)."""
    root = Path(folder)
    return _folder_bytes(root, root.stat().st_mtime_ns if root.exists() else 0)


@lru_cache(maxsize=4096)
def _folder_bytes(root: Path, mtime: int) -> float:
    if root.is_file():
        return float(root.stat().st_size)
    return float(sum(p.stat().st_size for p in root.rglob("*") if p.is_file())) if root.is_dir() else 0.0


def _sliding(cell, ndim: int) -> bool:
    mode = cell.evaluation.inference
    return mode == "sliding_window" or (mode == "auto" and ndim == 3)


def _npy_shape(path: Path) -> tuple[int, ...]:
    with open(path, "rb") as f:
        return _header_shape(f)


def _header_shape(f) -> tuple[int, ...]:
    """The array shape from an open .npy stream's header (no data read)."""
    version = np.lib.format.read_magic(f)
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return tuple(reader(f)[0])


@lru_cache(maxsize=1024)
def _train_patches(patches_dir: Path, split_path: Path, *mtimes: int) -> int:
    import json

    import pandas as pd

    cases = set(json.loads(split_path.read_text())["train"])
    table = pd.read_parquet(patches_dir / "patches.parquet", columns=["case"])
    return int(table["case"].astype(str).isin(cases).sum())


@lru_cache(maxsize=64)
def _case_shapes(prepared_dir: Path, mtime: int) -> list[tuple[int, ...]]:
    """Spatial shapes of the prepared cases, from the headers of their masks."""
    shapes = []
    for path in sorted((prepared_dir / "cases").glob("*.npz")):
        with zipfile.ZipFile(path) as z, z.open("mask.npy") as f:
            shapes.append(_header_shape(f))
    return shapes
