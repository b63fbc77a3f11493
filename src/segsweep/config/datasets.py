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

    kind: Literal["synth2d"]
    n_cases: PositiveInt = 32
    size: Annotated[int, Field(ge=32, le=4096)] = 128
    empty_fraction: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1
    fg_range: tuple[Fraction, Fraction] = (0.005, 0.4)
    noise: Annotated[float, Field(ge=0.0, le=1.0)] = 0.03
    seed: int = 0
    style: Literal["lesion", "microscopy"] = "lesion"
    bit_depth: Literal[8, 16] = 8

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


# How a 3D dataset's intensities become network inputs (``segsweep.preprocess.prepare``):
# ``window``: clip to preprocess.prepare.window and scale to [0, 1] (CT in Hounsfield
# units); ``zscore``: per case, (x - mean) / std (MRI: no absolute scale); ``minmax``:
# per case to [0, 1]; ``none``: as stored; ``ct`` (nnU-Net's CT scheme): clip to the
# 0.5 and 99.5 percentiles of the foreground intensities, then z-score with their mean
# and standard deviation, both over the dataset's non-test cases (the fixed test set of
# ``splits`` never enters another case's inputs). The others use the case's own
# statistics only.
Normalization = Literal["window", "zscore", "minmax", "none", "ct"]


# The voxel spacing a 3D dataset is resampled to before its patches are cut
# (``segsweep.preprocess.resample``): ``median`` (of its cases' spacings, nnU-Net's rule
# for thick slices), an explicit [d, h, w] in mm, or null (each case keeps its own grid).
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

    kind: Literal["synth3d"]
    n_cases: PositiveInt = 6
    shape: tuple[Annotated[int, Field(ge=16)], Annotated[int, Field(ge=16)], Annotated[int, Field(ge=16)]] = (
        48,
        64,
        64,
    )
    spacing: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] = (
        2.5,
        1.5,
        1.5,
    )
    empty_fraction: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    noise_hu: Annotated[float, Field(ge=0.0)] = 20.0
    seed: int = 0
    modality: Literal["ct", "mri"] = "ct"
    target: Literal["organ", "lesion"] = "organ"
    normalization: Normalization = "window"
    target_spacing: TargetSpacing = "median"


class _Pairs(Section):
    """Image/mask files under ``root`` matched by file stem: a mask matches the image
    whose stem equals the mask's stem once ``mask_strip`` is removed from its end
    (e.g. ``ISIC_001_segmentation.png`` -> ``ISIC_001``; ``image_strip`` likewise).
    ``foreground_label`` picks one class of a multi-class label map."""

    root: Path
    image_glob: str
    mask_glob: str
    image_strip: str = ""
    mask_strip: str = ""
    foreground_label: int | None = None
    # true: every mask may be empty on purpose (a background-only control set); otherwise
    # a dataset without any foreground is refused at ingest: nothing to segment
    no_foreground: bool = False


class Folder2D(_Pairs):
    """A folder of 2D image/mask pairs (PNG/JPG/TIFF)."""

    kind: Literal["folder2d"]
    image_glob: str = "images/*.png"
    mask_glob: str = "masks/*.png"


class Nifti(_Pairs):
    """NIfTI image/label pairs (3D, any spacing)."""

    kind: Literal["nifti"]
    normalization: Normalization = "window"
    target_spacing: TargetSpacing = "median"
    image_glob: str = "imagesTr/*.nii.gz"
    mask_glob: str = "labelsTr/*.nii.gz"


Dataset = Annotated[Synth2D | Synth3D | Folder2D | Nifti, Field(discriminator="kind")]
DATASET_KINDS = ("synth2d", "synth3d", "folder2d", "nifti")


def dataset_ndim(ds: Synth2D | Synth3D | Folder2D | Nifti) -> int:
    """2 for image datasets, 3 for volume datasets."""
    return 2 if ds.kind in ("synth2d", "folder2d") else 3
