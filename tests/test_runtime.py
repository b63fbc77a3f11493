"""The allocator settings every verb applies: opt-outs, their effect, same numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from segsweep import runtime

CHILD = r"""
import json, resource, torch
from segsweep.runtime import tune_malloc
applied = tune_malloc()
from segsweep.config import ModelCfg
from segsweep.models import build_model
torch.manual_seed(0)
net = build_model(ModelCfg(), 2, 3)  # the default U-Net: its steps allocate and free ~MiB buffers
opt = torch.optim.Adam(net.parameters())
x = torch.rand(8, 3, 64, 64)
losses, faults = [], []
for _ in range(8):
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    loss = net(x).square().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    losses.append(loss.item())
print(json.dumps({"applied": applied, "faults": faults[4:], "losses": losses}))
"""


def _child(**env) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "SEGSWEEP_MALLOC"}
    out = subprocess.run([sys.executable, "-c", CHILD], env=base | env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def test_user_choices_win(monkeypatch):
    monkeypatch.setenv("SEGSWEEP_MALLOC", "default")
    assert runtime.tune_malloc() is False
    monkeypatch.delenv("SEGSWEEP_MALLOC")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert runtime.tune_malloc() is False


def test_bad_setting_is_one_line_and_exit_2(tmp_path):
    env = {**os.environ, "SEGSWEEP_MALLOC": "off"}
    res = subprocess.run(
        [sys.executable, "-m", "segsweep", "validate"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: environment variable SEGSWEEP_MALLOC = 'off': must be 'tuned' or 'default'"
    ]


@pytest.mark.skipif(runtime._glibc_mallopt() is None, reason="glibc's mallopt only")
def test_tuned_allocator_stops_refaulting_and_computes_the_same():
    default, tuned = _child(SEGSWEEP_MALLOC="default"), _child()
    assert (default["applied"], tuned["applied"]) == (False, True)
    # glibc gives freed activation buffers back and faults them in again every step; tuned keeps them
    assert sum(default["faults"]) > 4000 and sum(tuned["faults"]) < sum(default["faults"]) / 10
    assert default["losses"] == tuned["losses"]  # bitwise: same buffers' alignment, same kernels
