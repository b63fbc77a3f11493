"""End to end: the Snakemake workflow and `dvc repro` on tiny params, in a temporary
copy of the repository (git + DVC initialised there)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import REPO, write_png

pytestmark = pytest.mark.e2e


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def run(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=_env())
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


@pytest.fixture
def repo(tmp_path, tiny_params) -> Path:
    return make_repo(tmp_path / "repo", tiny_params)


def make_repo(dst: Path, params: dict) -> Path:
    """A copy of the workflow and code at ``dst`` with ``params``, under git."""
    dst.mkdir(parents=True)
    for name in ("Snakefile", "dvc.yaml", ".gitignore", ".dvcignore"):
        shutil.copy(REPO / name, dst / name)
    for name in ("workflow", "src", ".dvc"):
        shutil.copytree(REPO / name, dst / name, ignore=shutil.ignore_patterns("__pycache__", "cache", "tmp"))
    (dst / "data/raw").mkdir(parents=True)
    shutil.copy(REPO / "data/raw/README.md", dst / "data/raw/README.md")
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q"], dst)
    run(["git", "config", "user.name", "segsweep tests"], dst)
    run(["git", "config", "user.email", "tests@segsweep.invalid"], dst)
    return dst


def snakemake(repo: Path, *args: str, check: bool = True):
    return run([sys.executable, "-m", "snakemake", "--cores", "2", *args], repo, check)


def planned_rules(repo: Path, *targets: str) -> dict[str, int]:
    """Jobs a dry run would execute, from its job-stats table."""
    out = snakemake(repo, "-n", "--quiet", "rules", *targets).stdout
    rows = [line.split() for line in out.splitlines()]
    return {r[0]: int(r[1]) for r in rows if len(r) == 2 and r[1].isdigit() and r[0] not in ("total", "all")}


def set_clip_limit(repo: Path, value: float) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["preprocess"].setdefault("prepare", {}).setdefault("clahe", {})["clip_limit"] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def test_snakemake_runs_then_has_nothing_to_do_and_reruns_only_affected_jobs(repo):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["snapshot_every"] = 1
    # the probe along training takes the cell's training cases only: 16 px patches give
    # them background-only patches (at 32 px every training patch held a lesion)
    params["preprocess"]["patches"] |= {"size_2d": [16, 16], "stride_2d": [16, 16]}
    params["probe"] = {
        "losses": ["dice", "ce"],
        "n_patches": 2,
        "init": {"dataset": "organ3d", "model": {"depth": 2, "base_filters": 4}},
        "cells": ["baseline"],
        "pixels": {"cell": "baseline", "n_images": 1},
    }
    params["landscape"] = {"cells": ["baseline"], "resolution": 3, "n_batches": 1, "batch_size": 2}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    snakemake(repo)
    probes = repo / "results/probes"
    for name in (
        "patches/init_summary.csv",
        "patches/init.png",
        "patches/cell_baseline.parquet",
        "pixels/synthetic_maps.png",
        "pixels/cell_baseline.pdf",
    ):
        assert (probes / name).exists(), name
    with np.load(repo / "results/landscapes/cells/baseline.npz") as z:
        assert z["plane_loss"].shape == (3, 3) and z["interp_loss"].shape == (3,)
    assert (repo / "results/landscapes/compare/plane_contours.png").exists()
    page = (repo / "results/report/index.html").read_text()
    assert "patches_init" in page and "examples_best_worst.png" in page
    assert (repo / "results/report/figures/examples_best_worst.pdf").exists()
    for ds in ("lesion2d", "organ3d"):
        out = repo / "data/processed" / ds / "noise_0"
        assert np.load(out / "images.npy", mmap_mode="r").shape[0] > 0
        assert (repo / f"data/splits/{ds}/train0.5_seed0.json").exists()
    assert (repo / "data/interim/datasets.csv").read_text().count("\n") == 6 + 3 + 1
    metrics = json.loads((repo / "results/cells/baseline/metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["params"]["epochs"] == 2
    assert planned_rules(repo) == {}

    synth_png = repo / "data/synth/lesion2d/images/lesion2d_0000.png"
    before = synth_png.stat().st_mtime_ns
    set_clip_limit(repo, 3.5)
    # CLAHE is 2D-only: the 2D chain reruns, data generation and the 3D chain do not.
    assert planned_rules(repo) == {
        "prepare": 1,
        "augment": 1,
        "patches": 1,
        "train": 1,
        "summary": 1,
        "probe_cell": 1,
        "probe_pixels_cell": 1,
        "landscape_cell": 1,
        "landscape_compare": 1,
        "resolved_params": 1,
        "examples": 1,
        "reference": 1,
        "report": 1,
    }
    snakemake(repo)
    assert synth_png.stat().st_mtime_ns == before
    assert planned_rules(repo) == {}


def test_2d_rgb_2d_gray_mri_and_ct_studies_run_from_one_params_file(repo):
    """``dataset`` is a grid axis: RGB and 16-bit gray 2D tiles, an MRI-like (z-scored)
    and a CT-like (``ct`` normalisation) 3D dataset in one study; the 3D cells train on their own
    patches with sliding-window inference, the probe along training takes the cell's
    training cases, and the report shows one example figure per dataset."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    datasets = ["lesion2d", "cells2d", "organ3d", "ct3d"]
    params["grid"] = {"seeds": [0, 1], "studies": {"data": {"dataset": datasets}}}
    # CT: nnU-Net's scheme (foreground percentiles and z-score over the non-test cases)
    # and resampled from 2.5 to 2 mm slices: scored back on the original grid
    params["datasets"]["ct3d"] = {
        **params["datasets"]["organ3d"],
        "seed": 1,
        "n_cases": 4,
        "normalization": "ct",
        "target_spacing": [2.0, 1.5, 1.5],
    }
    params["datasets"]["organ3d"] |= {"modality": "mri", "normalization": "zscore"}  # per case, no HU window
    params["datasets"]["cells2d"] = {
        "kind": "synth2d",
        "style": "microscopy",
        "bit_depth": 16,
        "n_cases": 6,
        "size": 64,
        "empty_fraction": 0.0,
    }
    params["train"]["snapshot_every"] = 1
    params["probe"] = {"losses": ["dice", "ce"], "n_patches": 2, "cells": ["dataset-organ3d"]}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    snakemake(repo)
    three = json.loads((repo / "results/cells/dataset-organ3d/metrics.json").read_text())
    two = json.loads((repo / "results/cells/baseline/metrics.json").read_text())
    assert three["ndim"] == 3 and three["inference_window"] == [16, 16, 16] and three["status"] in ("ok", "collapsed")
    assert two["ndim"] == 2 and two["inference_window"] is None
    assert three["test_cases"] != two["test_cases"]
    with np.load(repo / f"data/processed/organ3d/prepared/cases/{three['test_cases'][0]}.npz") as z:
        assert abs(float(z["image"].mean())) < 1e-4 and float(z["image"].std()) == pytest.approx(1.0, abs=1e-4)
    assert (repo / "results/probes/patches/cell_dataset-organ3d_summary.csv").exists()
    gray = json.loads((repo / "results/cells/dataset-cells2d/metrics.json").read_text())
    assert gray["ndim"] == 2 and gray["status"] in ("ok", "collapsed")
    with np.load(repo / f"data/processed/cells2d/prepared/cases/{gray['test_cases'][0]}.npz") as z:
        assert z["image"].shape[-1] == 1  # one gray channel through the 2D chain
    ct = json.loads((repo / "results/cells/dataset-ct3d/metrics.json").read_text())
    assert ct["ndim"] == 3 and ct["status"] in ("ok", "collapsed")
    assert ct["test_grid"] == "original" and three["test_grid"] == gray["test_grid"] == "prepared"
    with np.load(repo / f"data/processed/ct3d/prepared/cases/{ct['test_cases'][0]}.npz") as z:
        assert z["mask"].shape == (30, 32, 32) and z["original_mask"].shape == (24, 32, 32)  # 24 x 2.5 mm = 30 x 2
    stats = json.loads((repo / "data/processed/ct3d/prepared/ct_statistics.json").read_text())
    assert stats["cases"] == 4 - len(ct["test_cases"]) and -200 < stats["mean"] < 300  # soft tissue, in HU
    page = (repo / "results/report/index.html").read_text()
    for name in datasets:
        assert f"examples_best_worst_{name}.png" in page
    table = (repo / "results/report/tables/data.csv").read_text()
    assert all(f"dataset-{name}" in table for name in datasets[1:])
    assert planned_rules(repo) == {}


