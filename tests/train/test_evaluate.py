"""The evaluation protocol: precise BN, selection rules, step budgets, failure statuses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from segsweep.config import ConfigError, Train
from segsweep.study import validate_params
from segsweep.train.data import EvalImage, epoch_batches
from segsweep.train.evaluate import precise_bn, score_images, status_of
from segsweep.train.loop import train_cell
from tests.train.conftest import tiny_cfg


def _train(cfg, tiny_data, out: Path) -> dict:
    return train_cell(cfg, "c", tiny_data["patches"], tiny_data["split"], tiny_data["prepared"], out, ndim=2)


def test_precise_bn_changes_only_the_statistics_and_computes_them_exactly():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5), nn.Conv2d(4, 2, 1))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batches = [torch.randn(5, 3, 8, 8) * (i + 1) + i for i in range(3)]
    out = precise_bn(model, batches)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "the original model must not change"
    new = out.state_dict()
    assert all(torch.equal(new[k], before[k]) for k in before if "running" not in k and "num_batches" not in k)
    # Exact: the average over batches of each batch's mean and unbiased variance.
    feats = [model[0](x) for x in batches]
    mean = torch.stack([f.mean((0, 2, 3)) for f in feats]).mean(0)
    var = torch.stack([f.var((0, 2, 3), unbiased=True) for f in feats]).mean(0)
    torch.testing.assert_close(out[1].running_mean, mean.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out[1].running_var, var.detach(), rtol=1e-5, atol=1e-6)
    assert not out.training and out[1].momentum == model[1].momentum


def _images(masks: list[np.ndarray]) -> list[EvalImage]:
    return [
        EvalImage(f"c{i}", torch.zeros(1, 1, *m.shape), torch.from_numpy(m)[None, None], m.shape)
        for i, m in enumerate(masks)
    ]


class _Constant(nn.Module):
    def __init__(self, fg: bool):
        super().__init__()
        self.fg = fg

    def forward(self, x):
        logits = torch.zeros(x.shape[0], 2, *x.shape[2:])
        logits[:, int(self.fg)] = 1.0
        return logits


@pytest.mark.parametrize("fg", [False, True])
def test_a_constant_prediction_everywhere_is_collapsed(fg):
    masks = [np.pad(np.ones((2, 2), np.uint8), 2), np.zeros((6, 6), np.uint8)]
    scores = score_images(_Constant(fg), lambda logits, mask: torch.tensor(0.0), _images(masks), torch.device("cpu"))
    assert scores["constant"] == [True, True]
    assert status_of(scores, diverged=False) == "collapsed"
    assert scores["empty_correct"] == (0.0 if fg else 1.0)
    if fg:  # an all-foreground prediction still has a Dice: 2f/(1+f), which a mean would report
        assert scores["dice"] == pytest.approx(2 * (4 / 36) / (1 + 4 / 36))
    assert status_of(scores, diverged=True) == "diverged"
    assert status_of({**scores, "constant": [True, False], "identical": False}, diverged=False) == "ok"


class _Border(nn.Module):
    """Foreground everywhere but a one-pixel border, whatever the input (a dead network
    whose padding leaves the border: seen with norm none, 0.99 foreground on every image)."""

    def forward(self, x):
        logits = torch.zeros(x.shape[0], 2, *x.shape[2:])
        logits[:, 1, 1:-1, 1:-1] = 1.0
        logits[:, 0] = 0.5
        return logits


def test_the_same_mask_on_every_image_is_collapsed():
    masks = [np.pad(np.ones((2, 2), np.uint8), 2), np.pad(np.ones((3, 3), np.uint8), (1, 2))]
    cpu = torch.device("cpu")
    loss = lambda logits, mask: torch.tensor(0.0)  # noqa: E731
    scores = score_images(_Border(), loss, _images(masks), cpu)
    assert scores["constant"] == [False, False] and scores["identical"]
    assert status_of(scores, diverged=False) == "collapsed"
    one = score_images(_Border(), loss, _images(masks[:1]), cpu)  # a single image proves nothing
    assert not one["identical"] and status_of(one, diverged=False) == "ok"


@pytest.mark.parametrize("n", [5, 17, 40])
def test_step_budget_does_not_depend_on_the_data_size(n):
    batches = [epoch_batches(n, 8, seed=1, epoch=e, steps_per_epoch=6) for e in range(4)]
    assert all(len(b) == 6 and all(len(x) == 8 for x in b) for b in batches)
    flat = np.concatenate([x for b in batches for x in b])
    # consecutive passes: each full pass visits every patch once
    for k in range(len(flat) // n):
        assert sorted(flat[k * n : (k + 1) * n]) == list(range(n))
    assert all(np.array_equal(a, b) for a, b in zip(batches[2], epoch_batches(n, 8, 1, 2, 6)))  # resumable


def test_one_pass_per_epoch_without_a_budget():
    b = epoch_batches(20, 8, seed=0, epoch=3, steps_per_epoch=None)
    assert [len(x) for x in b] == [8, 8, 4] and sorted(np.concatenate(b)) == list(range(20))


def test_step_budget_in_training(tiny_data, tmp_path):
    m = _train(tiny_cfg(epochs=2, steps_per_epoch=3), tiny_data, tmp_path / "s")
    assert m["steps_run"] == 6 and len(pd.read_parquet(tmp_path / "s/norms.parquet")) == 6
    assert pd.read_csv(tmp_path / "s/history.csv")["steps"].tolist() == [3, 6]


def test_best_val_selects_on_validation(tiny_data, tmp_path):
    # the same BN sample for curves and scored weights: the re-scored Dice equals the curve's
    m = _train(
        tiny_cfg(epochs=4, evaluation={"selection": "best_val", "precise_bn_batches": 4, "curve_bn_batches": 4}),
        tiny_data,
        tmp_path / "b",
    )
    history = pd.read_csv(tmp_path / "b/history.csv")
    assert m["selected_epoch"] == int(history["val_dice"].idxmax()) == m["best_val_epoch"]
    # the selected weights are re-scored on validation: the same Dice as in the curve
    assert m["val_dice"] == pytest.approx(history["val_dice"].max(), abs=1e-6)


def test_last_k_averages_the_last_epochs_weights(tiny_data, tmp_path):
    m = _train(
        tiny_cfg(epochs=4, snapshot_every=1, evaluation={"selection": "last_k", "last_k": 2}), tiny_data, tmp_path / "k"
    )
    assert m["selected_from_epochs"] == [2, 3]
    snaps = [torch.load(tmp_path / f"k/snapshots/epoch_{e:03d}.pt")["model"] for e in (3, 4)]
    selected = torch.load(tmp_path / "k/checkpoint_selected.pt")["model"]
    for key, value in selected.items():
        if "running" not in key and value.is_floating_point():
            torch.testing.assert_close(value, (snaps[0][key] + snaps[1][key]) / 2)


def test_curve_sample_is_part_of_the_scored_sample():
    with pytest.raises(ValueError, match="curve_bn_batches = 8: must be at most precise_bn_batches = 4"):
        Train.model_validate({"evaluation": {"precise_bn_batches": 4, "curve_bn_batches": 8}})


def test_last_k_only_with_its_selection():
    with pytest.raises(ValueError, match="last_k = 3 is used only by selection: last_k, not last"):
        Train.model_validate({"evaluation": {"last_k": 3}})
    with pytest.raises(ValueError, match="selection last_k needs last_k"):
        Train.model_validate({"evaluation": {"selection": "last_k"}})


def test_grid_seeds_conflict_with_a_study_seed_axis():
    raw = {
        "datasets": {"d": {"kind": "synth2d"}},
        "train": {"dataset": "d"},
        "grid": {"seeds": [0, 1], "studies": {"s": {"seed": [0, 1]}}},
    }
    with pytest.raises(ConfigError, match=r"grid.studies.s.seed: set here and by grid.seeds = \[0, 1\]"):
        validate_params(raw)


def test_selected_checkpoint_is_what_was_scored(tiny_data, tmp_path):
    """Probes and landscapes load checkpoint_selected.pt: its statistics are the precise-BN ones."""
    m = _train(tiny_cfg(epochs=2), tiny_data, tmp_path / "p")
    ckpt = torch.load(tmp_path / "p/checkpoint_selected.pt")
    last = torch.load(tmp_path / "p/checkpoint_last.pt")
    keys = [k for k in ckpt["model"] if k.endswith("running_mean")]
    assert keys and any(not torch.equal(ckpt["model"][k], last["model"][k]) for k in keys)
    assert all(torch.equal(ckpt["model"][k], last["model"][k]) for k in ckpt["model"] if k.endswith("weight"))
    saved = json.loads((tmp_path / "p/metrics.json").read_text())
    assert (
        saved["precise_bn_batches"] == 32
        and saved["curve_bn_batches"] == 4
        and saved["selection"] == "last"
        and m["status"] == "ok"
    )


def test_sliding_window_inference_bounds_the_forward_to_the_window():
    """Validation ran a whole volume in one forward pass (5.3 GB for 64 x 512 x 512 at
    width 8); windows of the patch size, Gaussian-weighted, cover any volume."""
    from segsweep.config import ModelCfg
    from segsweep.models import build_model
    from segsweep.train.evaluate import infer, window_of

    assert window_of("auto", 3, (16, 16, 16)) == (16, 16, 16) and window_of("auto", 2, (32, 32)) is None
    assert window_of("sliding_window", 2, (32, 32)) == (32, 32) and window_of("whole", 3, (8, 8, 8)) is None
    torch.manual_seed(0)
    model = build_model(ModelCfg(depth=2, base_filters=4, norm="none"), 3, 1).eval()
    image = torch.randn(1, 1, 16, 24, 24)
    with torch.no_grad():
        whole = model(image[..., :16, :16, :16])
        one = infer(model, image[..., :16, :16, :16], (16, 16, 16))  # one window: the same logits
        shapes = []
        model.register_forward_hook(lambda m, i, o: shapes.append(tuple(i[0].shape[2:])))
        tiled = infer(model, image, (8, 16, 16), overlap=0.5)
    torch.testing.assert_close(one, whole, rtol=1e-5, atol=1e-5)
    assert tiled.shape == (1, 2, 16, 24, 24) and torch.isfinite(tiled).all()
    assert set(shapes) == {(8, 16, 16)}  # every forward saw one window, never the volume


def _sphere(shape, spacing, radius_mm):
    grids = np.meshgrid(*[(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing)], indexing="ij")
    return (sum(g**2 for g in grids) <= radius_mm**2).astype(np.uint8)


def test_resampled_cases_are_scored_on_their_original_grid(tmp_path):
    """A thick-slice case resampled to 1 mm: a model that reproduces the resampled
    reference scores Dice ~1 on the original grid too (the logits go back as nnU-Net v2
    exports them); against another original mask, the original one decides."""
    from segsweep.data.cases import save_case
    from segsweep.preprocess.resample import resample_case
    from segsweep.train.data import load_eval_images
    from segsweep.train.evaluate import score_images

    spacing, target = (4.0, 1.0, 1.0), (1.0, 1.0, 1.0)
    original = _sphere((10, 32, 32), spacing, 12.0)
    image, mask = resample_case(original.astype(np.float32), original, spacing, target)
    assert mask.shape == (40, 32, 32)
    save_case(tmp_path, "a", image, mask, original)
    save_case(tmp_path, "b", image, mask, np.zeros_like(original))  # another reference
    (tmp_path / "manifest.csv").write_text("case,ndim,spacing,original_spacing\na,3,1x1x1,4x1x1\nb,3,1x1x1,4x1x1\n")
    items = load_eval_images(tmp_path, ["a", "b"], 3, 8)
    assert items[0].original.shape == (1, 1, 10, 32, 32) and items[0].original_spacing == spacing

    class Echo(nn.Module):  # logits from the input: foreground where the image is > 0.5
        def forward(self, x):
            return torch.cat([0.5 - x, x - 0.5], dim=1) * 20

    def loss(logits, m):
        return logits.mean() * 0

    scores = score_images(Echo(), loss, items, torch.device("cpu"))
    assert scores["per_image_dice"][0] > 0.97
    assert np.isnan(scores["per_image_dice"][1])  # empty original reference: not scored
    assert scores["empty_correct"] == 0.0  # and the prediction on its grid is not empty
    assert "nsd" not in scores  # boundary metrics only when asked (test images, not the curves)
    # in mm of the grid Dice is scored on (the original one, 4 mm slices)
    assert items[0].spacing == spacing
    bounded = score_images(Echo(), loss, items, torch.device("cpu"), tolerance=4.0)
    assert bounded["per_image_nsd"][0] > 0.9 and 0.0 <= bounded["per_image_hd95"][0] <= 4.0
    assert np.isnan(bounded["per_image_nsd"][1]) and np.isnan(bounded["per_image_hd95"][1])
    assert bounded["nsd"] == bounded["per_image_nsd"][0]
