"""The classic U-Net (Ronneberger et al. 2015), 2D and 3D.

Two 3×3(×3) convolutions per level, each followed by activation and (optionally)
batch norm; max-pool down; transposed convolution, or interpolation followed by a
1×1 convolution, up; skip connections by concatenation; a 1×1 head.
"""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU}


class ConvBlock(nn.Sequential):
    """(conv -> [norm] -> act) × 2, or conv -> act -> norm when ``norm_after_activation``."""

    def __init__(
        self, ndim: int, cin: int, cout: int, norm: str, activation: str, norm_after_activation: bool, dropout: float
    ) -> None:
        conv = nn.Conv2d if ndim == 2 else nn.Conv3d
        bn = nn.BatchNorm2d if ndim == 2 else nn.BatchNorm3d
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(((cin, cout), (cout, cout))):
            layers.append(conv(a, b, 3, padding=1, bias=norm == "none"))
            parts = [ACTIVATIONS[activation]()]
            if norm == "batch":
                parts.insert(len(parts) if norm_after_activation else 0, bn(b))
            layers += parts
            if i == 0 and dropout > 0:
                layers.append((nn.Dropout2d if ndim == 2 else nn.Dropout3d)(dropout))
        super().__init__(*layers)


class Up(nn.Module):
    def __init__(self, ndim: int, cin: int, cout: int, mode: str) -> None:
        super().__init__()
        if mode == "transpose":
            tconv = nn.ConvTranspose2d if ndim == 2 else nn.ConvTranspose3d
            self.up = tconv(cin, cout, 2, stride=2)
        elif mode == "interpolate":
            conv = nn.Conv2d if ndim == 2 else nn.Conv3d
            interp = "bilinear" if ndim == 2 else "trilinear"
            self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode=interp, align_corners=False), conv(cin, cout, 1))
        else:
            raise ValueError(f"upsampling must be 'transpose' or 'interpolate', got {mode!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(x)


class UNet(nn.Module):
    """U-Net for binary segmentation.

    Args:
        ndim: 2 or 3.
        in_channels: image channels (3 for RGB, 1 for CT).
        depth: number of poolings (4 = the classic five-level U-Net); spatial sides
            must be divisible by ``2**depth``.
        base_filters: filters of the first level, doubled at each level.
        norm: ``"batch"`` or ``"none"``.
        norm_after_activation: conv -> act -> BN instead of conv -> BN -> act.
        activation: ``relu``, ``leaky_relu``, ``elu`` or ``gelu``.
        dropout: channel dropout after the first conv of each contracting level.
        upsampling: ``"transpose"`` (2×2 transposed conv) or ``"interpolate"``
            (bilinear/trilinear ×2 then 1×1 conv).
        init: ``"xavier"`` or ``"kaiming"`` (normal) for conv weights; biases zero.
        output: ``"softmax"`` -> 2 output channels, ``"sigmoid"`` -> 1.

    Shapes:
        input (B, in_channels, *spatial) -> logits (B, 2 or 1, *spatial).
    """

    def __init__(
        self,
        ndim: int = 2,
        in_channels: int = 3,
        depth: int = 4,
        base_filters: int = 8,
        norm: str = "batch",
        norm_after_activation: bool = False,
        activation: str = "relu",
        dropout: float = 0.0,
        upsampling: str = "transpose",
        init: str = "kaiming",
        output: str = "softmax",
    ) -> None:
        super().__init__()
        if ndim not in (2, 3):
            raise ValueError(f"ndim must be 2 or 3, got {ndim}")
        if output not in ("softmax", "sigmoid"):
            raise ValueError(f"output must be 'softmax' or 'sigmoid', got {output!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        self.ndim, self.depth = ndim, depth
        widths = [base_filters * 2**i for i in range(depth + 1)]
        block = dict(ndim=ndim, norm=norm, activation=activation, norm_after_activation=norm_after_activation)
        self.down = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.down.append(ConvBlock(cin=cin, cout=w, dropout=dropout, **block))
            cin = w
        self.pool = (nn.MaxPool2d if ndim == 2 else nn.MaxPool3d)(2)
        self.ups = nn.ModuleList(Up(ndim, widths[i + 1], widths[i], upsampling) for i in reversed(range(depth)))
        self.up_blocks = nn.ModuleList(
            ConvBlock(cin=2 * widths[i], cout=widths[i], dropout=0.0, **block) for i in reversed(range(depth))
        )
        conv = nn.Conv2d if ndim == 2 else nn.Conv3d
        self.head = conv(widths[0], 2 if output == "softmax" else 1, 1)
        self._init(init)

    def _init(self, init: str) -> None:
        if init not in ("xavier", "kaiming"):
            raise ValueError(f"init must be 'xavier' or 'kaiming', got {init!r}")
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
                if init == "xavier":
                    nn.init.xavier_normal_(m.weight)
                else:
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2**self.depth
        if any(s % factor for s in x.shape[2:]):
            raise ValueError(f"input spatial shape {list(x.shape[2:])} must be divisible by 2**depth = {factor}")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.depth:
                skips.append(x)
                x = self.pool(x)
        for up, block, skip in zip(self.ups, self.up_blocks, reversed(skips)):
            x = block(torch.cat([up(x), skip], dim=1))
        return self.head(x)