def test_dvc_repro_reruns_preprocessing_but_not_data_generation(repo):
    run(["dvc", "init", "-q", "-f"], repo)
    run(["dvc", "repro"], repo)
    assert "up to date" in run(["dvc", "status"], repo).stdout
    synth_png = repo / "data/synth/lesion2d/images/lesion2d_0000.png"
    prepared = repo / "data/processed/lesion2d/prepared/manifest.csv"
    before, prepared_before = synth_png.stat().st_mtime_ns, prepared.stat().st_mtime_ns

    set_clip_limit(repo, 3.5)
    status = run(["dvc", "status"], repo).stdout
    assert "preprocess:" in status and "data:" not in status and "splits:" not in status
    out = run(["dvc", "repro"], repo).stdout
    assert "Stage 'data' didn't change" in out and "Running stage 'preprocess'" in out
    assert synth_png.stat().st_mtime_ns == before
    assert prepared.stat().st_mtime_ns != prepared_before
    assert "up to date" in run(["dvc", "status"], repo).stdout


def test_bad_params_fail_before_any_work_with_one_line(repo):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["preprocess"]["patches"]["size_2d"] = [64, 64]
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    res = snakemake(repo, check=False)
    assert res.returncode != 0
    errors = [line for line in (res.stdout + res.stderr).splitlines() if line.startswith("error:")]
    assert errors == [
        "error: params.yaml: preprocess.patches.size_2d = [64, 64]: larger than the 2D image "
        "size [48, 48] set by preprocess.augment.crop_2d; each side must be at most that"
    ]
    assert not (repo / "data").joinpath("synth").exists()


