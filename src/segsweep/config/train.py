"""Typed models of the ``train`` (baseline cell) and ``grid`` sections of params.yaml.

A grid cell is the baseline ``train`` section with a few values replaced. The loss,
optimizer and scheduler are one model per component (``segsweep.config.components``):
an unknown name or a setting the named component does not take fails at validation,
listing what is valid.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from segsweep.config.base import NAME_RE, Section, TrainFraction
from segsweep.config.components import LossCfg, OptimCfg, SchedCfg, default

NonNeg = Annotated[float, Field(ge=0.0)]
# (any float here: each cell's own model rejects a non-finite one, naming the cell)
AxisValue = str | int | Annotated[float, Field(allow_inf_nan=True)] | bool | dict[str, Any]


class ModelCfg(Section):
    """A U-Net (2D or 3D, from the dataset). Inputs (B, C, *spatial); outputs logits
    (B, 2, ...) for ``softmax`` or (B, 1, ...) for ``sigmoid``."""

    name: Literal["unet"] = Field("unet", description="The architecture (a U-Net is the one there is).")
    depth: Annotated[int, Field(ge=1, le=6)] = Field(
        4, description="Number of poolings (4: the classic five-level U-Net); patch sides must divide by 2^depth."
    )
    base_filters: PositiveInt = Field(8, description="Filters of the first level, doubled at each level.")
    norm: Literal["batch", "none"] = Field("batch", description="Batch norm after each conv, or none.")
    norm_after_activation: bool = Field(
        False, description="conv -> activation -> norm instead of conv -> norm -> activation."
    )
    activation: Literal["relu", "leaky_relu", "elu", "gelu"] = Field(
        "relu", description="Activation of every conv block."
    )
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.0, description="Channel dropout after the first conv of each contracting level."
    )
    upsampling: Literal["transpose", "interpolate"] = Field(
        "transpose", description="transpose: 2×2 transposed conv; interpolate: bilinear/trilinear ×2, then a 1×1 conv."
    )
    init: Literal["xavier", "kaiming"] = Field(
        "kaiming", description="Initialisation of the conv weights (normal); biases start at zero."
    )
    output: Literal["softmax", "sigmoid"] = Field(
        "softmax", description="Head: softmax over 2 output channels, or sigmoid on 1."
    )


class RegCfg(Section):
    """Explicit penalties added to the loss on conv weights: l1·Σ|w| + l2·Σw²."""

    l1: NonNeg = Field(0.0, description="Weight of the L1 penalty l1·Σ|w| on conv weights.")
    l2: NonNeg = Field(0.0, description="Weight of the L2 penalty l2·Σw² on conv weights (besides weight_decay).")


class EvalCfg(Section):
    """Which weights a cell reports, and how they are scored (the evaluation protocol).

    Every evaluation runs on a copy of the weights whose batch-norm statistics are
    re-estimated over fixed batches of training patches ("precise BN", detectron2's
    ``PreciseBN`` hook): after a few steps the running averages still mostly hold their
    initial values and describe no set of weights. The weights themselves are never
    changed. The selected weights (validation and test scores, ``checkpoint_selected.pt``)
    get ``precise_bn_batches`` batches; the per-epoch validation curves (and so
    ``best_val``) the first ``curve_bn_batches`` of them, a cheaper estimate.

    ``selection`` picks the reported weights, never looking at the test set:
    ``last`` (the final weights, as nnU-Net reports), ``best_val`` (the epoch with the
    best validation Dice) or ``last_k`` (the average of the weights after each of the
    last ``last_k`` epochs, stochastic weight averaging).
    """

    selection: Literal["last", "best_val", "last_k"] = Field(
        "last",
        description="The reported weights: last (the final weights, as nnU-Net), best_val (the epoch with the best "
        "validation Dice; never the test set) or last_k (the average of the weights after each of the last last_k "
        "epochs).",
    )
    last_k: PositiveInt | None = Field(None, description="Required by, and only allowed with, selection: last_k.")
    precise_bn_batches: Annotated[int, Field(ge=0)] = Field(
        32,
        description="Fixed batches of training patches the batch-norm statistics of the scored weights are "
        "re-estimated over (detectron2's PreciseBN); 0: keep the running statistics.",
    )
    curve_bn_batches: Annotated[int, Field(ge=0)] = Field(
        4,
        description="The first batches of that sample used for the per-epoch validation curves (and so best_val); "
        "at most precise_bn_batches.",
    )
    inference: Literal["auto", "whole", "sliding_window"] = Field(
        "auto",
        description="How validation and test images are run: whole (one forward per image), sliding_window (MONAI's "
        "sliding_window_inference: windows of the training patch size, overlap, Gaussian weighting; memory bounded "
        "by the window, not the volume) or auto (sliding windows for 3D, whole images for 2D).",
    )
    overlap: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(0.5, description="Overlap of the sliding windows.")
    nsd_tolerance_mm: Annotated[float, Field(gt=0.0)] = Field(
        1.0,
        description="Tolerance of the normalised surface Dice (NSD) on test images, in mm of the grid Dice is scored "
        "on; 2D images have no spacing, so there a pixel counts as 1 mm. HD95 is reported beside it.",
    )

    @model_validator(mode="after")
    def _k_only_with_last_k(self):
        if self.curve_bn_batches > self.precise_bn_batches:
            raise ValueError(
                f"curve_bn_batches = {self.curve_bn_batches}: must be at most precise_bn_batches = "
                f"{self.precise_bn_batches} (the curves use the first batches of that sample)"
            )
        if self.selection == "last_k" and self.last_k is None:
            raise ValueError("selection last_k needs last_k (the number of final epochs to average)")
        if self.selection != "last_k" and self.last_k is not None:
            raise ValueError(f"last_k = {self.last_k} is used only by selection: last_k, not {self.selection}")
        return self


class Train(Section):
    """One training run: the baseline cell of the grid."""

    dataset: str = Field("lesion2d", description="The dataset (a name under datasets) the cell trains on.")
    noise: NonNeg = Field(
        0.0, description="Noise level of the processed dataset it trains on (see preprocess.noise_sigmas)."
    )
    train_fraction: TrainFraction = Field(1.0, description="Share of the split's training pool; 1: all of it.")
    split_seed: int = Field(0, description="Split seed: which validation set and training subsets.")
    seed: int = Field(0, description="Seed of the cell's random draws: initial weights, dropout, batch order.")
    epochs: PositiveInt = Field(10, description="Training epochs; schedules are per epoch.")
    steps_per_epoch: PositiveInt | None = Field(
        None,
        description="Optimizer steps per epoch. Set: every cell takes epochs × steps_per_epoch steps whatever its "
        "train fraction or batch size (batches drawn from a seeded stream of passes over its patches). null: an "
        "epoch is one pass (steps vary with the data).",
    )
    batch_size: PositiveInt = Field(16, description="Patches per optimizer step.")
    evaluation: EvalCfg = EvalCfg()
    model: ModelCfg = ModelCfg()
    loss: LossCfg = Field(default("loss"), description="The loss: a name or a mapping of its settings.")
    optimizer: OptimCfg = Field(default("optimizer"), description="The optimizer: a name or a mapping of its settings.")
    scheduler: SchedCfg = Field(
        default("scheduler"), description="The learning-rate schedule: a name or a mapping of its settings."
    )
    regularization: RegCfg = RegCfg()
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when present, else the CPU.")
    amp: bool = Field(False, description="Mixed precision (CUDA only).")
    threads: PositiveInt = Field(1, description="torch CPU threads; fixed, because numerics depend on it.")
    log_norms: bool = Field(True, description="Log per-step per-layer gradient and update norms (norms.parquet).")
    snapshot_every: Annotated[int, Field(ge=0)] = Field(
        0, description="Save the weights every N epochs (and at init) for probes; 0: never."
    )


class Grid(Section):
    """Cells = baseline + the full product of ``axes`` + each study's own product.

    Axis values are scalars (the axis's field) or, for loss/optimizer/scheduler, a
    mapping of that section's fields, e.g. ``{name: exponential, gamma: 0.97}``.
    """

    axes: dict[str, list[AxisValue]] = Field(
        {}, description="Axis -> values: the full product of these axes (every other value at baseline)."
    )
    studies: dict[str, dict[str, list[AxisValue]]] = Field(
        {}, description="Study name -> its axes: each study is its own small product (a one-factor-at-a-time design)."
    )
    seeds: list[int] = Field(
        [], description="Replicates of every cell (baseline, axes and studies): one cell per seed; []: train.seed only."
    )
    split_seeds: list[int] = Field(
        [], description="Replicates of every cell per split seed; []: train.split_seed only."
    )

    @field_validator("studies")
    @classmethod
    def _study_names(cls, studies: dict) -> dict:
        for name in studies:
            if not NAME_RE.match(name):
                raise ValueError(
                    f"study name {name!r} must match {NAME_RE.pattern} (it names the study's tables, figures and "
                    "LaTeX labels)"
                )
        return studies

    @model_validator(mode="after")
    def _distinct(self):
        for key in ("seeds", "split_seeds"):
            v = getattr(self, key)
            if len(set(v)) != len(v):
                raise ValueError(f"{key}: values must be distinct, got {v}")
        return self
