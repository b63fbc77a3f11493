"""The fast path (folded batch norm, fused activations, points in parallel) gives the
loop's numbers: with and without batch norm, on a line and a plane, with the norm after
the activation, with moving batch-norm parameters and blended buffers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segsweep.config import loss_cfg
from segsweep.landscape.directions import random_direction
from segsweep.landscape.evaluate import evaluate_loop, split_state
from segsweep.landscape.fast import evaluate_fast
from segsweep.losses import build_loss
from segsweep.models.unet import UNet


def _model(seed: int = 0, **kw) -> UNet:
    torch.manual_seed(seed)
    m = UNet(2, 3, depth=2, base_filters=4, **kw)
    m.train()
    with torch.no_grad():
        for _ in range(3):  # non-trivial running statistics
            m(torch.randn(4, 3, 16, 16) * 2 + 0.5)
        for p in m.parameters():  # trained-like biases and BN affine parameters
            if p.ndim == 1:
                p.add_(0.1 * torch.randn_like(p))
    return m.eval()


def _batches(n=2):
    g = torch.Generator().manual_seed(1)
    return [
        (torch.rand(4, 3, 16, 16, generator=g), (torch.rand(4, 1, 16, 16, generator=g) > 0.7).long()) for _ in range(n)
    ]


def _close(fast, loop):
    # fp32 rounding: folding and fusing reorder a few products and sums (observed
    # differences ~4e-7 on losses ~0.5); Dice of hard predictions may flip a pixel
    # whose two logits are within rounding of each other, hence its own tolerance
    np.testing.assert_allclose(fast[0], loop[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fast[1], loop[1], atol=1e-3)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(
    "kw",
    [
        {"norm": "batch"},
        {"norm": "none"},
        {"norm": "batch", "norm_after_activation": True},
        {"norm": "batch", "activation": "gelu", "upsampling": "interpolate"},
        {"norm": "batch", "activation": "elu"},
    ],
    ids=["bn", "no-bn", "bn-after-act", "gelu-interp", "elu"],
)
def test_fast_equals_loop_on_a_line_and_a_plane(kw, workers):
    model, batches = _model(**kw), _batches()
    loss_fn = build_loss(loss_cfg(name="dice_inverse_mix"), "softmax")
    params, buffers = split_state(model)
    d1, d2 = (random_direction(params, s) for s in (1, 2))
    a = torch.linspace(-1, 1, 5)
    for dirs, coords in (([d1], a[:, None]), ([d1, d2], torch.cartesian_prod(a, a))):
        loop = evaluate_loop(model, loss_fn, batches, params, dirs, coords, buffers)
        fast = evaluate_fast(model, loss_fn, batches, params, dirs, coords, buffers, workers=workers)
        _close(fast, loop)


def test_fast_folds_moving_batch_norm_and_blended_buffers():
    init, trained = _model(0), _model(1)
    batches = _batches(1)
    loss_fn = build_loss(loss_cfg(name="ce"), "softmax")
    params, buffers = split_state(trained)
    # directions of BN weights and biases kept: the norm moves with the point
    d1, d2 = (random_direction(params, s, ignore_bias_bn=False) for s in (1, 2))
    a = torch.linspace(-1, 1, 3)
    coords = torch.cartesian_prod(a, a)
    _close(
        evaluate_fast(trained, loss_fn, batches, params, [d1, d2], coords, buffers),
        evaluate_loop(trained, loss_fn, batches, params, [d1, d2], coords, buffers),
    )
    # interpolation init -> trained with the running statistics blended too
    p0, b0 = split_state(init)
    delta = {k: params[k] - p0[k] for k in params}
    floats = [k for k, v in buffers.items() if v.is_floating_point()]
    kw = {
        "buffer_base": {**buffers, **{k: b0[k] for k in floats}},
        "buffer_dirs": [{k: buffers[k] - b0[k] for k in floats}],
    }
    ts = torch.linspace(-0.25, 1.25, 7)[:, None]
    _close(
        evaluate_fast(trained, loss_fn, batches, p0, [delta], ts, buffers, **kw),
        evaluate_loop(trained, loss_fn, batches, p0, [delta], ts, buffers, **kw),
    )


def test_other_models_fall_back_to_the_loop():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3, padding=1), torch.nn.BatchNorm2d(2)).eval()
    loss_fn = build_loss(loss_cfg(name="ce"), "softmax")
    params, buffers = split_state(model)
    d1 = random_direction(params, 1)
    coords = torch.linspace(-1, 1, 3)[:, None]
    batches = _batches(1)
    _close(
        evaluate_fast(model, loss_fn, batches, params, [d1], coords, buffers),
        evaluate_loop(model, loss_fn, batches, params, [d1], coords, buffers),
    )


def test_thread_count_is_restored():
    model, batches = _model(), _batches(1)
    loss_fn = build_loss(loss_cfg(name="ce"), "softmax")
    params, buffers = split_state(model)
    before = torch.get_num_threads()
    evaluate_fast(model, loss_fn, batches, params, [random_direction(params, 1)], torch.zeros(3, 1), buffers, workers=2)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("workers", [1, 2])
def test_points_with_invalid_weights_give_the_reference_numbers(workers):
    # Extrapolating blended running statistics (interpolation beyond t = 1) can make a
    # variance negative: PyTorch's forward then yields NaN, which oneDNN's fused ReLU
    # would silently turn into 0. Seen on a trained cell at t = 1.25.
    model, batches = _model(), _batches(1)
    loss_fn = build_loss(loss_cfg(name="dice_inverse_mix"), "softmax")
    params, buffers = split_state(model)
    zero = {k: torch.zeros_like(v) for k, v in params.items()}
    var = {k: -v for k, v in buffers.items() if k.endswith("running_var")}  # var(t) = (1 - t) var
    kw = {"buffer_base": buffers, "buffer_dirs": [var]}
    ts = torch.tensor([[0.0], [0.5], [1.25], [-0.25]])
    loop = evaluate_loop(model, loss_fn, batches, params, [zero], ts, buffers, **kw)
    fast = evaluate_fast(model, loss_fn, batches, params, [zero], ts, buffers, workers=workers, **kw)
    assert np.isnan(loop[0][2]) and np.isfinite(loop[0][[0, 1, 3]]).all()
    np.testing.assert_array_equal(np.isnan(fast[0]), np.isnan(loop[0]))
    _close(fast, loop)