def test_a_duplicate_key_stops_the_workflow_before_any_work(repo):
    text = (repo / "params.yaml").read_text()
    (repo / "params.yaml").write_text(text.replace("  epochs: 2\n", "  epochs: 2\n  epochs: 50\n", 1))
    res = snakemake(repo, "-n", check=False)
    errors = [line for line in (res.stdout + res.stderr).splitlines() if line.startswith("error:")]
    assert res.returncode != 0 and len(errors) == 1 and "duplicate key 'epochs'" in errors[0], errors


def test_a_bad_dataset_fails_alone_and_other_datasets_complete(repo):
    params = yaml.safe_load((repo / "params.yaml").read_text())
    root = repo / "data/raw/mine"
    for i in range(3):
        write_png(root / f"images/p{i}.png", np.full((48, 48, 3), 90, np.uint8))
        if i != 1:
            write_png(root / f"masks/p{i}.png", np.zeros((48, 48), np.uint8))
    params["datasets"]["mine"] = {"kind": "folder2d", "root": "data/raw/mine"}
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    res = snakemake(repo, "--keep-going", check=False)
    assert res.returncode != 0
    assert "error: data/raw/mine/images/p1.png: image without mask" in res.stderr
    assert (repo / "data/processed/lesion2d/noise_0/images.npy").exists()
    assert not (repo / "data/interim/mine").exists()


