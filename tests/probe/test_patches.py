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
    picks = pick_patches(table, 2, 0)
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
