"""Patch gradient probe: the published direction on synthetic 3D data at
initialisation, per-layer norms adding up, the model left untouched."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from segsweep.config import Augment, ModelCfg, Patches, Prepare, Probe, Synth3D, loss_cfg
from segsweep.data.ingest import ingest, reader_for
from segsweep.data.synth import write_synth
from segsweep.losses import build_loss
from segsweep.models import build_model
from segsweep.preprocess.augment import augment
from segsweep.preprocess.patches import extract_patches
from segsweep.preprocess.prepare import prepare
from segsweep.probe.patches import load_patches, pick_patches, probe_state, ratios
from segsweep.probe.run import probe_init


@pytest.fixture(scope="module")
def patches3d(tmp_path_factory):
    root = tmp_path_factory.mktemp("p3")
    ds = Synth3D(kind="synth3d", n_cases=2, shape=(32, 48, 48), seed=1)
    write_synth(ds, root / "synth", "v")
    ingest(reader_for(ds, root / "synth"), root / "synth", root / "interim", "datasets.v")
    prepare(Prepare(), root / "interim", root / "prepared")
    augment(Augment(copies=1, crop_3d=None, rotate_p=0.0), root / "prepared", root / "augmented")
    extract_patches(
        Patches(size_3d=(16, 16, 16), stride_3d=(16, 16, 16), fg_oversample=0.0),
        0.0,
        root / "augmented",
        root / "patches",
    )
    return root / "patches"


def test_foreground_dice_starves_background_patches_at_init(patches3d, tmp_path):
    probe = Probe(
        losses=["dice", "dice_all", "ce"],
        n_patches=4,
        init={"dataset": "v", "model": {"depth": 2, "base_filters": 4}, "seeds": [0]},
    )
    summary = probe_init(probe, patches3d, 3, tmp_path / "init").set_index("loss")
    ratio = summary["ratio_mean"]
    # Published direction: fg-only dice gives bg-only patches far smaller gradients.
    assert ratio["dice"] * 100 < ratio["ce"] and ratio["dice"] * 100 < ratio["dice_all"]
    assert ratio["dice"] < 1e-3
    for ext in (".parquet", ".csv", "_summary.csv", ".png", ".pdf"):
        assert (tmp_path / f"init{ext}").exists()
    table = pd.read_parquet(tmp_path / "init.parquet")
    assert {"loss", "patch_kind", "grad_norm"} <= set(table.columns)
    assert set(table["patch_kind"]) == {"fg_bg", "bg_only"} and len(table) == 3 * 2 * 4


def test_per_layer_norms_add_up_and_model_is_untouched(patches3d):
    table, images, masks = load_patches(patches3d)
    picks = pick_patches(table, images, 2, 0)
    torch.manual_seed(0)
    model = build_model(ModelCfg(depth=2, base_filters=4), 3, 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = {"ce": build_loss(loss_cfg(name="ce"), "softmax")}
    df = probe_state(model, losses, images, masks, picks, batch_size=1)
    layers = df[[c for c in df.columns if c.startswith("grad/")]].to_numpy()
    np.testing.assert_allclose(np.sqrt((layers**2).sum(1)), df["grad_norm"], rtol=1e-6)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    # Against a plain backward + loop over parameters for the first patch.
    x = torch.from_numpy(np.ascontiguousarray(images[picks["fg_bg"][:1]]))
    y = torch.from_numpy(np.ascontiguousarray(masks[picks["fg_bg"][:1]]))[:, None]
    model.train()
    losses["ce"](model(x), y).backward()
    ref = float(torch.sqrt(sum(p.grad.double().pow(2).sum() for p in model.parameters())))
    assert df.loc[(df.patch_kind == "fg_bg")].iloc[0]["grad_norm"] == pytest.approx(ref, rel=1e-5)


def test_ratios_table():
    df = pd.DataFrame(
        {
            "epoch": 0,
            "loss": "ce",
            "patch_kind": ["fg_bg", "fg_bg", "bg_only", "bg_only"],
            "grad_norm": [1.0, 3.0, 0.1, 0.3],
        }
    )
    r = ratios(df, ["epoch"]).iloc[0]
    assert r["fg_bg_mean"] == 2.0 and r["ratio_mean"] == pytest.approx(0.1) and r["fg_bg_count"] == 2


def _table(cases: dict[str, tuple[int, int]]) -> tuple[pd.DataFrame, np.ndarray]:
    """A patch table with (fg_bg, bg_only) counts per case, random non-blank images."""
    rows = [(c, k) for c, (nf, nb) in cases.items() for k in ["fg_bg"] * nf + ["bg_only"] * nb]
    table = pd.DataFrame(rows, columns=["case", "kind"])
    images = np.random.default_rng(0).random((len(table), 1, 4, 4)).astype(np.float32)
    return table, images


def test_picks_are_stratified_over_training_cases_and_skip_blank_patches(caplog):
    """3,550 of 4,046 background patches came from two volumes, 5 of 8 probed were
    blank, and validation cases were sampled."""
    table, images = _table({"big": (2, 40), "a": (2, 3), "b": (2, 3), "val": (2, 3)})
    big_bg = table.index[(table["case"] == "big") & (table["kind"] == "bg_only")]
    images[big_bg[:35]] = 0.25  # constant: blank
    picks = pick_patches(table, images, 6, seed=0, cases=["big", "a", "b"])
    cases = table.loc[picks["bg_only"], "case"].value_counts().to_dict()
    assert cases == {"big": 2, "a": 2, "b": 2}  # equal per case, never the validation case
    assert all(np.ptp(images[r]) > 0 for r in picks["bg_only"])
    assert pick_patches(table, images, 6, 0, ["big", "a", "b"])["bg_only"].tolist() == picks["bg_only"].tolist()
    with caplog.at_level("WARNING", logger="segsweep"):
        short = pick_patches(table, images, 20, seed=0, cases=["a", "b"])
    assert len(short["fg_bg"]) == 4 and len(short["bg_only"]) == 6
    assert "4 of the 20 fg_bg patches asked for" in caplog.text and "of the 2 training cases" in caplog.text


def test_only_blank_patches_of_a_kind_is_one_line():
    from segsweep.errors import DataError

    table, images = _table({"a": (1, 2)})
    images[table.index[table["kind"] == "bg_only"]] = 0.0
    with pytest.raises(DataError, match=r"no non-blank bg_only patch in the patches \(2 blank\)"):
        pick_patches(table, images, 4, seed=0)


def test_train_mode_batch_norm_on_one_patch_warns(patches3d, caplog):
    table, images, masks = load_patches(patches3d)
    picks = pick_patches(table, images, 1, 0)
    model = build_model(ModelCfg(depth=2, base_filters=4), 3, 1)
    losses = {"ce": build_loss(loss_cfg(name="ce"), "softmax")}
    with caplog.at_level("WARNING", logger="segsweep"):
        probe_state(model, losses, images, masks, picks, batch_size=1, bn_mode="eval")
    assert "bn_mode" not in caplog.text
    with caplog.at_level("WARNING", logger="segsweep"):
        probe_state(model, losses, images, masks, picks, batch_size=1, bn_mode="train")
    assert "probe.bn_mode = train with probe.batch_size = 1" in caplog.text
    assert Probe().bn_mode == "eval"


def _monai_ratios(model, images, masks, picks) -> dict[str, float]:
    """The bg-only / fg+bg ratio of mean gradient 2-norms with MONAI's losses and a plain
    autograd loop (the independent reference issue 15 asks the probe to agree with)."""
    from monai.losses import DiceLoss

    refs = {
        "dice": DiceLoss(softmax=True, to_onehot_y=True, include_background=False),
        "dice_all": DiceLoss(softmax=True, to_onehot_y=True, include_background=True),
        "ce": lambda z, y: torch.nn.functional.cross_entropy(z, y[:, 0].long()),
    }
    model = model.eval()
    params = list(model.parameters())
    out = {}
    for name, fn in refs.items():
        means = {}
        for kind, rows in picks.items():
            norms = []
            for r in rows:
                x = torch.from_numpy(np.array(images[r : r + 1]))
                y = torch.from_numpy(np.array(masks[r : r + 1]))[:, None].long()
                grads = torch.autograd.grad(fn(model(x), y), params, allow_unused=True)
                norms.append(float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads if g is not None))))
            means[kind] = np.mean(norms)
        out[name] = means["bg_only"] / means["fg_bg"]
    return out


def test_probe_ratios_agree_with_an_independent_monai_computation(patches3d):
    """The 3D probe gave 2e-9 / 0.41 / 0.61 where MONAI's losses gave 1.2e-7 / 1.04 /
    1.06 (blank and validation patches, batch norm over one patch)."""
    table, images, masks = load_patches(patches3d)
    picks = pick_patches(table, images, 6, seed=0)
    torch.manual_seed(0)
    model = build_model(ModelCfg(depth=2, base_filters=4), 3, 1)
    losses = {n: build_loss(loss_cfg(name=n), "softmax") for n in ("dice", "dice_all", "ce")}
    ours = ratios(probe_state(model, losses, images, masks, picks, batch_size=1, bn_mode="eval"), []).set_index("loss")
    ref = _monai_ratios(model, images, masks, picks)
    # the same numbers (the issue asked for 20 %): dice_all 0.892, ce 0.990, dice 8.1e-8 here
    for name in ("dice", "dice_all", "ce"):
        assert ours.loc[name, "ratio_mean"] == pytest.approx(ref[name], rel=1e-4), (name, ours.loc[name], ref)
    assert ours.loc["dice", "ratio_mean"] < 1e-5
