"""Landscapes: filter normalisation, the centre equals the model's own loss, the
batched path equals the loop (with and without batch norm), roughness numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segsweep.config import Landscape, loss_cfg
from segsweep.landscape.directions import random_direction
from segsweep.landscape.evaluate import evaluate_batched, evaluate_loop, split_state
from segsweep.landscape.surface import cell_landscape, interpolation_grid, roughness
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
    return [
        (torch.rand(4, 3, 16, 16, generator=g), (torch.rand(4, 1, 16, 16, generator=g) > 0.7).long()) for _ in range(n)
    ]


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
    loss_fn = build_loss(loss_cfg(name=loss), "softmax")
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


@pytest.mark.parametrize("resolution", [3, 4, 5, 7, 8, 11, 12, 13, 21, 50, 201])
def test_interpolation_grid_holds_0_and_1_exactly_and_is_uniform(resolution):
    ts = interpolation_grid(resolution)
    assert len(ts) == resolution
    assert 0.0 in ts.tolist() and 1.0 in ts.tolist()  # exact equality, no tolerance
    h = np.diff(ts)
    np.testing.assert_allclose(h, h[0], rtol=1e-12)
    k = round(1 / h[0])
    assert 1 / k == pytest.approx(h[0])  # step 1/k: 0 and 1 are k steps apart
    np.testing.assert_allclose(ts[0] + ts[-1], 1.0, atol=1e-12)  # symmetric about 0.5
    if resolution >= 6:
        assert 1 / 7 - 1e-12 <= -ts[0] <= 1 / 3 + 1e-12


def test_interpolation_grid_examples_and_errors():
    np.testing.assert_array_equal(interpolation_grid(7), [-0.25, 0, 0.25, 0.5, 0.75, 1, 1.25])
    np.testing.assert_allclose(interpolation_grid(11), (np.arange(11) - 2) / 6)
    np.testing.assert_array_equal(interpolation_grid(3), [0, 0.5, 1])
    with pytest.raises(ValueError, match="resolution must be >= 3, got 2"):
        interpolation_grid(2)


@pytest.mark.parametrize("evaluation,resolution", [("loop", 7), ("batched", 11), ("fast", 11), ("fast", 8)])
def test_interpolation_ends_are_the_two_models(evaluation, resolution, tmp_path):
    init, trained = _model("batch", 0), _model("batch", 1)
    batches = _batches(1)
    loss_fn = build_loss(loss_cfg(name="ce"), "softmax")
    cfg = Landscape(kinds=["interpolation"], resolution=resolution, evaluation=evaluation)
    cell_landscape(cfg, trained, loss_fn, trained.state_dict(), init.state_dict(), batches, tmp_path / "c")
    with np.load(tmp_path / "c.npz") as z:
        ts, losses = z["interp_t"], z["interp_loss"]
    np.testing.assert_array_equal(ts, interpolation_grid(resolution))
    with torch.no_grad():
        for model, t in ((init, 0.0), (trained, 1.0)):
            model.eval()
            own = float(loss_fn(model(batches[0][0]), batches[0][1]))
            (at,) = np.flatnonzero(ts == t)  # the grid holds t exactly: no nearest-point lookup
            assert losses[at] == pytest.approx(own, rel=1e-4)


def test_roughness_of_known_surfaces():
    a = np.linspace(-1, 1, 11)
    bowl = np.add.outer(a**2, 3 * a**2)
    r = roughness(a, bowl)
    assert r["curvature_1"] == pytest.approx(2.0) and r["curvature_2"] == pytest.approx(6.0)
    assert r["nonconvex_fraction"] == 0.0
    saddle = np.subtract.outer(a**2, a**2)
    assert roughness(a, saddle)["nonconvex_fraction"] == 1.0
    assert roughness(a, np.cos(8 * a))["nonconvex_fraction"] > 0.3


def test_roughness_counts_and_skips_nonfinite_points():
    a = np.linspace(-1, 1, 11)  # centre index 5
    line = a**2
    line[[0, 8]] = [np.nan, np.inf]
    r = roughness(a, line)
    assert r["n_nonfinite"] == 2 and isinstance(r["n_nonfinite"], int)
    assert r["range"] == pytest.approx(1.0 - 0.0)  # finite points only: a = -0.8 ... 0.6, 1.0
    assert r["curvature_1"] == pytest.approx(2.0)  # stencil 4, 5, 6 is finite
    assert r["nonconvex_fraction"] == 0.0  # over the interior points with a finite stencil
    line[6] = np.nan
    assert np.isnan(roughness(a, line)["curvature_1"])  # the centre stencil touches NaN
    bowl = np.add.outer(a**2, 3 * a**2)
    bowl[0, 0], bowl[10, 3], bowl[5, 6] = np.nan, -np.inf, np.nan
    r = roughness(a, bowl)
    assert r["n_nonfinite"] == 3
    assert r["curvature_1"] == pytest.approx(2.0) and np.isnan(r["curvature_2"])
    assert r["nonconvex_fraction"] == 0.0
    saddle = np.subtract.outer(a**2, a**2)
    saddle[2:4, 2:4] = np.nan
    assert roughness(a, saddle)["nonconvex_fraction"] == 1.0


def test_roughness_of_a_surface_without_finite_points_is_nan_without_warnings():
    import warnings

    a = np.linspace(-1, 1, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = roughness(a, np.full((5, 5), np.nan))
    assert r["n_nonfinite"] == 25
    assert all(np.isnan(r[k]) for k in ("range", "curvature_1", "curvature_2", "nonconvex_fraction"))


def test_nonfinite_points_stay_in_the_arrays_are_counted_and_shown(tmp_path, monkeypatch):
    import segsweep.landscape.plots as plots
    from segsweep.landscape.surface import roughness_table

    init, trained = _model("batch", 0), _model("batch", 1)
    init_state = init.state_dict()
    for k, v in trained.state_dict().items():
        if k.endswith("running_var"):
            # var(t) = var0 + t (var* − var0) < 0 for t > 1 when var0 = 10 var*: NaN there
            init_state[k] = 10 * v
    loss_fn = build_loss(loss_cfg(name="ce"), "softmax")
    cfg = Landscape(kinds=["line", "interpolation"], resolution=7, evaluation="loop")  # t = -0.25 ... 1.25
    stats = cell_landscape(cfg, trained, loss_fn, trained.state_dict(), init_state, _batches(1), tmp_path / "c")
    with np.load(tmp_path / "c.npz") as z:
        data = {"c": dict(z)}
    t, loss, dice = data["c"]["interp_t"], data["c"]["interp_loss"], data["c"]["interp_dice"]
    assert len(loss) == 7  # nothing dropped
    np.testing.assert_array_equal(np.isnan(loss), t > 1)  # only t = 1.25 is beyond the trained model
    np.testing.assert_array_equal(np.isnan(dice), t > 1)
    assert stats["interpolation"]["n_nonfinite"] == 1 and stats["line"]["n_nonfinite"] == 0
    assert np.isfinite(stats["interpolation"]["curvature_1"])  # centre t = 0.5: stencil finite
    table = roughness_table({"c": stats})
    assert table.set_index("kind")["n_nonfinite"].to_dict() == {"line": 0, "interpolation": 1}

    # a plane and a second cell with injected NaN / inf, then the figures
    a = data["c"]["axis"]
    plane = np.add.outer(a**2, a**2) + 0.1
    plane[0, 0], plane[3, 4] = np.nan, np.inf
    data["c"]["plane_loss"] = plane
    line = data["c"]["line_loss"].copy()
    line[[1, 5]] = [np.nan, np.inf]
    data["d"] = {"axis": a, "line_loss": line, "plane_loss": np.full_like(plane, np.nan)}
    figures, captions = {}, {}
    monkeypatch.setattr(
        plots,
        "save",
        lambda fig, stem, caption=None: figures.__setitem__(stem.name, fig) or captions.__setitem__(stem.name, caption),
    )
    plots.plot_cells(data, tmp_path)
    assert set(figures) == {"line", "interpolation", "plane_contours", "plane_surfaces"}
    # issue 27: the z axis is named (a shared colour bar of the z scale)
    assert [ax.get_ylabel() for ax in figures["plane_surfaces"].axes if ax.name != "3d"] == ["z: log10 loss"]
    assert f"{len(a)} × {len(a)} points per cell" in captions["plane_contours"] and "cells c, d" in captions["line"]

    def crosses(ax):
        return [ln for ln in ax.get_lines() if ln.get_marker() == "x"]

    (ax,) = figures["interpolation"].axes
    (x,) = crosses(ax)
    np.testing.assert_array_equal(x.get_xdata(), [1.25])
    assert ax.get_title() == "interpolation: c (1 non-finite ×)" and not figures["interpolation"].legends
    (ax,) = figures["line"].axes
    np.testing.assert_array_equal(crosses(ax)[0].get_xdata(), a[[1, 5]])
    assert "2 non-finite" in ax.get_title()
    (legend,) = figures["line"].legends  # two cells: a legend beside the axes
    assert "d (2 non-finite ×)" in [t.get_text() for t in legend.texts]
    ax_c, ax_d = figures["plane_contours"].axes[:2]
    (x,) = crosses(ax_c)
    assert sorted(zip(x.get_xdata(), x.get_ydata())) == sorted([(a[0], a[0]), (a[3], a[4])])
    assert ax_c.get_title() == "c (2 non-finite ×)" and ax_d.get_title() == f"d ({plane.size} non-finite ×)"
    for fig in figures.values():  # the real writer runs on them too
        plots.plt.close(fig)
    monkeypatch.undo()
    plots.plot_cells(data, tmp_path / "written")
    assert (tmp_path / "written" / "plane_contours.pdf").exists()
