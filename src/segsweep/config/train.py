"""Typed models of the ``train`` (baseline cell) and ``grid`` sections of params.yaml.

A grid cell is the baseline ``train`` section with a few values replaced. The loss,
optimizer and scheduler are one model per component (``segsweep.config.components``):
an unknown name or a setting the named component does not take fails at validation,
listing what is valid.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, model_validator

from segsweep.config.base import Section, TrainFraction
from segsweep.config.components import LossCfg, OptimCfg, SchedCfg, default

NonNeg = Annotated[float, Field(ge=0.0)]
# (any float here: each cell's own model rejects a non-finite one, naming the cell)
AxisValue = str | int | Annotated[float, Field(allow_inf_nan=True)] | bool | dict[str, Any]


class ModelCfg(Section):
    """A U-Net (2D or 3D, from the dataset). Inputs (B, C, *spatial); outputs logits
    (B, 2, ...) for ``softmax`` or (B, 1, ...) for ``sigmoid``."""

    name: Literal["unet"] = "unet"
    depth: Annotated[int, Field(ge=1, le=6)] = 4
    base_filters: PositiveInt = 8
    norm: Literal["batch", "none"] = "batch"
    norm_after_activation: bool = False
    activation: Literal["relu", "leaky_relu", "elu", "gelu"] = "relu"
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    upsampling: Literal["transpose", "interpolate"] = "transpose"
    init: Literal["xavier", "kaiming"] = "kaiming"
    output: Literal["softmax", "sigmoid"] = "softmax"


class RegCfg(Section):
    """Explicit penalties added to the loss on conv weights: l1·Σ|w| + l2·Σw²."""

    l1: NonNeg = 0.0
    l2: NonNeg = 0.0


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

    selection: Literal["last", "best_val", "last_k"] = "last"
    last_k: PositiveInt | None = None  # required by, and only allowed with, selection: last_k
    precise_bn_batches: Annotated[int, Field(ge=0)] = 32  # 0: keep the running statistics
    curve_bn_batches: Annotated[int, Field(ge=0)] = 4  # at most precise_bn_batches
    # How validation and test images are run: ``whole`` (one forward per image),
    # ``sliding_window`` (MONAI's sliding_window_inference: windows of the training patch
    # size, ``overlap``, Gaussian weighting; memory bounded by the window, not the
    # volume) or ``auto`` (sliding windows for 3D, whole images for 2D).
    inference: Literal["auto", "whole", "sliding_window"] = "auto"
    overlap: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.5

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

    dataset: str = "lesion2d"
    noise: NonNeg = 0.0
    train_fraction: TrainFraction = 1.0  # share of the split's training pool
    split_seed: int = 0
    seed: int = 0
    epochs: PositiveInt = 10
    # Optimizer steps per epoch. Set: every cell takes epochs × steps_per_epoch steps
    # whatever its train fraction or batch size (batches drawn from a seeded stream of
    # passes over its patches). None: an epoch is one pass (steps vary with the data).
    steps_per_epoch: PositiveInt | None = None
    batch_size: PositiveInt = 16
    evaluation: EvalCfg = EvalCfg()
    model: ModelCfg = ModelCfg()
    loss: LossCfg = default("loss")
    optimizer: OptimCfg = default("optimizer")
    scheduler: SchedCfg = default("scheduler")
    regularization: RegCfg = RegCfg()
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: bool = False  # mixed precision (CUDA only)
    threads: PositiveInt = 1  # torch CPU threads; fixed for reproducible numerics
    log_norms: bool = True  # per-step per-layer gradient and update norms
    snapshot_every: Annotated[int, Field(ge=0)] = 0  # save weights every N epochs (and at init); 0: never


class Grid(Section):
    """Cells = baseline + the full product of ``axes`` + each study's own product.

    Axis values are scalars (the axis's field) or, for loss/optimizer/scheduler, a
    mapping of that section's fields, e.g. ``{name: exponential, gamma: 0.97}``.
    """

    axes: dict[str, list[AxisValue]] = {}
    studies: dict[str, dict[str, list[AxisValue]]] = {}
    # Replicates of every cell (baseline, axes and studies): one cell per seed, and per
    # split seed. Empty: train.seed / train.split_seed only.
    seeds: list[int] = []
    split_seeds: list[int] = []

    @model_validator(mode="after")
    def _distinct(self):
        for key in ("seeds", "split_seeds"):
            v = getattr(self, key)
            if len(set(v)) != len(v):
                raise ValueError(f"{key}: values must be distinct, got {v}")
        return self
