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
    smooth_nr: NonNeg = 1e-5
    smooth_dr: Positive = 1e-5
    batch_dice: bool = False  # dice over the whole batch (nnU-Net's batch dice), not per sample


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
    lam: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5


class DiceCE(DiceShared):
    """MONAI DiceCELoss: dice over all channels + cross-entropy."""

    name: Literal["dice_ce"] = "dice_ce"


class Tversky(DiceShared):
    """MONAI TverskyLoss on the foreground: alpha weighs false positives, beta false negatives."""

    name: Literal["tversky"] = "tversky"
    alpha: NonNeg = 0.3
    beta: NonNeg = 0.7


class GeneralizedDice(DiceShared):
    """MONAI GeneralizedDiceLoss (inverse-square-volume class weights)."""

    name: Literal["generalized_dice"] = "generalized_dice"


class CE(Section):
    """Cross-entropy (softmax head) or binary cross-entropy (sigmoid head)."""

    name: Literal["ce"] = "ce"


class TopKCE(Section):
    """Mean cross-entropy of the ``topk`` fraction of pixels with the largest loss."""

    name: Literal["topk_ce"] = "topk_ce"
    topk: Annotated[float, Field(gt=0.0, le=1.0)] = 0.25


class Focal(Section):
    """MONAI FocalLoss (Lin et al. 2017)."""

    name: Literal["focal"] = "focal"
    gamma: NonNeg = 2.0


# --- optimizers -----------------------------------------------------------------------


class OptimShared(Section):
    """Settings every optimizer takes (kept across a switch)."""

    name: str
    lr: Positive = 1e-3
    weight_decay: NonNeg = 0.0  # coupled (L2 in the gradient), decoupled for adamw


class SGD(OptimShared):
    name: Literal["sgd"] = "sgd"
    momentum: Momentum = 0.9
    nesterov: bool = False


class Adam(OptimShared):
    name: Literal["adam"] = "adam"
    betas: tuple[Fraction, Fraction] = (0.9, 0.999)


class AdamW(OptimShared):
    name: Literal["adamw"] = "adamw"
    betas: tuple[Fraction, Fraction] = (0.9, 0.999)


class RMSprop(OptimShared):
    name: Literal["rmsprop"] = "rmsprop"
    alpha: Fraction = 0.99  # smoothing of the squared-gradient average
    momentum: Momentum = 0.0  # torch's default


# --- schedulers: the learning-rate factor as a function of the epoch ------------------


class Constant(Section):
    name: Literal["none"] = "none"


class Step(Section):
    """×gamma every ``step_size`` epochs (torch StepLR)."""

    name: Literal["step"] = "step"
    step_size: PositiveInt = 100
    gamma: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1


class Exponential(Section):
    """×gamma every epoch (torch ExponentialLR)."""

    name: Literal["exponential"] = "exponential"
    gamma: Annotated[float, Field(gt=0.0, le=1.0)] = 0.97


class Cosine(Section):
    """Half a cosine from 1 down to ``min_factor`` over the run (torch CosineAnnealingLR)."""

    name: Literal["cosine"] = "cosine"
    min_factor: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0


class Poly(Section):
    """(1 − epoch/epochs)^power floored at ``min_factor`` (nnU-Net's schedule)."""

    name: Literal["poly"] = "poly"
    power: Positive = 0.9
    min_factor: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0


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
