"""One typed model per loss, optimizer and scheduler: its own fields and defaults.

A section names its component (``{name: sgd, momentum: 0.95}``) and holds only that
component's settings, so a setting it does not take is an error naming the fields it
does take, and every default is written once, here (the builders in ``segsweep.losses``
and ``segsweep.optim`` take these models). ``loss``, ``optimizer`` and ``scheduler``
are discriminated unions on ``name``; a bare name stands for ``{name: <it>}``, a mapping
without ``name`` is the family's default component, and an unknown name fails listing
the valid ones.

Switching component (a grid cell with another ``name`` than the baseline) keeps the
settings both components share by definition, the fields of a common ``*Shared`` base
(every optimizer's ``lr`` and ``weight_decay``; the dice family's smoothing and batch
dice), and starts every other setting at the new component's default: step's ``gamma``
(per ``step_size`` epochs) is not exponential's (per epoch), SGD's ``momentum`` is not
RMSprop's. See ``switch``.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union, get_args

from pydantic import BeforeValidator, Field, PositiveInt, TypeAdapter

from segsweep.config.base import Fraction, Section

NonNeg = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Momentum = Annotated[float, Field(ge=0.0, lt=1.0)]


# --- losses: (B, C, *spatial) logits and (B, 1, *spatial) targets -> scalar -----------


class DiceShared(Section):
    """Settings of the dice family: smoothing and batch dice (kept across a switch)."""

    name: str
    smooth_nr: NonNeg = Field(1e-5, description="Added to the numerator (MONAI's meaning); kept across a switch.")
    smooth_dr: Positive = Field(1e-5, description="Added to the denominator; kept across a switch.")
    batch_dice: bool = Field(
        False,
        description="Dice over the whole batch (nnU-Net's batch dice), not per sample; kept across a switch.",
    )


class Dice(DiceShared):
    """Soft dice on the foreground channel."""

    name: Literal["dice"] = "dice"


class DiceAll(DiceShared):
    """Soft dice averaged over the background and foreground channels."""

    name: Literal["dice_all"] = "dice_all"


class InverseDice(DiceShared):
    """Dice of the complements (the background channel)."""

    name: Literal["inverse_dice"] = "inverse_dice"


class DiceInverseMix(DiceShared):
    """lam·dice + (1 − lam)·inverse dice."""

    name: Literal["dice_inverse_mix"] = "dice_inverse_mix"
    lam: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.5, description="λ: the weight of dice; 1 − λ weighs inverse dice."
    )


class DiceCE(DiceShared):
    """MONAI DiceCELoss: dice over all channels + cross-entropy."""

    name: Literal["dice_ce"] = "dice_ce"


class Tversky(DiceShared):
    """MONAI TverskyLoss on the foreground: alpha weighs false positives, beta false negatives."""

    name: Literal["tversky"] = "tversky"
    alpha: NonNeg = Field(0.3, description="Weight of the false positives.")
    beta: NonNeg = Field(0.7, description="Weight of the false negatives.")


class GeneralizedDice(DiceShared):
    """MONAI GeneralizedDiceLoss (inverse-square-volume class weights)."""

    name: Literal["generalized_dice"] = "generalized_dice"


class CE(Section):
    """Cross-entropy (softmax head) or binary cross-entropy (sigmoid head)."""

    name: Literal["ce"] = "ce"


class TopKCE(Section):
    """Mean cross-entropy of the ``topk`` fraction of pixels with the largest loss."""

    name: Literal["topk_ce"] = "topk_ce"
    topk: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.25, description="Fraction of the pixels, those with the largest loss, that are averaged."
    )


class Focal(Section):
    """MONAI FocalLoss (Lin et al. 2017)."""

    name: Literal["focal"] = "focal"
    gamma: NonNeg = Field(2.0, description="Focusing parameter: how much well-classified pixels are down-weighted.")


# --- optimizers -----------------------------------------------------------------------


class OptimShared(Section):
    """Settings every optimizer takes (kept across a switch)."""

    name: str
    lr: Positive = Field(1e-3, description="Learning rate (the schedule's factor 1); kept across a switch.")
    weight_decay: NonNeg = Field(
        0.0, description="Weight decay: coupled (L2 in the gradient), decoupled for adamw; kept across a switch."
    )


class SGD(OptimShared):
    """torch SGD."""

    name: Literal["sgd"] = "sgd"
    momentum: Momentum = Field(0.9, description="Momentum factor.")
    nesterov: bool = Field(False, description="Nesterov momentum (only with momentum > 0).")


class Adam(OptimShared):
    """torch Adam (coupled weight decay)."""

    name: Literal["adam"] = "adam"
    betas: tuple[Fraction, Fraction] = Field(
        (0.9, 0.999), description="Decay rates of the gradient's and squared gradient's running averages."
    )


class AdamW(OptimShared):
    """torch AdamW (decoupled weight decay)."""

    name: Literal["adamw"] = "adamw"
    betas: tuple[Fraction, Fraction] = Field(
        (0.9, 0.999), description="Decay rates of the gradient's and squared gradient's running averages."
    )


class RMSprop(OptimShared):
    """torch RMSprop."""

    name: Literal["rmsprop"] = "rmsprop"
    alpha: Fraction = Field(0.99, description="Smoothing of the squared-gradient average.")
    momentum: Momentum = Field(0.0, description="Momentum factor (torch's default 0).")


# --- schedulers: the learning-rate factor as a function of the epoch ------------------


class Constant(Section):
    """A constant learning rate."""

    name: Literal["none"] = "none"


class Step(Section):
    """×gamma every ``step_size`` epochs (torch StepLR)."""

    name: Literal["step"] = "step"
    step_size: PositiveInt = Field(100, description="Epochs between two steps.")
    gamma: Annotated[float, Field(gt=0.0, le=1.0)] = Field(0.1, description="Factor per step.")


class Exponential(Section):
    """×gamma every epoch (torch ExponentialLR)."""

    name: Literal["exponential"] = "exponential"
    gamma: Annotated[float, Field(gt=0.0, le=1.0)] = Field(0.97, description="Factor per epoch.")


class Cosine(Section):
    """Half a cosine from 1 down to ``min_factor`` over the run (torch CosineAnnealingLR)."""

    name: Literal["cosine"] = "cosine"
    min_factor: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(0.0, description="The factor at the end of the run.")


class Poly(Section):
    """(1 − epoch/epochs)^power floored at ``min_factor`` (nnU-Net's schedule)."""

    name: Literal["poly"] = "poly"
    power: Positive = Field(0.9, description="Exponent of the polynomial decay.")
    min_factor: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(0.0, description="Floor of the factor.")


# --- the families ---------------------------------------------------------------------

FAMILIES: dict[str, tuple[type[Section], ...]] = {
    "loss": (Dice, DiceAll, InverseDice, DiceInverseMix, CE, DiceCE, Focal, TopKCE, Tversky, GeneralizedDice),
    "optimizer": (SGD, Adam, AdamW, RMSprop),
    "scheduler": (Constant, Step, Exponential, Cosine, Poly),
}
DEFAULT = {"loss": "dice", "optimizer": "adam", "scheduler": "none"}


def name_of(model: type[Section]) -> str:
    """The ``name`` a component model answers to."""
    return get_args(model.model_fields["name"].annotation)[0]


MODELS: dict[str, dict[str, type[Section]]] = {f: {name_of(m): m for m in ms} for f, ms in FAMILIES.items()}


def default(family: str) -> Section:
    """The family's default component at its defaults (the baseline's when params.yaml
    names none): ``DEFAULT`` is the one place that says which it is."""
    return MODELS[family][DEFAULT[family]]()


def _named(family: str):
    """Before validation: a bare name -> ``{name: it}``; no name -> the family's default."""

    def fill(value: object) -> object:
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict) and "name" not in value:
            return {"name": DEFAULT[family], **value}
        return value

    return BeforeValidator(fill)


