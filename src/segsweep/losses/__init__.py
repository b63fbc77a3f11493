"""Losses by name. Every loss maps ``(logits, target) -> scalar``:

- ``logits``: (B, C, *spatial) raw network outputs; C = 2 for a softmax head, 1 for a
  sigmoid head (the foreground logit);
- ``target``: (B, 1, *spatial) in {0, 1} (float or integer).

MONAI's implementations are used where they match (DiceLoss inside the dice family,
DiceCELoss, FocalLoss, TverskyLoss, GeneralizedDiceLoss); ``segsweep.losses.custom``
holds what MONAI lacks (channel-selected dice on probabilities, inverse dice, the
λ mix, top-k cross-entropy, plain cross-entropy for both heads).
"""

from __future__ import annotations

from segsweep.registry import Registry

LOSSES = Registry("loss")


@LOSSES.register("dice")
def dice(cfg, output: str):
    """Soft dice on the foreground channel only."""
    from segsweep.losses.custom import SoftDice

    return SoftDice("fg", **_smoothing(cfg))


@LOSSES.register("dice_all")
def dice_all(cfg, output: str):
    """Soft dice averaged over the background and foreground channels."""
    from segsweep.losses.custom import SoftDice

    return SoftDice("all", **_smoothing(cfg))


@LOSSES.register("inverse_dice")
def inverse_dice(cfg, output: str):
    """Dice of the complements (the background channel)."""
    from segsweep.losses.custom import SoftDice

    return SoftDice("bg", **_smoothing(cfg))


@LOSSES.register("dice_inverse_mix")
def dice_inverse_mix(cfg, output: str):
    """λ·dice + (1 − λ)·inverse dice (λ = 0.5: the mean of the two)."""
    from segsweep.losses.custom import DiceInverseMix

    return DiceInverseMix(cfg.lam, **_smoothing(cfg))


@LOSSES.register("ce")
def ce(cfg, output: str):
    """Cross-entropy (softmax head) or binary cross-entropy (sigmoid head)."""
    from segsweep.losses.custom import CrossEntropy

    return CrossEntropy()


@LOSSES.register("topk_ce")
def topk_ce(cfg, output: str):
    """Mean cross-entropy of the ``topk`` fraction of pixels with the largest loss."""
    from segsweep.losses.custom import TopKCrossEntropy

    return TopKCrossEntropy(cfg.topk)


@LOSSES.register("dice_ce")
def dice_ce(cfg, output: str):
    """MONAI DiceCELoss: dice (all channels) + cross-entropy."""
    from monai.losses import DiceCELoss

    act = {"softmax": True, "to_onehot_y": True} if output == "softmax" else {"sigmoid": True}
    return _float_target(DiceCELoss(**_smoothing(cfg), **act))


@LOSSES.register("focal")
def focal(cfg, output: str):
    """MONAI FocalLoss (Lin et al. 2017) with ``gamma``."""
    from monai.losses import FocalLoss

    act = {"use_softmax": True, "to_onehot_y": True} if output == "softmax" else {}
    return _float_target(FocalLoss(gamma=cfg.gamma, **act))


@LOSSES.register("tversky")
def tversky(cfg, output: str):
    """MONAI TverskyLoss on the foreground (α weighs false positives, β false negatives)."""
    from monai.losses import TverskyLoss

    act = (
        {"softmax": True, "to_onehot_y": True, "include_background": False}
        if output == "softmax"
        else {"sigmoid": True}
    )
    return _float_target(TverskyLoss(alpha=cfg.alpha, beta=cfg.beta, **_smoothing(cfg), **act))


@LOSSES.register("generalized_dice")
def generalized_dice(cfg, output: str):
    """MONAI GeneralizedDiceLoss (Sudre et al. 2017), inverse-square-volume class weights."""
    from monai.losses import GeneralizedDiceLoss

    act = {"softmax": True, "to_onehot_y": True} if output == "softmax" else {"sigmoid": True}
    return _float_target(GeneralizedDiceLoss(**_smoothing(cfg), **act))


def _float_target(loss):
    from segsweep.losses.custom import FloatTarget

    return FloatTarget(loss)


def _smoothing(cfg) -> dict:
    """The dice family's shared settings as MONAI's keyword arguments."""
    return {"smooth_nr": cfg.smooth_nr, "smooth_dr": cfg.smooth_dr, "batch": cfg.batch_dice}


def build_loss(cfg, output: str):
    """The loss ``cfg`` (a component model of ``segsweep.config.components``: ``Dice``,
    ``TopKCE``, ...) for a ``softmax`` or ``sigmoid`` head."""
    return LOSSES.get(cfg.name)(cfg, output)
