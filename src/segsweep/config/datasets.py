"""Typed models of params.yaml's ``datasets``: synthetic 2D and 3D data, folders of 2D
pairs and NIfTI pairs, each with the settings that belong to the dataset itself
(normalisation, target spacing, what a fixture looks like)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, PositiveInt, field_validator, model_validator

from segsweep.config.base import Fraction, Section


class Synth2D(Section):
    """Synthetic 2D images with binary masks (PNG): ``style: lesion``, RGB "skin lesion"
    photographs (8-bit); ``microscopy``, grayscale fluorescence tiles (bright nuclei on a
    dark, unevenly lit background) stored with ``bit_depth`` 8 or 16 bits."""

    kind: Literal["synth2d"] = Field(description="Synthetic 2D data, generated into data/synth/<name>/.")
    n_cases: PositiveInt = Field(32, description="Number of cases (image/mask pairs).")
    size: Annotated[int, Field(ge=32, le=4096)] = Field(128, description="Side of the square images in pixels.")
    empty_fraction: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.1, description="Share of cases with no foreground at all (background-only images)."
    )
    fg_range: tuple[Fraction, Fraction] = Field(
        (0.005, 0.4), description="[low, high] foreground fraction of a case, drawn log-uniformly."
    )
    noise: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.03, description="Standard deviation of the added Gaussian noise (intensities on a [0, 1] scale)."
    )
    seed: int = Field(0, description="Seed: each case draws from (seed, case index), byte-identical for one seed.")
    style: Literal["lesion", "microscopy"] = Field(
        "lesion", description="lesion: RGB skin-lesion photographs; microscopy: grayscale fluorescence tiles."
    )
    bit_depth: Literal[8, 16] = Field(
        8, description="Bits per pixel of the PNGs; 16 needs style: microscopy (ingest scales it to 8 bits)."
    )

    @model_validator(mode="after")
    def _depth(self) -> Synth2D:
        if self.style == "lesion" and self.bit_depth != 8:
            raise ValueError(f"bit_depth = {self.bit_depth}: the lesion style is 8-bit RGB; 16 needs style: microscopy")
        return self

    @field_validator("fg_range")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] > v[1]:
            raise ValueError(f"must be [low, high] with low <= high, got {list(v)}")
        return v


Normalization = Literal["window", "zscore", "minmax", "none", "ct"]
NORMALIZATION_HELP = (
    "How the 3D intensities become network inputs (segsweep.preprocess.prepare): window: clip to "
    "preprocess.prepare.window and scale to [0, 1] (CT in Hounsfield units); zscore: per case, (x - mean) / std "
    "(MRI: no absolute scale); minmax: per case to [0, 1]; none: as stored; ct (nnU-Net's CT scheme): clip to the "
    "0.5 and 99.5 percentiles of the foreground intensities, then z-score with their mean and standard deviation, "
    "both over the dataset's non-test cases (the fixed test set of splits never enters another case's inputs). "
    "The others use the case's own statistics only."
)
TARGET_SPACING_HELP = (
    "The voxel spacing the 3D cases are resampled to before their patches are cut (segsweep.preprocess.resample): "
    "median (per axis, of the cases' spacings; a thick axis takes the 10th percentile, nnU-Net's rule), an explicit "
    "[d, h, w] in mm, or null (each case keeps its own grid)."
)


def _target_spacing(v: object) -> object:
    if v is None or v == "median":
        return v
    numbers = isinstance(v, list | tuple) and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
    if numbers and len(v) == 3 and all(0 < x < float("inf") for x in v):
        return tuple(float(x) for x in v)
    raise ValueError('must be "median", null or [d, h, w]: three positive spacings in mm')


TargetSpacing = Annotated[Literal["median"] | tuple[float, float, float] | None, BeforeValidator(_target_spacing)]


class Synth3D(Section):
    """Synthetic volumes with a label (NIfTI): ``modality: ct`` (Hounsfield units: air,
    fat, soft tissue, bone) or ``mri`` (an arbitrary positive scale per case, a smooth
    multiplicative bias field, no absolute intensities); ``target: organ`` (a lobed
    organ, a few % of the volume) or ``lesion`` (one tiny sphere, <= 0.01 %)."""

    kind: Literal["synth3d"] = Field(description="Synthetic 3D volumes (NIfTI), generated into data/synth/<name>/.")
    n_cases: PositiveInt = Field(6, description="Number of cases (volume/label pairs).")
    shape: tuple[Annotated[int, Field(ge=16)], Annotated[int, Field(ge=16)], Annotated[int, Field(ge=16)]] = Field(
        (48, 64, 64), description="(D, H, W) of every volume in voxels."
    )
    spacing: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] = Field(
        (2.5, 1.5, 1.5), description="(D, H, W) voxel spacing in mm, written into the NIfTI header."
    )
    empty_fraction: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.0, description="Share of cases with no foreground at all."
    )
    noise_hu: Annotated[float, Field(ge=0.0)] = Field(
        20.0, description="Standard deviation of the added Gaussian noise in Hounsfield units (modality: ct)."
    )
    seed: int = Field(0, description="Seed: each case draws from (seed, case index).")
    modality: Literal["ct", "mri"] = Field(
        "ct",
        description="ct: Hounsfield units (air, fat, soft tissue, bone); mri: an arbitrary positive scale per case "
        "and a smooth multiplicative bias field.",
    )
    target: Literal["organ", "lesion"] = Field(
        "organ", description="organ: a lobed organ, a few % of the volume; lesion: one tiny sphere (<= 0.01 %)."
    )
    normalization: Normalization = Field("window", description=NORMALIZATION_HELP)
    target_spacing: TargetSpacing = Field("median", description=TARGET_SPACING_HELP)


class _Pairs(Section):
    """Image/mask files under ``root`` matched by file stem: a mask matches the image
    whose stem equals the mask's stem once ``mask_strip`` is removed from its end
    (e.g. ``ISIC_001_segmentation.png`` -> ``ISIC_001``; ``image_strip`` likewise).
    ``foreground_label`` picks one class of a multi-class label map."""

    root: Path = Field(description="Folder the globs are relative to (e.g. data/raw/<name>; dvc add it).")
    image_glob: str = Field(description="Glob of the image files under root.")
    mask_glob: str = Field(description="Glob of the mask files under root.")
    image_strip: str = Field("", description="Suffix removed from an image's file stem before matching.")
    mask_strip: str = Field(
        "", description="Suffix removed from a mask's file stem before matching (e.g. _segmentation)."
    )
    foreground_label: int | None = Field(
        None, description="The label to segment in a multi-class label map; null: masks must be binary (0/1 or 0/255)."
    )
    no_foreground: bool = Field(
        False,
        description="true: every mask may be empty on purpose (a background-only control set); otherwise a "
        "dataset without any foreground is refused at ingest: nothing to segment.",
    )


class Folder2D(_Pairs):
    """A folder of 2D image/mask pairs (PNG/JPG/TIFF)."""

    kind: Literal["folder2d"] = Field(description="2D image/mask pairs (PNG, JPG or TIFF) under root.")
    image_glob: str = Field("images/*.png", description="Glob of the image files under root.")
    mask_glob: str = Field("masks/*.png", description="Glob of the mask files under root.")


class Nifti(_Pairs):
    """NIfTI image/label pairs (3D, any spacing)."""

    kind: Literal["nifti"] = Field(description="3D NIfTI image/label pairs under root, any spacing.")
    normalization: Normalization = Field("window", description=NORMALIZATION_HELP)
    target_spacing: TargetSpacing = Field("median", description=TARGET_SPACING_HELP)
    image_glob: str = Field("imagesTr/*.nii.gz", description="Glob of the image files under root.")
    mask_glob: str = Field("labelsTr/*.nii.gz", description="Glob of the label files under root.")


Dataset = Annotated[Synth2D | Synth3D | Folder2D | Nifti, Field(discriminator="kind")]
DATASET_KINDS = ("synth2d", "synth3d", "folder2d", "nifti")


def dataset_ndim(ds: Synth2D | Synth3D | Folder2D | Nifti) -> int:
    """2 for image datasets, 3 for volume datasets."""
    return 2 if ds.kind in ("synth2d", "folder2d") else 3
