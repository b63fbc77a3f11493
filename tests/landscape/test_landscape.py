"""Landscapes: filter normalisation, the centre equals the model's own loss, the
batched path equals the loop (with and without batch norm), roughness numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segsweep.config import Landscape, LossCfg
from segsweep.landscape.directions import random_direction
from segsweep.landscape.evaluate import evaluate_batched, evaluate_loop, split_state
from segsweep.landscape.surface import cell_landscape, roughness
from segsweep.losses import build_loss
from segsweep.models.unet import UNet


def _model(norm: str, seed: int = 0) -> UNet:
    torch.manual_seed(seed)
    m = UNet(2, 3, depth=2, base_filters=4, norm=norm)
    m.train()
    with torch.no_grad():
        for _ in range(3):  # non-trivial running statistics
            m(torch.randn(4, 3, 16, 16) * 2 + 0.5)
    return m.eval()


def _batches(n=2):
    g = torch.Generator().manual_seed(1)
    return [(torch.rand(4, 3, 16, 16, generator=g), (torch.rand(4, 1, 16, 16, generator=g) > 0.7).long())
            for _ in range(n)]


def test_filter_normalisation():
    params, _ = split_state(_model("batch"))
    d = random_direction(params, 0, "filter", ignore_bias_bn=True)
    for name, p in params.items():
        if p.ndim > 1:
            torch.testing.assert_close(d[name].flatten(1).norm(dim=1), p.flatten(1).norm(dim=1))
        else:
            assert float(d[name].abs().sum()) == 0.0  # biases and BN parameters ignored
    kept = random_direction(params, 0, "filter", ignore_bias_bn=False)
    bn = next(n for n, p in params.items() if p.ndim == 1)
    torch.testing.assert_close(kept[bn].norm(), params[bn].norm())
    layer = random_direction(params, 0, "layer", ignore_bias_bn=True)
    w = next(n for n, p in params.items() if p.ndim > 1)
    torch.testing.assert_close(layer[w].norm(), params[w].norm())


@pytest.mark.parametrize("norm", ["batch", "none"])
@pytest.mark.parametrize("loss", ["dice", "ce"])
def test_centre_is_the_models_loss_and_batched_equals_loop(norm, loss):
    model, batches = _model(norm), _batches()
    loss_fn = build_loss(LossCfg(name=loss), "softmax")
    params, buffers = split_state(model)
    d1, d2 = (random_direction(params, s) for s in (1, 2))
    a = torch.linspace(-1, 1, 5)
    coords = torch.cartesian_prod(a, a)
    loop = evaluate_loop(model, loss_fn, batches, params, [d1, d2], coords, buffers)
    batched = evaluate_batched(model, loss_fn, batches, params, [d1, d2], coords, buffers, chunk=7)
    np.testing.assert_allclose(batched[0], loop[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(batched[1], loop[1], atol=1e-6)
    with torch.no_grad():
        own = np.mean([float(loss_fn(model(x), y)) for x, y in batches])
    centre = 12  # (0, 0) in the 5 x 5 grid
    assert loop[0][centre] == pytest.approx(own, rel=1e-5)
    assert batched[0][centre] == pytest.approx(own, rel=1e-4)


@pytest.mark.parametrize("evaluation", ["loop", "batched", "fast"])
def test_interpolation_ends_are_the_two_models(evaluation):
    init, trained = _model("batch", 0), _model("batch", 1)
    batches = _batches(1)
    loss_fn = build_loss(LossCfg(name="ce"), "softmax")
    cfg = Landscape(kinds=["interpolation"], resolution=7, evaluation=evaluation)  # t = -0.25, 0, ..., 1.25
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        cell_landscape(cfg, trained, loss_fn, trained.state_dict(), init.state_dict(), batches, Path(tmp) / "c")
        z = np.load(Path(tmp) / "c.npz")
        ts, losses = z["interp_t"], z["interp_loss"]
    with torch.no_grad():
        for model, t in ((init, 0.0), (trained, 1.0)):
            model.eval()
            own = float(loss_fn(model(batches[0][0]), batches[0][1]))
            assert losses[np.argmin(abs(ts - t))] == pytest.approx(own, rel=1e-4)


def test_roughness_of_known_surfaces():
    a = np.linspace(-1, 1, 11)
    bowl = np.add.outer(a**2, 3 * a**2)
    r = roughness(a, bowl)
    assert r["curvature_1"] == pytest.approx(2.0) and r["curvature_2"] == pytest.approx(6.0)
    assert r["nonconvex_fraction"] == 0.0
    saddle = np.subtract.outer(a**2, a**2)
    assert roughness(a, saddle)["nonconvex_fraction"] == 1.0
    assert roughness(a, np.cos(8 * a))["nonconvex_fraction"] > 0.3
