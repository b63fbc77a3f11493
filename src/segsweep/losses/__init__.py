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
def dice(output: str, smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, batch_dice: bool = False):
    """Soft dice on the foreground channel only."""
    from segsweep.losses.custom import SoftDice

    return SoftDice("fg", smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch_dice)


@LOSSES.register("dice_all")
def dice_all(output: str, smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, batch_dice: bool = False):
    """Soft dice averaged over the background and foreground channels."""
    from segsweep.losses.custom import SoftDice

    return SoftDice("all", smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch_dice)


@LOSSES.register("inverse_dice")
def inverse_dice(output: str, smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, batch_dice: bool = False):
    """Dice of the complements (the background channel)."""
    from segsweep.losses.custom import SoftDice

    return SoftDice("bg", smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch_dice)


@LOSSES.register("dice_inverse_mix")
def dice_inverse_mix(
    output: str, lam: float = 0.5, smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, batch_dice: bool = False
):
    """λ·dice + (1 − λ)·inverse dice (λ = 0.5: the mean of the two)."""
    from segsweep.losses.custom import DiceInverseMix

    return DiceInverseMix(lam, smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch_dice)


@LOSSES.register("ce")
def ce(output: str):
    """Cross-entropy (softmax head) or binary cross-entropy (sigmoid head)."""
    from segsweep.losses.custom import CrossEntropy

    return CrossEntropy()


@LOSSES.register("topk_ce")
def topk_ce(output: str, topk: float = 0.25):
    """Mean cross-entropy of the ``topk`` fraction of pixels with the largest loss."""
    from segsweep.losses.custom import TopKCrossEntropy

    return TopKCrossEntropy(topk)


@LOSSES.register("dice_ce")
def dice_ce(output: str, smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, batch_dice: bool = False):
    """MONAI DiceCELoss: dice (all channels) + cross-entropy."""
    from monai.losses import DiceCELoss

    act = {"softmax": True, "to_onehot_y": True} if output == "softmax" else {"sigmoid": True}
    return _float_target(DiceCELoss(smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch_dice, **act))


@LOSSES.register("focal")
def focal(output: str, focal_gamma: float = 2.0):
    """MONAI FocalLoss (Lin et al. 2017) with ``gamma``."""
    from monai.losses import FocalLoss

    act = {"use_softmax": True, "to_onehot_y": True} if output == "softmax" else {}
    return _float_target(FocalLoss(gamma=focal_gamma, **act))


@LOSSES.register("tversky")
def tversky(
    output: str,
    tversky_alpha: float = 0.3,
    tversky_beta: float = 0.7,
    smooth_nr: float = 1e-5,
    smooth_dr: float = 1e-5,
    batch_dice: bool = False,
):
    """MONAI TverskyLoss on the foreground (α weighs false positives, β false negatives)."""
    from monai.losses import TverskyLoss

    act = (
        {"softmax": True, "to_onehot_y": True, "include_background": False}
        if output == "softmax"
        else {"sigmoid": True}
    )
    return _float_target(
        TverskyLoss(
            alpha=tversky_alpha, beta=tversky_beta, smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch_dice, **act
        )
    )


@LOSSES.register("generalized_dice")
def generalized_dice(output: str, smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, batch_dice: bool = False):
    """MONAI GeneralizedDiceLoss (Sudre et al. 2017), inverse-square-volume class weights."""
    from monai.losses import GeneralizedDiceLoss

    act = {"softmax": True, "to_onehot_y": True} if output == "softmax" else {"sigmoid": True}
    return _float_target(GeneralizedDiceLoss(smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch_dice, **act))


def _float_target(loss):
    from segsweep.losses.custom import FloatTarget

    return FloatTarget(loss)


def build_loss(cfg, output: str):
    """The loss named by ``cfg.name`` (a ``LossCfg``) for a ``softmax``/``sigmoid`` head,
    given the settings its builder accepts."""
    return LOSSES.get(cfg.name)(output, **LOSSES.settings(cfg.name, cfg.model_dump(), exclude=("output",)))