def _union(family: str):
    members = FAMILIES[family]
    return Annotated[Union[members], Field(discriminator="name"), _named(family)]  # noqa: UP007


LossCfg = _union("loss")
OptimCfg = _union("optimizer")
SchedCfg = _union("scheduler")


def shared_fields(a: type[Section], b: type[Section]) -> set[str]:
    """Fields ``a`` and ``b`` both inherit from one ``*Shared`` base (not ``name``)."""
    common = [c for c in a.__mro__ if c in b.__mro__ and issubclass(c, Section) and c is not Section]
    return {f for c in common for f in c.__annotations__ if f != "name"}


def switch(family: str, section: dict, name: str) -> dict:
    """``section`` (a dumped component of ``family``) as component ``name``: the shared
    settings kept, the others left to ``name``'s defaults. Same name: unchanged."""
    if section.get("name") == name:
        return dict(section)
    if name not in MODELS[family]:  # left for validation to refuse, naming the valid ones
        return {**section, "name": name}
    old = MODELS[family].get(section.get("name"))
    keep = shared_fields(old, MODELS[family][name]) if old else set()
    return {"name": name, **{k: v for k, v in section.items() if k in keep}}


_ADAPTERS = {f: TypeAdapter(u) for f, u in (("loss", LossCfg), ("optimizer", OptimCfg), ("scheduler", SchedCfg))}


def parse(family: str, value: str | dict) -> Section:
    """A component model from a name or a mapping, as params.yaml writes it:
    ``parse("optimizer", {"name": "sgd", "lr": 0.1})`` -> ``SGD(lr=0.1, ...)``."""
    return _ADAPTERS[family].validate_python(value)


def loss_cfg(**settings) -> Section:
    """``loss_cfg(name="topk_ce", topk=0.1)``: a loss model (the default loss without a name)."""
    return parse("loss", settings)


def optim_cfg(**settings) -> Section:
    """``optim_cfg(name="sgd", momentum=0.95)``: an optimizer model."""
    return parse("optimizer", settings)


def sched_cfg(**settings) -> Section:
    """``sched_cfg(name="step", gamma=0.5)``: a scheduler model."""
    return parse("scheduler", settings)
