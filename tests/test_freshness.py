"""One truth about what is current (issue 13): Snakemake and DVC agree after a push,
a fresh clone and a pull, after `dvc exp apply` / `git checkout`, and after code
changes, because every job's outputs carry a fingerprint of the params, code and input
contents they were built from. A tiny study, a local folder as the DVC remote."""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import TINY
from tests.test_workflow import make_repo, planned_rules, run, snakemake

pytestmark = pytest.mark.e2e


def _set(repo: Path, dotted: str, value) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    *parents, last = dotted.split(".")
    node = params
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def _commit(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", message], repo)


def _clean(repo: Path) -> bool:
    out = run(["dvc", "status"], repo).stdout
    return "Data and pipelines are up to date" in out


@pytest.fixture(scope="module")
def pushed(tmp_path_factory) -> Path:
    """The tiny study reproduced with `dvc repro`, pushed to a local remote, committed."""
    root = tmp_path_factory.mktemp("fresh")
    repo = make_repo(root / "repo", copy.deepcopy(TINY))
    run(["dvc", "init", "-q", "-f"], repo)
    run(["dvc", "remote", "add", "-d", "local", str(root / "remote")], repo)
    run(["dvc", "repro"], repo)
    run(["dvc", "push", "-q"], repo)
    _commit(repo, "study")
    return repo


def test_a_fresh_clone_and_pull_is_current_and_a_report_setting_reruns_only_the_report(pushed, tmp_path):
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(pushed), str(clone)], tmp_path)
    run(["dvc", "pull", "-q"], clone)
    assert _clean(clone)
    assert planned_rules(clone) == {}  # no `snakemake --touch` needed
    _set(clone, "report.decimals", 2)
    out = run(["dvc", "repro"], clone)
    log = out.stdout + out.stderr
    assert "Running stage 'report'" in log
    for stage in ("data", "preprocess", "splits", "train", "probe", "landscape"):
        assert f"Stage '{stage}' didn't change" in log, stage
    # only the report stage's jobs ran (the report, and the resolved params it records,
    # which hold report.decimals): no other job wrote a log in the clone
    assert sorted(p.name for p in (clone / "logs").iterdir()) == ["report.log", "resolved_params.log"]
    assert "rule train:" not in log and "rule summary:" not in log
    assert _clean(clone)
    fingerprint = json.loads((clone / "results/report.fingerprint.json").read_text())
    assert fingerprint["params"]["cfg"]["decimals"] == 2


def test_code_changes_rerun_the_jobs_that_import_the_changed_module(pushed):
    losses = pushed / "src/segsweep/losses/custom.py"
    html = pushed / "src/segsweep/report/html.py"
    original = {p: p.read_text() for p in (losses, html)}
    try:
        html.write_text(original[html] + "\n# a comment, and a docstring edit, change no behaviour\n")
        assert planned_rules(pushed) == {}  # code digests are of syntax trees (issue 26)
        html.write_text(original[html] + "\n_CHANGED = 1  # a change to the report code\n")
        assert planned_rules(pushed) == {"report": 1}
        html.write_text(original[html])
        assert planned_rules(pushed) == {}
        losses.write_text(original[losses] + "\n# only a comment in a loss module\n")
        assert planned_rules(pushed) == {}
        losses.write_text(original[losses] + "\n_CHANGED = 1  # a change to a loss function\n")
        plan = planned_rules(pushed)
        # every job whose verb can import the losses: the training cells and all that
        # depends on them; not the data jobs nor the threshold reference (validating
        # params imports no builder: component settings are typed models)
        for rule in ("train", "summary", "examples", "report"):
            assert plan.get(rule), (rule, plan)
        assert not {"synth", "prepare", "patches", "split", "reference"} & set(plan), plan
        stale = run(["dvc", "status"], pushed).stdout
        # DVC lists the stages whose own deps changed: those whose code imports the
        # losses (the report's rerun follows from train's outputs when it runs)
        assert "train:" in stale and "probe:" in stale and "landscape:" in stale
        assert "data:" not in stale and "report:" not in stale, stale
    finally:
        for path, text in original.items():
            path.write_text(text)
    assert planned_rules(pushed) == {}


