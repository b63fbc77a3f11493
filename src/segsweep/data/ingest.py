"""Ingest image/mask pairs into the case store, with one clear error per bad input.

Both readers match an image and its mask by file stem (after removing the configured
``image_strip``/``mask_strip`` suffixes) and check, naming the file each time:
unreadable or corrupt file, image without mask, mask without image, shape mismatch,
a NIfTI label whose affine differs from its image's (spacing, orientation, origin), 2D
images of mixed channel counts or bit depths, a mask with more than two values and no
``foreground_label``, NaN/inf values, an empty dataset, and a dataset without any
foreground (unless ``no_foreground: true`` declares it). Background-only masks are
allowed and counted in the manifest.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from segsweep.config import Folder2D, Nifti
from segsweep.data.cases import MANIFEST, fg_stats, save_case
from segsweep.errors import DataError
from segsweep.io import atomic_path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
AFFINE_TOL = 1e-3  # mm: header rounding passes, another spacing, orientation or origin does not


def _affine(a: np.ndarray) -> str:
    """A 4x4 affine's top three rows on one line: [[0.63,0,0,-80],[...],[...]]."""
    return "[" + ",".join("[" + ",".join(f"{v:.4g}" for v in row) + "]" for row in a[:3]) + "]"


def _stem(path: Path, strip: str) -> str:
    name = path.name
    for ext in (".nii.gz", ".nii", *IMAGE_SUFFIXES):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    if strip and name.endswith(strip):
        name = name[: -len(strip)]
    return name


def match_pairs(cfg: Folder2D | Nifti, root: Path, key: str) -> list[tuple[str, Path, Path]]:
    """Return ``(case, image_path, mask_path)`` sorted by case.

    Raises:
        DataError: no image found, or an image or mask has no partner.
    """
    images = {_stem(p, cfg.image_strip): p for p in sorted(root.glob(cfg.image_glob)) if p.is_file()}
    masks = {_stem(p, cfg.mask_strip): p for p in sorted(root.glob(cfg.mask_glob)) if p.is_file()}
    if not images:
        raise DataError(f"{root}: empty dataset: no file matches {key}.image_glob = '{cfg.image_glob}'")
    for case, path in images.items():
        if case not in masks:
            raise DataError(
                f"{path}: image without mask: no file matching {key}.mask_glob = '{cfg.mask_glob}' "
                f"has stem '{case}{cfg.mask_strip}'"
            )
    for case, path in masks.items():
        if case not in images:
            raise DataError(
                f"{path}: mask without image: no file matching {key}.image_glob = '{cfg.image_glob}' "
                f"has stem '{case}{cfg.image_strip}'"
            )
    return [(c, images[c], masks[c]) for c in sorted(images)]


def _read_2d(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("P", "PA"):
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            arr = np.asarray(im)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"{path}: unreadable or corrupt image ({exc})") from None
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[..., :3]  # drop alpha
    return arr


def _read_nifti(path: Path) -> tuple[np.ndarray, tuple[float, ...], np.ndarray]:
    """Return the volume as (D, H, W) = (z, y, x), its spacing in that order and its
    4x4 voxel-to-world affine."""
    try:
        img = nib.load(path)
        arr = np.asarray(img.dataobj)
    except Exception as exc:  # nibabel raises many types (ImageFileError, EOFError, zlib...)
        raise DataError(f"{path}: unreadable or corrupt NIfTI ({type(exc).__name__}: {exc})") from None
    arr = np.squeeze(arr)
    if arr.ndim != 3:
        raise DataError(f"{path}: expected a 3D volume, got shape {list(arr.shape)}")
    spacing = tuple(float(s) for s in img.header.get_zooms()[:3])
    return arr.transpose(2, 1, 0), spacing[::-1], np.asarray(img.affine, dtype=np.float64)


def _binarize(mask: np.ndarray, path: Path, fg_label: int | None, key: str) -> np.ndarray:
    """A two-valued mask (0/1, 0/255, any 0/v) becomes {0, 1}; a label map needs ``fg_label``."""
    if not np.isfinite(mask).all():
        raise DataError(f"{path}: mask contains NaN or inf values")
    if fg_label is not None:
        return (mask == fg_label).astype(np.uint8)
    values = np.unique(mask)
    if values.size > 2 or (values.size == 2 and values[0] != 0):
        shown = ", ".join(f"{v:g}" for v in values[:8]) + (", ..." if values.size > 8 else "")
        raise DataError(
            f"{path}: mask has {values.size} distinct values [{shown}]; expected 0 and one "
            f"foreground value, or set {key}.foreground_label to the label to segment"
        )
    return (mask > 0).astype(np.uint8)


def raw_format(image: np.ndarray) -> str:
    """``3 channels, 8-bit`` for a raw 2D image array (H, W[, C])."""
    channels = image.shape[2] if image.ndim == 3 else 1
    depth = f"{image.dtype.itemsize * 8}-bit" + (" float" if image.dtype.kind == "f" else "")
    return f"{channels} channel{'s' if channels > 1 else ''}, {depth}"


