"""Per-pixel gradients: analytical derivatives of soft dice and cross-entropy against
autograd, and the qualitative findings on controlled predictions."""

from __future__ import annotations

import pytest
import torch

from segsweep.config import loss_cfg
from segsweep.losses import build_loss
from segsweep.probe.pixels import disk, fg_bg_summary, pixel_grads, synthetic


def _probs_logits(seed=0, shape=(1, 1, 6, 6)):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(shape, generator=g, dtype=torch.float64)
    t = (torch.rand(shape, generator=g) > 0.6).double()
    return z, t


def test_soft_dice_derivative_matches_autograd():
    # L = 1 - (2 Σpt + s) / (Σp + Σt + s);  ∂L/∂p_i = -(2 t_i D - (2 I + s)) / D²  with I = Σpt, D = Σp + Σt + s
    z, t = _probs_logits()
    s = 1e-5
    p = torch.sigmoid(z)
    inter, denom = (p * t).sum(), p.sum() + t.sum() + s
    dldp = -(2 * t * denom - (2 * inter + s)) / denom**2
    dldz = dldp * p * (1 - p)
    loss = build_loss(loss_cfg(name="dice", smooth_nr=s, smooth_dr=s), "sigmoid")
    _, gz, gp = pixel_grads(loss, z, t)
    torch.testing.assert_close(gz, dldz, rtol=1e-4, atol=1e-9)
    torch.testing.assert_close(gp, dldp, rtol=1e-4, atol=1e-9)


def test_cross_entropy_derivative_matches_autograd():
    # BCE mean over N pixels: ∂L/∂z_i = (p_i - t_i) / N, depending on that pixel only.
    z, t = _probs_logits(1)
    _, gz, _ = pixel_grads(build_loss(loss_cfg(name="ce"), "sigmoid"), z, t)
    torch.testing.assert_close(gz, (torch.sigmoid(z) - t) / z.numel())
    # Softmax head: ∂L/∂z_fg = (softmax_fg - t) / N as well.
    z2 = torch.cat([torch.zeros_like(z), z], 1).requires_grad_(True)
    build_loss(loss_cfg(name="ce"), "softmax")(z2, t).backward()
    torch.testing.assert_close(z2.grad[:, 1:], (torch.sigmoid(z) - t) / z.numel())


def test_dice_favours_foreground_pixels_and_ce_does_not_at_half():
    t = disk(32)
    z = torch.zeros_like(t)
    dice = fg_bg_summary(pixel_grads(build_loss(loss_cfg(name="dice"), "sigmoid"), z, t)[1], t)
    ce = fg_bg_summary(pixel_grads(build_loss(loss_cfg(name="ce"), "sigmoid"), z, t)[1], t)
    assert dice["fg_over_bg"] > 2 and dice["mean_abs_bg"] > 0  # bg pixels still get some
    assert ce["fg_over_bg"] == pytest.approx(1.0)


def test_dice_gradient_saturates_for_confident_predictions():
    t = disk(32)
    loss = build_loss(loss_cfg(name="dice"), "sigmoid")
    grads = []
    for logit in (0.0, -8.0):  # a foreground pixel predicted 0.5, then confidently wrong
        z = torch.zeros_like(t)
        z[0, 0, 16, 16] = logit
        grads.append(abs(float(pixel_grads(loss, z, t)[1][0, 0, 16, 16])))
    assert grads[1] < grads[0] / 100


def test_synthetic_outputs(tmp_path):
    losses = {n: build_loss(loss_cfg(name=n), "sigmoid") for n in ("dice", "ce")}
    summary = synthetic(losses, 32, tmp_path / "s")
    assert set(summary["state"]) == {"p=0.5", "partly trained"}
    for suffix in ("_curves.png", "_curves.pdf", "_maps.png", "_maps.pdf", "_summary.csv"):
        assert (tmp_path / f"s{suffix}").exists()
