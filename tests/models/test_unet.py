"""U-Net variants: shapes, heads, normalisation, upsampling, init, dropout."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from segsweep.config import ModelCfg
from segsweep.models import build_model
from segsweep.models.unet import UNet


@pytest.mark.parametrize(("ndim", "spatial"), [(2, (32, 48)), (3, (16, 16, 32))])
@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
@pytest.mark.parametrize("upsampling", ["transpose", "interpolate"])
def test_shapes(ndim, spatial, output, upsampling):
    model = build_model(ModelCfg(depth=3, base_filters=4, output=output, upsampling=upsampling), ndim, 3)
    out = model(torch.randn(2, 3, *spatial))
    assert out.shape == (2, 2 if output == "softmax" else 1, *spatial)


def test_depth_4_has_five_levels_and_doubling_widths():
    model = UNet(2, 3, depth=4, base_filters=8)
    widths = [block[0].out_channels for block in model.down]
    assert widths == [8, 16, 32, 64, 128]


def test_norm_options_and_order():
    plain = UNet(2, 1, depth=2, base_filters=4, norm="none")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    bn = UNet(2, 1, depth=2, base_filters=4, norm="batch")
    assert isinstance(bn.down[0][1], nn.BatchNorm2d) and isinstance(bn.down[0][2], nn.ReLU)
    after = UNet(2, 1, depth=2, base_filters=4, norm="batch", norm_after_activation=True)
    assert isinstance(after.down[0][1], nn.ReLU) and isinstance(after.down[0][2], nn.BatchNorm2d)


def test_dropout_in_contracting_path_only():
    model = UNet(3, 1, depth=2, base_filters=4, dropout=0.3)
    assert sum(isinstance(m, nn.Dropout3d) for m in model.down.modules()) == 3
    assert not any(isinstance(m, nn.Dropout3d) for m in model.up_blocks.modules())


def test_init_schemes_differ_and_zero_biases():
    torch.manual_seed(0)
    xav = UNet(2, 3, depth=2, base_filters=8, init="xavier", norm="none")
    torch.manual_seed(0)
    kai = UNet(2, 3, depth=2, base_filters=8, init="kaiming", norm="none")
    w_x, w_k = xav.down[1][0].weight.detach(), kai.down[1][0].weight.detach()  # 8 -> 16 channels, 3x3
    assert float(w_k.std() / w_x.std()) == pytest.approx((2 / (8 * 9)) ** 0.5 / (2 / ((8 + 16) * 9)) ** 0.5, rel=0.15)
    assert float(xav.down[0][0].bias.detach().abs().sum()) == 0.0


def test_indivisible_input_is_named():
    with pytest.raises(ValueError, match=r"\[30, 32\] must be divisible by 2\*\*depth = 4"):
        UNet(2, 1, depth=2, base_filters=4)(torch.randn(1, 1, 30, 32))
