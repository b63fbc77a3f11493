"""Losses MONAI lacks, in the layout of ``segsweep.losses``.

Inputs are logits (B, C, *spatial) with C = 2 (softmax) or 1 (sigmoid); targets are
(B, 1, *spatial) in {0, 1}.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.losses import DiceLoss
from torch import nn


def two_channel_probs(logits: torch.Tensor) -> torch.Tensor:
    """(B, C, ...) logits -> (B, 2, ...) probabilities [background, foreground]."""
    if logits.shape[1] == 2:
        return torch.softmax(logits, dim=1)
    if logits.shape[1] == 1:
        p = torch.sigmoid(logits)
        return torch.cat([1 - p, p], dim=1)
    raise ValueError(f"logits must have 1 (sigmoid) or 2 (softmax) channels, got shape {list(logits.shape)}")


def two_channel_target(target: torch.Tensor) -> torch.Tensor:
    """(B, 1, ...) {0, 1} -> (B, 2, ...) one-hot float."""
    t = target.float()
    return torch.cat([1 - t, t], dim=1)


class SoftDice(nn.Module):
    """Soft dice loss (MONAI ``DiceLoss`` on probabilities) on chosen channels.

    Args:
        channels: ``"fg"`` foreground only, ``"bg"`` background only (the inverse
            dice: dice of the complements), ``"all"`` the mean over both.
        smooth_nr, smooth_dr: added to numerator and denominator (MONAI's meaning).
        batch: sum over the batch before the ratio instead of per sample.
    """

    SELECT = {"fg": [1], "bg": [0], "all": [0, 1]}

    def __init__(
        self, channels: str = "fg", smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, batch: bool = False
    ) -> None:
        super().__init__()
        if channels not in self.SELECT:
            raise ValueError(f"channels must be one of {', '.join(self.SELECT)}, got {channels!r}")
        self.sel = self.SELECT[channels]
        self.dice = DiceLoss(include_background=True, smooth_nr=smooth_nr, smooth_dr=smooth_dr, batch=batch)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.dice(two_channel_probs(logits)[:, self.sel], two_channel_target(target)[:, self.sel])


class DiceInverseMix(nn.Module):
    """λ·dice(foreground) + (1 − λ)·dice(background)."""

    def __init__(self, lam: float = 0.5, **dice_kwargs) -> None:
        super().__init__()
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lam must be in [0, 1], got {lam}")
        self.lam = lam
        self.fg, self.bg = SoftDice("fg", **dice_kwargs), SoftDice("bg", **dice_kwargs)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.lam * self.fg(logits, target) + (1 - self.lam) * self.bg(logits, target)


def pixel_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-pixel cross-entropy (B, *spatial): softmax CE for 2 channels, BCE for 1."""
    if logits.shape[1] == 1:
        return F.binary_cross_entropy_with_logits(logits[:, 0], target[:, 0].float(), reduction="none")
    return F.cross_entropy(logits, target[:, 0].long(), reduction="none")


class CrossEntropy(nn.Module):
    """Mean per-pixel cross-entropy."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return pixel_ce(logits, target).mean()


class TopKCrossEntropy(nn.Module):
    """Mean cross-entropy over the ``k`` fraction of pixels (of the whole batch) with the
    largest loss (Wu et al. 2016; nnU-Net's TopK loss with k = 10 %; 25 % in the
    gradient study)."""

    def __init__(self, k: float = 0.25) -> None:
        super().__init__()
        if not 0.0 < k <= 1.0:
            raise ValueError(f"k must be in (0, 1], got {k}")
        self.k = k

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        losses = pixel_ce(logits, target).flatten()
        n = max(1, int(round(self.k * losses.numel())))
        return torch.topk(losses, n, sorted=False).values.mean()


class FloatTarget(nn.Module):
    """Wrap a MONAI loss that wants a float target of the same rank."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss(logits, target.float())