def test_exp_apply_then_checkout_leaves_no_stale_result_recorded_as_current(tmp_path):
    params = copy.deepcopy(TINY)
    repo = make_repo(tmp_path / "repo", params)
    run(["dvc", "init", "-q", "-f"], repo)
    _commit(repo, "study")
    run(["dvc", "exp", "run", "-q", "-n", "three", "-S", "train.epochs=3"], repo)
    run(["git", "checkout", "params.yaml"], repo)
    run(["dvc", "repro", "-q"], repo)  # a workspace run at 2 epochs
    run(["dvc", "exp", "apply", "three"], repo)
    assert yaml.safe_load((repo / "params.yaml").read_text())["train"]["epochs"] == 3
    run(["git", "checkout", "params.yaml"], repo)  # back to 2 epochs
    run(["dvc", "repro", "-q", "train"], repo)
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    epochs = lock["stages"]["train"]["params"]["params.yaml"]["train"]["epochs"]
    assert epochs == 2
    cells = sorted((repo / "results/cells").iterdir())
    assert cells
    for cell in cells:
        metrics = json.loads((cell / "metrics.json").read_text())
        assert metrics["params"]["epochs"] == epochs, cell.name
        assert (cell / "history.csv").read_text().count("\n") == epochs + 1, cell.name
    assert "up to date" in run(["dvc", "status", "train"], repo).stdout


def test_a_new_train_fraction_is_retrained_through_dvc(pushed, tmp_path):
    """Issue 26: after a committed `dvc repro`, `train.train_fraction: 0.25` (a split file
    that does not exist yet) ran the train stage, Snakemake did nothing, and dvc.lock
    recorded the new value over cells trained on the old one."""
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(pushed), str(clone)], tmp_path)
    run(["dvc", "pull", "-q"], clone)
    assert planned_rules(clone) == {}
    _set(clone, "train.train_fraction", 0.25)
    assert planned_rules(clone).get("train")  # Snakemake alone plans the cells
    run(["dvc", "repro"], clone)
    cells = sorted((clone / "results/cells").iterdir())
    assert cells
    for cell in cells:
        assert json.loads((cell / "metrics.json").read_text())["params"]["train_fraction"] == 0.25, cell.name
    lock = yaml.safe_load((clone / "dvc.lock").read_text())
    assert lock["stages"]["train"]["params"]["params.yaml"]["train"]["train_fraction"] == 0.25
    assert planned_rules(clone) == {} and _clean(clone)


def _times(repo: Path) -> dict[str, int]:
    files = [p for top in ("data", "results") for p in (repo / top).rglob("*")]
    return {str(p): p.lstat().st_mtime_ns for p in files}


def test_files_dated_in_the_future_and_out_of_order_hide_no_change(pushed, tmp_path):
    """Issue 26: with files dated an hour ahead (clock skew, an archive from another host)
    a changed `train.epochs` planned no training, and the report then failed Snakemake's
    clock check; a dry run rewrote file times under data/ and results/."""
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(pushed), str(clone)], tmp_path)
    run(["dvc", "pull", "-q"], clone)
    ahead = time.time() + 3600
    # an hour ahead, and in no particular order (outputs older than their inputs)
    for i, path in enumerate(sorted(_times(clone))):
        t = ahead - (i * 7919 % 11) * 60
        os.utime(path, (t, t), follow_symlinks=False)
    before = _times(clone)
    assert planned_rules(clone) == {}
    assert _times(clone) == before  # a dry run writes nothing
    _set(clone, "train.epochs", 3)
    plan = planned_rules(clone)
    assert plan.get("train") and plan.get("report"), plan
    assert _times(clone) == before
    snakemake(clone)  # Snakemake's clock check after each job passes
    # the run's bookkeeping is gone when it ends: stale markers, finished cells' kept links
    assert not (clone / ".segsweep/stale").exists() and not list((clone / "results/cells").glob("*/.work"))
    for cell in sorted((clone / "results/cells").iterdir()):
        assert json.loads((cell / "metrics.json").read_text())["params"]["epochs"] == 3, cell.name
    assert planned_rules(clone) == {}


def test_a_truncated_output_or_other_library_versions_rerun_the_producer(pushed, tmp_path):
    """Issue 26: a truncated `checkpoint_selected.pt` was taken as current (the landscape
    and examples jobs that read it crashed with `OSError: [Errno 22]`), and library
    versions, which move the numbers, were in no fingerprint."""
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(pushed), str(clone)], tmp_path)
    run(["dvc", "pull", "-q"], clone)
    cell = sorted((clone / "results/cells").iterdir())[0]
    checkpoint = cell / "checkpoint_selected.pt"
    whole = checkpoint.read_bytes()
    checkpoint.write_bytes(whole[:100])
    out = snakemake(clone, "-n", "--quiet", "rules")
    assert f"rerun train cell={cell.name}: outputs changed since the job wrote them" in out.stderr
    assert planned_rules(clone).get("train") == 1
    checkpoint.write_bytes(whole)
    assert planned_rules(clone) == {}
    fingerprint = json.loads((cell / "fingerprint.json").read_text())
    torch = fingerprint["libraries"]["torch"]
    fingerprint["libraries"]["torch"] = "2.4.0"
    (cell / "fingerprint.json").write_text(json.dumps(fingerprint))
    out = snakemake(clone, "-n", "--quiet", "rules")
    assert f"library versions changed: torch 2.4.0 -> {torch}" in out.stderr
    assert planned_rules(clone).get("train") == 1
