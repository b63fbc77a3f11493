"""A dataset's fingerprint (nnU-Net's "plan" step, the reading part): every case read
once, before any preprocessing, to say what the data are and whether the params fit.

Per case: shape, spacing, orientation, channels, bit depth, intensity percentiles per
channel (all voxels and foreground), foreground fraction. Over the dataset: empty
cases, the median spacing and its anisotropy, the smallest shape, a modality hint and
the normalisation it suggests. ``volume_shapes`` reads NIfTI headers only, so that
validation can refuse a patch larger than a volume before any job runs.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from segsweep.data.ingest import load_pair_2d, load_pair_3d, match_pairs
from segsweep.data.spacing import resampled_shape, target_spacing
from segsweep.errors import ConfigError, SegsweepError

PERCENTILES = (0.5, 50.0, 99.5)


def volume_shapes(cfg, root: Path, key: str) -> dict[Path, tuple[int, int, int]]:
    """(D, H, W) of every image of a NIfTI dataset from its header (no voxel read), on
    the grid it is trained on: resampled to the dataset's ``target_spacing``."""
    headers = {}
    for _, img_path, _ in match_pairs(cfg, root, key):
        try:
            header = nib.load(img_path).header
        except Exception:  # a corrupt header: ingest names the file
            continue
        if len(header.get_data_shape()) >= 3:
            # (x, y, z) -> (D, H, W)
            headers[img_path] = (header.get_data_shape()[:3][::-1], header.get_zooms()[:3][::-1])
    if not headers:
        return {}
    target = target_spacing(np.array([z for _, z in headers.values()]), getattr(cfg, "target_spacing", None))
    return {
        path: tuple(int(s) for s in (shape if target is None else resampled_shape(shape, zooms, target)))
        for path, (shape, zooms) in headers.items()
    }


def _case(cfg, img_path: Path, mask_path: Path, key: str) -> dict:
    if cfg.kind == "nifti":
        image, mask, spacing = load_pair_3d(img_path, mask_path, cfg, key)
        channels, header = image[None], nib.load(img_path)
        axes, raw = "".join(nib.aff2axcodes(header.affine)), str(header.get_data_dtype())
    else:
        image, mask, raw = load_pair_2d(img_path, mask_path, cfg, key)
        channels, spacing, axes = np.moveaxis(image, -1, 0), (1.0, 1.0), "-"
    fg = mask.astype(bool)
    return {
        "case": str(img_path),
        "shape": list(mask.shape),
        "spacing": [float(s) for s in spacing],
        "orientation": axes,
        "raw": raw,
        "channels": len(channels),
        "percentiles": [np.percentile(c, PERCENTILES).round(4).tolist() for c in channels],
        "fg_percentiles": [np.percentile(c[fg], PERCENTILES).round(4).tolist() if fg.any() else None for c in channels],
        "fg_fraction": round(float(fg.mean()), 6),
    }


def modality_hint(cases: list[dict], ndim: int) -> tuple[str, str]:
    """(hint, suggested normalisation) from the intensity range: Hounsfield units reach
    -1000 (air); MRI has no absolute scale; 2D images are photographs or microscopy."""
    if ndim == 2:
        return ("RGB images" if cases[0]["channels"] == 3 else "gray images"), "per image (2D pipeline)"
    low = min(c["percentiles"][0][0] for c in cases)
    high = max(c["percentiles"][0][-1] for c in cases)
    if low <= -500:
        return f"CT-like (intensities {low:g} to {high:g}: Hounsfield units)", "window"
    return f"MRI-like or other non-CT (intensities {low:g} to {high:g}: no absolute scale)", "zscore"


PATCH_BUDGET = 128**3  # voxels per 3D patch; nnU-Net sizes it to the GPU, this is a CPU-friendly start
PATCH_MULTIPLE = 16  # divisible by 2^4: the U-Net's pooling at depth 4