def set_grid(repo: Path, studies: dict) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["grid"] = {"studies": studies}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def test_adding_a_grid_value_trains_only_the_new_cell(repo):
    set_grid(repo, {"opt": {"optimizer": ["adam", "sgd"]}})
    run(["dvc", "init", "-q", "-f"], repo)
    run(["dvc", "repro"], repo)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    run(["git", "add", "-A"], repo)
    run([*git, "commit", "-qm", "two optimizers"], repo)
    assert set(json.loads((repo / "results/summary/metrics.json").read_text())) == {"baseline", "opt-sgd"}
    trained = {c: (repo / f"results/cells/{c}/metrics.json").stat().st_mtime_ns for c in ("baseline", "opt-sgd")}

    set_grid(repo, {"opt": {"optimizer": ["adam", "sgd", "rmsprop"]}})
    # Snakemake alone: one new cell (and the report, which lists it)
    assert planned_rules(repo) == {
        "train": 1,
        "grid": 1,
        "summary": 1,
        "resolved_params": 1,
        "examples": 1,
        "report": 1,
    }
    out = run(["dvc", "repro"], repo).stdout
    assert "Running stage 'train'" in out and "Running stage 'preprocess'" not in out
    for cell, mtime in trained.items():
        assert (repo / f"results/cells/{cell}/metrics.json").stat().st_mtime_ns == mtime
    assert json.loads((repo / "results/cells/opt-rmsprop/metrics.json").read_text())["status"] == "ok"
    shown = run(["dvc", "metrics", "show", "--json"], repo).stdout
    assert "opt-rmsprop" in shown and "dice" in shown
    plots = run(["dvc", "plots", "show", "-o", "plots"], repo)
    assert (repo / "plots/index.html").exists() and "failed" not in plots.stderr.lower()
    # `dvc metrics diff`: how the headline numbers moved since the last commit
    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], repo).stdout)
    assert list(diff) == ["results/report/study_metrics.json"]  # per study row, not per cell
    assert "opt.opt-rmsprop.dice" in diff["results/report/study_metrics.json"]

    # A report-only param reruns only the report, with Snakemake and with `dvc repro`.
    cells = {c: (repo / f"results/cells/{c}/metrics.json").stat().st_mtime_ns for c in ("baseline", "opt-rmsprop")}
    examples = (repo / "results/examples").stat().st_mtime_ns
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["report"] = {"title": "renamed", "decimals": 2}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert planned_rules(repo) == {"resolved_params": 1, "report": 1}
    out = run(["dvc", "repro"], repo).stdout
    assert "Running stage 'report'" in out
    assert all(
        f"Running stage '{s}'" not in out for s in ("data", "preprocess", "splits", "train", "probe", "landscape")
    )
    assert "renamed" in (repo / "results/report/index.html").read_text()
    assert {c: (repo / f"results/cells/{c}/metrics.json").stat().st_mtime_ns for c in cells} == cells
    assert (repo / "results/examples").stat().st_mtime_ns == examples  # its params did not change
    params["report"]["figure"] = {"dpi": 80}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert planned_rules(repo) == {"resolved_params": 1, "examples": 1, "report": 1}
    params.setdefault("landscape", {})["cells"] = ["baseline"]
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    snakemake(repo)
    # One more landscape cell: only its job, the comparison and the report (not every landscape job)
    params["landscape"]["cells"] = ["baseline", "opt-rmsprop"]
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert planned_rules(repo) == {"landscape_cell": 1, "landscape_compare": 1, "resolved_params": 1, "report": 1}


@pytest.mark.parametrize("study", ["published_unet.yaml", "published_unet_cpu.yaml"])
def test_published_design_study_plans_45_cells(repo, study):
    shutil.copytree(REPO / "studies", repo / "studies")
    out = snakemake(repo, "-n", "--configfile", f"studies/{study}", "--quiet", "rules").stdout
    rows = dict(line.split() for line in out.splitlines() if len(line.split()) == 2)
    # a --configfile replaces params.yaml (the tiny grid there would add its own cells)
    assert rows["train"] == "45" and rows["landscape_cell"] == "3"


def _dvc_outs(repo: Path) -> list[str]:
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    return [next(iter(o)) if isinstance(o, dict) else o for st in stages.values() for o in st.get("outs", [])]


