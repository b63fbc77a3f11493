"""Losses against values computed by hand on tiny tensors, for both output heads."""

from __future__ import annotations

import math

import pytest
import torch

from segsweep.config import loss_cfg
from segsweep.losses import LOSSES, build_loss

# Four pixels, one foreground; every prediction 0.5 (logit 0): by hand, with smoothing
# 1e-5 negligible: dice_fg = 1 - 2·0.5·1 / (0.5·4 + 1) = 2/3, dice_bg = 1 - 2·0.5·3 / (2 + 3) = 0.4.
TARGET = torch.tensor([0, 0, 0, 1.0]).reshape(1, 1, 2, 2)
HALF = {
    "dice": 2 / 3,
    "inverse_dice": 0.4,
    "dice_all": (2 / 3 + 0.4) / 2,
    "dice_inverse_mix": 0.25 * 2 / 3 + 0.75 * 0.4,  # lam = 0.25 below
    "ce": math.log(2),
    "topk_ce": math.log(2),
    "focal": 0.25 * math.log(2),  # (1 - p_t)^2 · CE with p_t = 0.5
    "tversky": 1 - 0.5 / (0.5 + 0.3 * 1.5 + 0.7 * 0.5),  # TP 0.5, FP 1.5, FN 0.5
    "generalized_dice": 2 / 3,  # one foreground class: weights cancel
    "dice_ce": 2 / 3 + math.log(2),  # sigmoid head: dice on its channel + BCE
}


def _logits(head: str, z: torch.Tensor) -> torch.Tensor:
    """Foreground logit z as a sigmoid head, or as softmax logits [0, z] (same probabilities)."""
    return z if head == "sigmoid" else torch.cat([torch.zeros_like(z), z], dim=1)


def _cfg(name: str):
    """The loss at its defaults; the λ mix at λ = 0.25 (the value HALF assumes)."""
    return loss_cfg(name=name, lam=0.25) if name == "dice_inverse_mix" else loss_cfg(name=name)


@pytest.mark.parametrize("name", sorted(HALF))
def test_hand_value_at_half_sigmoid(name):
    loss = build_loss(_cfg(name), "sigmoid")
    assert float(loss(_logits("sigmoid", torch.zeros(1, 1, 2, 2)), TARGET)) == pytest.approx(HALF[name], abs=1e-4)


@pytest.mark.parametrize("name", ["dice", "inverse_dice", "dice_all", "dice_inverse_mix", "ce", "topk_ce", "tversky"])
def test_softmax_head_equals_sigmoid_head(name):
    loss_s, loss_m = (
        build_loss(_cfg(name), "sigmoid"),
        build_loss(_cfg(name), "softmax"),
    )
    z = torch.tensor([2.0, -1.0, 0.0, 3.0]).reshape(1, 1, 2, 2)
    assert float(loss_m(_logits("softmax", z), TARGET)) == pytest.approx(float(loss_s(z, TARGET)), abs=1e-5)


def test_topk_keeps_the_hardest_pixels():
    z = torch.tensor([2.0, -1.0, 0.0, 3.0]).reshape(1, 1, 2, 2)  # targets 0, 0, 0, 1
    per_pixel = [math.log1p(math.exp(2.0)), math.log1p(math.exp(-1.0)), math.log(2), math.log1p(math.exp(-3.0))]
    expected = sum(sorted(per_pixel)[-2:]) / 2
    assert float(build_loss(loss_cfg(name="topk_ce", topk=0.5), "sigmoid")(z, TARGET)) == pytest.approx(
        expected, abs=1e-5
    )


def test_batch_dice_differs_from_per_sample_dice():
    target = torch.zeros(2, 1, 2, 2)
    target[0, 0, 0, 0] = 1
    z = torch.zeros(2, 1, 2, 2)  # sample 1 has no foreground: per-sample dice is 1 - ε/(2+ε) ≈ 1
    per_sample = float(build_loss(loss_cfg(name="dice"), "sigmoid")(z, target))
    batch = float(build_loss(loss_cfg(name="dice", batch_dice=True), "sigmoid")(z, target))
    assert per_sample == pytest.approx((2 / 3 + 1.0) / 2, abs=1e-4)
    assert batch == pytest.approx(1 - 1 / (4 + 1), abs=1e-4)  # 2·0.5 / (0.5·8 + 1)


@pytest.mark.parametrize("name", LOSSES.names())
@pytest.mark.parametrize("head", ["softmax", "sigmoid"])
@pytest.mark.parametrize("shape", [(2, 8, 8), (2, 4, 4, 4)])
def test_every_loss_is_finite_and_differentiable(name, head, shape):
    torch.manual_seed(0)
    target = (torch.rand(shape[0], 1, *shape[1:]) > 0.7).float()
    logits = torch.randn(shape[0], 2 if head == "softmax" else 1, *shape[1:], requires_grad=True)
    loss = build_loss(loss_cfg(name=name), head)(logits, target)
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(loss) and logits.grad.abs().sum() > 0
