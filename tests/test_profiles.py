"""The Snakemake profiles: the SLURM profile runs unedited (no partition, CPUs from
threads), groups the study into few cluster jobs, and only training asks for a GPU and
the GPU partition. A real SLURM run: .ci/slurm_e2e.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.test_workflow import _env, make_repo

PROFILE = REPO / "workflow/profiles/slurm/profile.yaml"


def _rules() -> set[str]:
    text = "\n".join(p.read_text() for p in (REPO / "workflow/rules").glob("*.smk"))
    return set(re.findall(r"^rule (\w+):", text, re.M))


def _localrules() -> set[str]:
    text = (REPO / "workflow/rules/cluster.smk").read_text()
    block = text.split("localrules:", 1)[1].split("\n\n", 1)[0]
    return {name.strip(" ,") for name in block.split() if name.strip(" ,")}


def test_the_slurm_profile_leaves_partition_and_cpus_to_the_cluster_and_the_rules():
    profile = yaml.safe_load(PROFILE.read_text())
    defaults = profile["default-resources"]
    assert "slurm_partition" not in defaults and "cpus_per_task" not in defaults
    assert "set-resources" not in profile  # nothing hard-coded per rule either
    assert profile["slurm-status-command"] == "squeue"  # works without accounting
    assert profile["retries"] >= 1
    rules = _rules()
    assert set(profile["groups"]) <= rules, set(profile["groups"]) - rules
    assert set(profile["group-components"]) == set(profile["groups"].values())
    assert _localrules() <= rules and not _localrules() & set(profile["groups"])
    assert profile["set-resource-scopes"] == {"serial": "local"}  # a pool per cluster job


def _dry_run(repo: Path, env: dict) -> str:
    args = [sys.executable, "-m", "snakemake", "-n", "--workflow-profile", "workflow/profiles/slurm"]
    res = subprocess.run(args, cwd=repo, capture_output=True, text=True, env={**_env(), **env})
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def _jobs(out: str) -> list[tuple[str, str | None, str]]:
    """(rule, group or None, resources line) of every job of a dry run."""
    jobs, group = [], None
    for line in out.splitlines():
        if m := re.search(r"Group job (\w+)", line):
            group = m.group(1)
        elif m := re.match(r"(\s*)(?:local)?rule (\w+):", line):
            if not m.group(1):
                group = None  # a top-level job ends the group listing
            jobs.append([m.group(2), group, ""])
        elif "resources:" in line and jobs:
            jobs[-1][2] = line
    return [tuple(j) for j in jobs]


@pytest.mark.e2e
def test_a_dry_run_groups_the_study_and_sends_only_training_to_the_gpu_partition(tmp_path, tiny_params):
    pytest.importorskip("snakemake_executor_plugin_slurm")
    tiny_params["grid"] = {"seeds": [0, 1], "axes": {}, "studies": {"loss": {"loss": ["dice", "ce"]}}}
    repo = make_repo(tmp_path / "repo", tiny_params)
    jobs = _jobs(_dry_run(repo, {"SEGSWEEP_GPU_PARTITION": "gpux"}))
    groups = {g for _, g, _ in jobs if g}
    assert groups == {"data", "train", "analysis"}
    alone = {rule for rule, g, _ in jobs if g is None}
    assert alone <= _localrules() | {"all"}, alone - _localrules()  # nothing else is its own cluster job
    for rule, _, res in jobs:
        on_gpu = "slurm_partition=gpux" in res
        assert on_gpu == (rule == "train"), (rule, res)
        assert ("gpu=1" in res) == (rule == "train"), (rule, res)
        if rule == "train":
            assert re.search(r"mem_mb=\d+", res) and re.search(r"runtime=\d+", res)
    trains = sum(rule == "train" for rule, _, _ in jobs)
    assert trains == 4
    # without the variable: no partition anywhere (the cluster's default)
    assert "slurm_partition" not in _dry_run(repo, {"SEGSWEEP_GPU_PARTITION": ""})