def _tree(root: Path, outs: list[str]) -> dict[str, bytes]:
    files = {}
    for out in outs:
        path = root / out
        for f in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            files[str(f.relative_to(root))] = f.read_bytes()
    return files


def test_two_runs_give_the_same_bytes_in_every_dvc_output(repo, tmp_path):
    """Same params and seeds on a CPU, in two clones at different paths: every file DVC
    tracks (data, checkpoints, metrics, tables, figures, the report) has the same bytes."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["snapshot_every"] = 1
    # the probe along training takes the cell's training cases only: 16 px patches give
    # them background-only patches (at 32 px every training patch held a lesion)
    params["preprocess"]["patches"] |= {"size_2d": [16, 16], "stride_2d": [16, 16]}
    params["probe"] = {
        "losses": ["dice", "ce"],
        "n_patches": 2,
        "cells": ["baseline"],
        "init": {"dataset": "organ3d", "model": {"depth": 2, "base_filters": 4}},
        "pixels": {"cell": "baseline", "n_images": 1},
    }
    params["landscape"] = {"cells": ["baseline"], "resolution": 3, "n_batches": 1, "batch_size": 2}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    other = tmp_path / "elsewhere" / "clone"
    shutil.copytree(repo, other, symlinks=True)
    snakemake(repo)
    snakemake(other)
    outs = _dvc_outs(repo)
    a, b = _tree(repo, outs), _tree(other, outs)
    assert sorted(a) == sorted(b)
    assert len(a) > 50 and any(k.endswith(".pt") for k in a) and any(k.endswith(".pdf") for k in a)
    differ = [k for k in a if a[k] != b[k]]
    assert differ == [], differ[:20]


LEARN_3D = {
    "datasets": {
        "ct3d": {"kind": "synth3d", "n_cases": 8, "shape": [32, 64, 64], "seed": 0, "modality": "ct"},
        "mri3d": {
            "kind": "synth3d",
            "n_cases": 8,
            "shape": [32, 64, 64],
            "seed": 1,
            "modality": "mri",
            "normalization": "zscore",
        },
    },
    "preprocess": {
        "augment": {"copies": 2, "crop_2d": None, "crop_3d": None},
        "patches": {"size_3d": [32, 32, 32], "stride_3d": [16, 16, 16], "fg_oversample": 0.33},
    },
    "splits": {"train_fractions": [1.0], "seeds": [0]},
    "train": {
        "dataset": "ct3d",
        "epochs": 20,
        "steps_per_epoch": 10,
        "batch_size": 4,
        "model": {"depth": 3, "base_filters": 8},
        "loss": {"name": "dice_ce"},
        "optimizer": {"name": "adam", "lr": 0.003},
        "evaluation": {"selection": "last", "precise_bn_batches": 8, "curve_bn_batches": 2},
        "snapshot_every": 0,
        "log_norms": False,
    },
    "grid": {"seeds": [0], "axes": {"dataset": ["ct3d", "mri3d"]}, "studies": {}},
    "probe": {"losses": ["dice", "ce"], "init": {"dataset": "ct3d"}},
    "landscape": {"cells": []},
    "report": {"title": "3d"},
}
DICE_FLOOR_3D = 0.7  # measured 0.88 (CT-like) and 0.97 (MRI-like) on 2 test volumes each


def test_3d_cells_learn_on_the_ct_and_mri_fixtures(tmp_path):
    """200 steps of a depth-3, width-8 U-Net on 32³ patches (about 2 min per cell on 2
    cores) reach a test Dice above the floor, with sliding-window evaluation, on the
    CT-like (HU window) and the MRI-like (z-scored, bias field) synthetic volumes."""
    repo = make_repo(tmp_path / "repo", LEARN_3D)
    snakemake(repo, "train_all")
    for cell in ("baseline", "dataset-mri3d"):
        m = json.loads((repo / f"results/cells/{cell}/metrics.json").read_text())
        assert m["ndim"] == 3 and m["status"] == "ok" and m["inference_window"] == [32, 32, 32]
        assert m["dice"] > DICE_FLOOR_3D, (cell, m["dice"])