def suggest_patch(median_shape, min_shape) -> list[int]:
    """A starting 3D patch size (D, H, W): the median resampled shape, its largest side
    shrunk by 10 % at a time until it holds at most ``PATCH_BUDGET`` voxels (the aspect
    of the data kept, as nnU-Net's planner does), rounded down to
    multiples of ``PATCH_MULTIPLE`` and at most the smallest volume (a patch larger than
    a volume is refused at validation)."""
    patch = [float(s) for s in median_shape]
    while np.prod(patch) > PATCH_BUDGET:
        axis = int(np.argmax(patch))
        patch[axis] *= 0.9
    return [
        int(max(PATCH_MULTIPLE, min(p, m) // PATCH_MULTIPLE * PATCH_MULTIPLE)) if m >= PATCH_MULTIPLE else int(m)
        for p, m in zip(patch, min_shape)
    ]


def inspect_dataset(cfg, root: Path, key: str, ndim: int) -> dict:
    """The fingerprint of one dataset (every case read once)."""
    cases = [_case(cfg, i, m, key) for _, i, m in match_pairs(cfg, root, key)]
    spacing = np.median([c["spacing"] for c in cases], axis=0)
    hint, normalization = modality_hint(cases, ndim)
    plan = {}
    if ndim == 3:  # the grid the dataset trains on (its target_spacing)
        target = target_spacing(np.array([c["spacing"] for c in cases]), getattr(cfg, "target_spacing", None))
        shapes = [c["shape"] if target is None else resampled_shape(c["shape"], c["spacing"], target) for c in cases]
        plan = {
            "target_spacing": None if target is None else [round(t, 4) for t in target],
            "resampled_min_shape": np.min(shapes, axis=0).tolist(),
            "suggested_patch_size_3d": suggest_patch(np.median(shapes, axis=0), np.min(shapes, axis=0)),
        }
    return {
        "dataset": key,
        "n_cases": len(cases),
        "empty_cases": [c["case"] for c in cases if c["fg_fraction"] == 0],
        "min_shape": np.min([c["shape"] for c in cases], axis=0).tolist(),
        "median_shape": np.median([c["shape"] for c in cases], axis=0).tolist(),
        "median_spacing": spacing.round(4).tolist(),
        "anisotropy": round(float(spacing.max() / spacing.min()), 3),
        **plan,
        "orientations": sorted({c["orientation"] for c in cases}),
        "fg_fraction_min_median_max": np.percentile([c["fg_fraction"] for c in cases], [0, 50, 100]).tolist(),
        "modality_hint": hint,
        "suggested_normalization": normalization,
        "cases": cases,
    }


def check_volumes(params, source: str = "params.yaml") -> None:
    """A 3D patch (or crop) larger than a NIfTI volume fails here, from the headers,
    not at the patches job after ingest, prepare and augment have run. Datasets whose
    files are not there yet are left to ingest. Called by ``segsweep validate`` and by
    the workflow before it plans (not by ``validate_params``: the jobs' code digests
    would all hold the readers)."""
    need, key = params.preprocess.augment.crop_3d, "preprocess.augment.crop_3d"
    if need is None:
        need, key = params.preprocess.patches.size_3d, "preprocess.patches.size_3d"
    for name, ds in params.datasets.items():
        if ds.kind != "nifti" or not Path(ds.root).is_dir():
            continue
        try:
            shapes = volume_shapes(ds, Path(ds.root), f"datasets.{name}")
        except SegsweepError:
            continue  # no pairs or a bad file: ingest names it
        for path, shape in shapes.items():
            if any(n > s for n, s in zip(need, shape)):
                raise ConfigError(
                    f"{source}: {key} = {list(need)}: larger than {path}'s volume {list(shape)} (D, H, W, "
                    f"resampled to datasets.{name}.target_spacing) "
                    f"of datasets.{name}; each side must be at most the smallest volume's "
                    "(segsweep inspect lists the shapes)"
                )
