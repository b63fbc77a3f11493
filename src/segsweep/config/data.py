"""Typed models of params.yaml, one per section (the datasets': ``config.datasets``); the
only reader is ``load_params``.

Every model forbids unknown keys, so a misspelled key fails before any work. Sizes
are (H, W) in 2D and (D, H, W) in 3D; fractions are in (0, 1).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from segsweep.config.base import NAME_RE, Fraction, Section, Size2D, Size3D, TrainFraction
from segsweep.config.cluster import Cluster
from segsweep.config.datasets import Dataset, dataset_ndim
from segsweep.config.landscape import Landscape
from segsweep.config.probe import Probe
from segsweep.config.report import Report
from segsweep.config.train import Grid, Train

# --- preprocessing --------------------------------------------------------------------


class Clahe(Section):
    """Contrast-limited adaptive histogram equalisation on uint8 (2D only)."""

    enabled: bool = Field(True, description="Equalise 2D images in prepare (before any scaling: CLAHE works on uint8).")
    clip_limit: Annotated[float, Field(gt=0)] = Field(2.0, description="Contrast limit of each tile's histogram.")
    tile_grid: PositiveInt = Field(
        8, description="Tiles per side: histograms are equalised on a tile_grid × tile_grid grid."
    )


class Resize(Section):
    """Bring every 2D image to ``size``: ``resize`` scales, ``pad`` pads then centre-crops."""

    mode: Literal["none", "resize", "pad"] = Field(
        "none",
        description="none: keep each image's size; resize: scale to size; pad: zero-pad, then centre-crop to size.",
    )
    size: Size2D = Field((128, 128), description="Target (H, W) of resize and pad.")


class Window(Section):
    """Intensity window for 3D volumes: clip to [low, high], then scale to [0, 1]."""

    low: float = Field(-200.0, description="Lower clip value (Hounsfield units for CT); must be below high.")
    high: float = Field(300.0, description="Upper clip value; maps to 1.")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class Prepare(Section):
    """The deterministic first step of preprocessing: CLAHE and resize/pad for 2D data,
    the intensity window for 3D data (a dataset's ``normalization`` says whether it is
    used)."""

    ONLY_2D: ClassVar[tuple[str, ...]] = ("clahe", "resize")
    ONLY_3D: ClassVar[tuple[str, ...]] = ("window",)

    clahe: Clahe = Clahe()
    resize: Resize = Resize()
    window: Window = Window()


class Augment(Section):
    """``copies`` seeded random rotations (probability ``rotate_p``, angle within
    ±``rotate_limit``°) and random crops per case; ``crop_*: null`` keeps the full size."""

    copies: PositiveInt = Field(2, description="Augmented copies per case.")
    rotate_limit: Annotated[float, Field(ge=0, le=180)] = Field(
        180.0, description="Largest rotation angle in degrees (either way)."
    )
    rotate_p: Annotated[float, Field(ge=0, le=1)] = Field(0.5, description="Probability that a copy is rotated.")
    crop_2d: Size2D | None = Field((96, 96), description="Random crop (H, W) of 2D copies; null: the full image.")
    crop_3d: Size3D | None = Field(
        (32, 48, 48), description="Random crop (D, H, W) of 3D copies; null: the full volume."
    )
    fg_crop_3d: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.0,
        description="Probability that a 3D crop is centred on a random foreground voxel (nnU-Net oversamples a "
        "third of its patches; 0.33 for small structures); 0: random crops only. Needs crop_3d.",
    )
    seed: int = Field(0, description="Seed of the rotations and crops.")

    @model_validator(mode="after")
    def _fg_crop_needs_a_crop(self):
        if self.fg_crop_3d > 0 and self.crop_3d is None:
            raise ValueError(f"fg_crop_3d = {self.fg_crop_3d} needs crop_3d (it centres the 3D crops); crop_3d is null")
        return self


class Patches(Section):
    """Sliding-window patches (size, stride) plus foreground-centred extra patches.

    ``fg_oversample`` is the fraction of a case's patches centred on a random
    foreground pixel (0 disables it).
    """

    size_2d: Size2D = Field((64, 64), description="Patch (H, W) of 2D data; at most the image size after augment.")
    stride_2d: Size2D = Field((32, 32), description="Step (H, W) of the 2D sliding window.")
    size_3d: Size3D = Field(
        (32, 32, 32), description="Patch (D, H, W) of 3D data; at most the smallest volume after resampling and crop."
    )
    stride_3d: Size3D = Field((16, 16, 16), description="Step (D, H, W) of the 3D sliding window.")
    fg_oversample: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.25, description="Fraction of a case's patches centred on a random foreground pixel; 0: none."
    )
    seed: int = Field(0, description="Seed of the noise and the foreground-centred patches.")


class Preprocess(Section):
    """prepare -> augment -> patches, per dataset (``workflow/rules/preprocess.smk``)."""

    prepare: Prepare = Prepare()
    augment: Augment = Augment()
    noise_sigmas: list[Annotated[float, Field(ge=0.0)]] = Field(
        default=[0.0],
        min_length=1,
        description="Standard deviations of additive Gaussian noise (on the [0, 1] scale, clipped): one processed "
        "dataset per level (a cell's train.noise is produced whether listed here or not).",
    )
    patches: Patches = Patches()

    @field_validator("noise_sigmas")
    @classmethod
    def _unique(cls, v: list[float]) -> list[float]:
        if len(set(v)) != len(v):
            raise ValueError(f"values must be distinct, got {v}")
        return v


class Splits(Section):
    """Test / validation / train splits by source case (``segsweep.splits``): a fixed
    test set per dataset, a validation set per split seed, nested training sets."""

    test_fraction: Fraction = Field(
        0.3, description="Share of all cases in the fixed test set, drawn once per dataset (stratified)."
    )
    test_seed: int = Field(0, description="Seed of the test set draw.")
    val_fraction: Fraction = Field(
        0.2, description="Share of the non-test cases in the validation set, per split seed."
    )
    train_fractions: list[TrainFraction] = Field(
        default=[1.0, 0.5, 0.25],
        min_length=1,
        description="Shares of the training pool to write splits for (nested for one split seed; a cell's "
        "train_fraction is produced whether listed here or not).",
    )
    seeds: list[int] = Field(default=[0], min_length=1, description="Split seeds to write splits for.")

    @field_validator("train_fractions", "seeds")
    @classmethod
    def _unique(cls, v: list) -> list:
        if len(set(v)) != len(v):
            raise ValueError(f"values must be distinct, got {v}")
        return v

    def protocol(self) -> dict:
        """The settings every split of a dataset shares (what a split job depends on
        besides its own fraction and seed)."""
        return {"test_fraction": self.test_fraction, "test_seed": self.test_seed, "val_fraction": self.val_fraction}


# --- the whole file -------------------------------------------------------------------


class Params(Section):
    """params.yaml."""

    datasets: dict[str, Dataset] = Field(
        min_length=1,
        description="Named inputs; a name must match ^[a-z][a-z0-9_]*$ (it becomes a folder and a wildcard).",
    )
    preprocess: Preprocess = Preprocess()
    splits: Splits = Splits()
    train: Train = Train()
    grid: Grid = Grid()
    probe: Probe = Probe()
    landscape: Landscape = Landscape()
    report: Report = Report()
    cluster: Cluster = Cluster()

    @field_validator("datasets")
    @classmethod
    def _names(cls, v: dict) -> dict:
        for name in v:
            if not NAME_RE.match(name):
                raise ValueError(
                    f"dataset name '{name}' must match {NAME_RE.pattern} (it becomes a folder and a wildcard)"
                )
        return v

    def synth_names(self) -> list[str]:
        return [n for n, d in self.datasets.items() if d.kind.startswith("synth")]


def known_image_size(name: str, ds, pre: Preprocess) -> tuple[tuple[int, ...] | None, str]:
    """The spatial size every sample of dataset ``name`` has after augmentation, and the
    params key that fixes it; ``(None, "")`` when it depends on the data."""
    if dataset_ndim(ds) == 2:
        if pre.augment.crop_2d is not None:
            return tuple(pre.augment.crop_2d), "preprocess.augment.crop_2d"
        if pre.prepare.resize.mode != "none":
            return tuple(pre.prepare.resize.size), "preprocess.prepare.resize.size"
        if ds.kind == "synth2d":
            return (ds.size, ds.size), f"datasets.{name}.size"
        return None, ""
    if pre.augment.crop_3d is not None:
        return tuple(pre.augment.crop_3d), "preprocess.augment.crop_3d"
    if ds.kind == "synth3d":
        return tuple(ds.shape), f"datasets.{name}.shape"
    return None, ""
