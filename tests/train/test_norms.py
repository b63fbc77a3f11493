"""Fused per-layer gradient/update norms equal a plain per-tensor loop; the update
norm is lr·grad norm for plain SGD and differs from it under momentum."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from segsweep.models.unet import UNet
from segsweep.train.norms import NormLogger


def _step(model, opt, logger):
    x = torch.randn(2, 1, 16, 16)
    loss = model(x).square().mean()
    opt.zero_grad()
    loss.backward()
    ref_grad = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    logger.before_step()
    opt.step()
    logger.after_step()
    ref_upd = {n: (p.detach() - before[n]) for n, p in model.named_parameters()}
    return ref_grad, ref_upd


def _per_layer(tensors: dict) -> dict:
    out: dict[str, float] = {}
    for name, t in tensors.items():
        layer = name.rsplit(".", 1)[0]
        out[layer] = out.get(layer, 0.0) + float(t.double().pow(2).sum())
    return {k: v**0.5 for k, v in out.items()}


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_norms_match_a_loop(momentum):
    torch.manual_seed(0)
    model = UNet(2, 1, depth=2, base_filters=4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=momentum)
    logger = NormLogger(model)
    refs = [_step(model, opt, logger) for _ in range(3)]
    table = logger.table(pd.DataFrame({"step": [0, 1, 2]}))
    for i, (grad, upd) in enumerate(refs):
        for layer, value in _per_layer(grad).items():
            assert table.loc[i, f"grad/{layer}"] == pytest.approx(value, rel=1e-4)
        for layer, value in _per_layer(upd).items():
            assert table.loc[i, f"update/{layer}"] == pytest.approx(value, rel=1e-3, abs=1e-9)
    ratio = table["update_total"] / (0.1 * table["grad_total"])
    if momentum == 0.0:
        assert ratio.tolist() == pytest.approx([1.0] * 3, rel=1e-3)
    else:  # the momentum buffer makes later updates larger than lr·grad
        assert ratio.iloc[0] == pytest.approx(1.0, rel=1e-3) and ratio.iloc[2] > 1.05
