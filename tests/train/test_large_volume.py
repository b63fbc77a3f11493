"""A clinical-size volume (60 x 512 x 512, thick slices) through the 3D path: synthetic
CT, nnU-Net's CT normalisation, resampling, and sliding-window inference under 2 GB
(issue 15). In a child process, so its peak RSS is its own."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

CHILD = r"""
import json, resource, time
import numpy as np, torch
from segsweep.config import ModelCfg, Synth3D
from segsweep.data.synth import organ_volume
from segsweep.models import build_model
from segsweep.preprocess.prepare import normalize_ct
from segsweep.preprocess.resample import resample_case
from segsweep.train.evaluate import infer

torch.manual_seed(0)
cfg = Synth3D(kind="synth3d", n_cases=1, shape=(60, 512, 512), spacing=(5.0, 0.7, 0.7))
volume, mask = organ_volume(cfg, 0)
values = volume[mask.astype(bool)].astype(np.float64)
stats = {"low": np.percentile(values, 0.5), "high": np.percentile(values, 99.5), "mean": values.mean(), "std": values.std()}
image = normalize_ct(volume, stats)
model = build_model(ModelCfg(depth=4, base_filters=8), 3, 1).eval()
with torch.no_grad():
    logits = infer(model, torch.from_numpy(image)[None, None], (32, 32, 32), overlap=0.5)
small, small_mask = resample_case(image, mask, (5.0, 0.7, 0.7), (5.0, 1.4, 1.4))
print(json.dumps({
    "fg": float(mask.mean()), "logits": list(logits.shape), "resampled": list(small.shape),
    "fg_mm3": [float(mask.sum() * 5 * 0.7 * 0.7), float(small_mask.sum() * 5 * 1.4 * 1.4)],
    "fg_mean": float(image[mask.astype(bool)].mean()),
    "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
}))
"""


def test_a_512_in_plane_ct_volume_is_normalised_resampled_and_scored_in_windows_under_2_gb():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    assert 0 < r["fg"] < 0.2 and r["logits"] == [1, 2, 60, 512, 512]
    assert abs(r["fg_mean"]) < 0.5  # z-scored with the foreground's own statistics
    assert r["resampled"] == [60, 256, 256] and r["fg_mm3"][1] == pytest.approx(r["fg_mm3"][0], rel=0.05)
    assert r["peak_gb"] < 2.0, r