def load_pair_2d(img_path: Path, mask_path: Path, cfg: Folder2D, key: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Read one 2D pair: image (H, W, C) uint8 with C in {1, 3}, mask (H, W) uint8 {0, 1},
    and the raw image's format (``raw_format``)."""
    image, mask = _read_2d(img_path), _read_2d(mask_path)
    raw = raw_format(image)
    if mask.ndim == 3:
        if not (mask == mask[..., :1]).all():
            raise DataError(f"{mask_path}: RGB mask whose channels differ; expected a gray or 0/255 RGB mask")
        mask = mask[..., 0]
    if image.shape[:2] != mask.shape:
        raise DataError(
            f"{mask_path}: shape {list(mask.shape)} does not match its image {img_path.name} {list(image.shape[:2])}"
        )
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise DataError(f"{img_path}: image contains NaN or inf values")
    if image.ndim == 2:
        image = image[..., None]
    if image.dtype != np.uint8:
        # 16-bit or float images: rescale to uint8 per image (CLAHE works on uint8).
        lo, hi = float(image.min()), float(image.max())
        image = ((image.astype(np.float64) - lo) / max(hi - lo, 1e-12) * 255).round().astype(np.uint8)
    return np.ascontiguousarray(image), _binarize(mask, mask_path, cfg.foreground_label, key), raw


def load_pair_3d(img_path: Path, mask_path: Path, cfg: Nifti, key: str) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Read one 3D pair: volume (D, H, W) float32, label (D, H, W) uint8 {0, 1}, spacing."""
    image, spacing, affine = _read_nifti(img_path)
    mask, _, mask_affine = _read_nifti(mask_path)
    if image.shape != mask.shape:
        raise DataError(
            f"{mask_path}: shape {list(mask.shape)} does not match its image {img_path.name} {list(image.shape)}"
        )
    if not np.allclose(affine, mask_affine, rtol=0.0, atol=AFFINE_TOL):
        raise DataError(
            f"{mask_path}: its affine {_affine(mask_affine)} differs from its image {img_path}'s {_affine(affine)} "
            f"by more than {AFFINE_TOL} (spacing, orientation or origin): the mask would be misaligned"
        )
    image = image.astype(np.float32)
    if not np.isfinite(image).all():
        raise DataError(f"{img_path}: image contains NaN or inf voxels")
    return np.ascontiguousarray(image), _binarize(mask, mask_path, cfg.foreground_label, key), spacing


def ingest(cfg: Folder2D | Nifti, root: Path, out: Path, key: str) -> pd.DataFrame:
    """Validate every pair under ``root`` and write the case store ``out`` atomically.

    Args:
        cfg: the dataset's reader settings.
        root: the folder the globs are relative to.
        out: the case-store folder to create (replaced whole on success).
        key: the dotted params key of the dataset, used in error messages.

    Returns:
        The manifest: case, ndim, shape, channels, spacing, fg_fraction, has_fg, image, mask.

    Raises:
        DataError: on the first bad file (nothing is written).
    """
    pairs = match_pairs(cfg, root, key)
    rows, first = [], None
    with atomic_path(out) as tmp:
        for case, img_path, mask_path in pairs:
            if cfg.kind == "folder2d":
                image, mask, raw = load_pair_2d(img_path, mask_path, cfg, key)
                first = first or (raw, img_path)
                if raw != first[0]:  # one model input for the whole dataset
                    raise DataError(
                        f"{img_path}: {raw}, but {first[1]} (the dataset's first image) has {first[0]}: "
                        "convert the images to one format"
                    )
                spacing, channels = (1.0, 1.0), image.shape[2]
            else:
                image, mask, spacing = load_pair_3d(img_path, mask_path, cfg, key)
                channels = 1
            save_case(tmp, case, image, mask)
            rows.append(
                {
                    "case": case,
                    "ndim": mask.ndim,
                    "shape": "x".join(map(str, mask.shape)),
                    "channels": channels,
                    "spacing": "x".join(f"{s:g}" for s in spacing),
                    **fg_stats(mask),
                    "image": str(img_path),
                    "mask": str(mask_path),
                }
            )
        manifest = pd.DataFrame(rows)
        if not manifest["has_fg"].any() and not cfg.no_foreground:
            raise DataError(
                f"{root}: no mask of the {len(manifest)} cases has foreground (e.g. {pairs[0][2]}): nothing to "
                f"segment; set {key}.no_foreground: true if the dataset is background-only on purpose"
            )
        manifest.to_csv(tmp / MANIFEST, index=False)
    return manifest


def reader_for(ds, root: Path) -> Folder2D | Nifti:
    """The reader settings of any dataset; synthetic ones are read back like real data
    from the layout ``write_synth`` gives them under ``root``."""
    if ds.kind == "synth2d":
        return Folder2D(kind="folder2d", root=root, image_glob="images/*.png", mask_glob="masks/*.png")
    if ds.kind == "synth3d":
        return Nifti(kind="nifti", root=root, image_glob="imagesTr/*.nii.gz", mask_glob="labelsTr/*.nii.gz")
    return ds
