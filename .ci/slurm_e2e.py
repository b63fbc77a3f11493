"""docs/clusters.md, word for word, on a real single-node SLURM (issue 14).

Starts SLURM on loopback with two fake GPUs (.ci/slurm_cluster.py) and, in fresh clones
of this repository holding a tiny study:
  1. `dvc repro data` submits through the profile (SNAKEMAKE_PROFILE);
  2. `snakemake --workflow-profile workflow/profiles/slurm` runs the rest, unedited, with
     only $SEGSWEEP_GPU_PARTITION set;
  3. checks what SLURM was asked for (`scontrol show job`): training on the GPU partition
     with one GPU, nothing else asking for a GPU, CPUs equal to the rule's threads, far
     fewer cluster jobs than Snakemake jobs (grouping);
  4. checks that every result equals a local run (`snakemake --cores all`) of the study,
     although the training group was cut short once (issue 26): once one cell of it has
     finished and another is training, the group job is cancelled, as a time limit would
     end it; Snakemake deletes the group's outputs and resubmits it; the finished cell is
     restored, not retrained, and the other resumes from its last epoch. (`scancel`
     stands in for the time limit: SLURM's smallest limit is a minute, enforced on a
     30 s sweep, which would make the test slow and its timing luck.)
Stops the daemons it started, by PID. Skips, saying why, where it cannot run (not root).
Run by .ci/run after the tests; `python .ci/slurm_e2e.py` by hand.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
import slurm_cluster

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.conftest import TINY  # noqa: E402

PROFILE = "workflow/profiles/slurm"
GPU_PARTITION = "gpu"
TIMEOUT = 30 * 60
# the tiny study: two losses x two seeds = 4 training cells (2D), 3D data prepared too
# cells train on 2 threads: their cluster jobs must ask for 2 CPUs, every other job for 1;
# 40 epochs (seconds per cell): long enough to catch a cell in the middle of its training
STUDY = {
    **TINY,
    "train": {**TINY["train"], "threads": 2, "epochs": 40},
    "grid": {"seeds": [0, 1], "axes": {}, "studies": {"loss": {"loss": ["dice", "ce"]}}},
}


def sh(cmd: str, cwd: Path, env: dict | None = None, timeout: float = TIMEOUT) -> str:
    """Run ``cmd``; on a timeout, SIGINT (a waiting Snakemake cancels its SLURM jobs)."""
    print(f"$ {cmd}", flush=True)
    proc = subprocess.Popen(
        cmd,
        shell=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
        raise SystemExit(f"slurm e2e: `{cmd}` ran over {timeout:.0f} s:\n{out[-4000:]}") from None
    if proc.returncode:
        raise SystemExit(f"slurm e2e: `{cmd}` failed ({proc.returncode}):\n{out[-6000:]}")
    return out


def clone(dst: Path) -> Path:
    sh(f"git clone -q {shlex.quote(str(REPO))} {shlex.quote(str(dst))}", REPO.parent)
    (dst / "params.yaml").write_text(yaml.safe_dump(STUDY, sort_keys=False))
    return dst


def cut_group_short(repo: Path, proc: subprocess.Popen, timeout: float = TIMEOUT) -> str:
    """Wait until one cell of the training group has finished (its fingerprint) and
    another is training (its resume file), then cancel the group's SLURM job; return the
    finished cell's id. Fails when the run ends first."""
    cells, start = repo / "results" / "cells", time.time()
    while time.time() - start < timeout:
        if proc.poll() is not None:
            raise SystemExit("slurm e2e: the run ended before its training group could be cut short")
        done = sorted(p.parent.name for p in cells.glob("*/fingerprint.json"))
        busy = [p.parents[1].name for p in cells.glob("*/.work/resume.pt")]
        if done and busy:
            jobs = [
                j for j, f in slurm_jobs().items() if "train" in f.get("Comment", "") and f.get("JobState") == "RUNNING"
            ]
            if jobs:
                subprocess.run(["scancel", *jobs], check=True)
                print(f"slurm e2e: cancelled training job(s) {jobs}: {done} finished, {busy} training", flush=True)
                return done[0]
        time.sleep(0.2)
    raise SystemExit("slurm e2e: no training group to cut short")


def run_cut_short(repo: Path, env: dict) -> str:
    """The profile's run (as ``sh``), its training group cancelled once in the middle;
    returns the cell that had finished when it was."""
    cmd = f"snakemake --workflow-profile {PROFILE}"
    print(f"$ {cmd}", flush=True)
    with open(repo / "cluster_run.log", "w") as log:
        proc = subprocess.Popen(
            cmd, shell=True, cwd=repo, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            finished = cut_group_short(repo, proc)
            code = proc.wait(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=120)
    if code:
        raise SystemExit(f"slurm e2e: `{cmd}` failed ({code}):\n{(repo / 'cluster_run.log').read_text()[-6000:]}")
    return finished


def check_retry(repo: Path, finished: str) -> None:
    """The finished cell was restored, not retrained; some cell resumed; no bookkeeping left."""
    problems = []
    if "restored, not retrained" not in (repo / "logs" / "train" / f"{finished}.log").read_text():
        problems.append(f"{finished}: finished before the cut, but not restored on the retry")
    logs = {p.stem: p.read_text() for p in (repo / "logs" / "train").glob("*.log")}
    if not any("resuming after epoch" in text for text in logs.values()):
        problems.append("no cell resumed from its last epoch after the cut")
    if list((repo / "results" / "cells").glob("*/.work")) or (repo / ".segsweep" / "stale").exists():
        problems.append("the run's bookkeeping (.work, stale markers) outlived it")
    if problems:
        raise SystemExit("slurm e2e: the retried group:\n  " + "\n  ".join(problems))
    print(f"slurm e2e: the cut-short group was retried: {finished} restored, the cell it cut resumed")


def slurm_jobs() -> dict[str, dict[str, str]]:
    """Every job SLURM knows (MinJobAge keeps finished ones), as key=value fields."""
    out = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True, check=True).stdout
    jobs = {}
    for line in out.splitlines():
        if not line.startswith("JobId="):
            continue
        fields = dict(f.split("=", 1) for f in shlex.split(line) if "=" in f)
        jobs[fields["JobId"]] = fields
    return jobs


def planned_jobs(repo: Path) -> int:
    """Snakemake jobs of the whole study (a dry run of the fresh clone)."""
    out = sh("snakemake -n --cores 1 --quiet rules", repo)
    for line in out.splitlines():
        if line.strip().startswith("total"):
            return int(line.split()[1])
    raise SystemExit(f"slurm e2e: no job count in the dry run:\n{out}")


def threads_of(comment: str, study_threads: int) -> int:
    """Threads of the rule(s) behind a cluster job: the study's cells use train.threads,
    every other rule one."""
    return study_threads if any(r in comment for r in ("train", "landscape_cell")) else 1


def check_requests(jobs: dict[str, dict[str, str]], n_planned: int) -> None:
    keys = ("JobId", "Comment", "Partition", "TresPerJob", "NumCPUs", "MinMemoryNode", "TimeLimit", "JobState")
    for j in jobs.values():
        print("  " + " ".join(f"{k}={j.get(k, '-')}" for k in keys))
    problems = []
    trains = [j for j in jobs.values() if "train" in j.get("Comment", "")]
    if not trains:
        problems.append("no training job went to SLURM")
    cut = [j for j in trains if j.get("JobState") == "CANCELLED"]
    if len(cut) != 1:
        problems.append(f"{len(cut)} training jobs cancelled (the test cuts one group short)")
    for j in jobs.values():
        name, gpu = j.get("Comment", ""), "gpu" in j.get("TresPerJob", "") + j.get("TresPerNode", "")
        if j.get("JobState") != "COMPLETED" and j not in cut:
            problems.append(f"{name}: {j.get('JobState')}")
        if j in trains:
            if j.get("Partition") != GPU_PARTITION or "gpu:1" not in j.get("TresPerJob", ""):
                problems.append(f"{name}: partition {j.get('Partition')}, TRES {j.get('TresPerJob')}")
        elif gpu or j.get("Partition") == GPU_PARTITION:
            problems.append(f"{name}: asks for a GPU ({j.get('Partition')}, {j.get('TresPerJob')})")
        want = threads_of(name, STUDY["train"].get("threads", 1))
        if int(j.get("NumCPUs", 0)) != want:
            problems.append(f"{name}: {j.get('NumCPUs')} CPUs, its rule has {want} thread(s)")
    if len(jobs) * 2 > n_planned:
        problems.append(f"{len(jobs)} cluster jobs for {n_planned} Snakemake jobs: grouping should halve them at least")
    print(
        f"slurm e2e: {len(jobs)} cluster jobs for {n_planned} Snakemake jobs; "
        f"{len(trains)} training job(s) on partition {GPU_PARTITION} with one GPU"
    )
    if problems:
        raise SystemExit("slurm e2e: wrong requests:\n  " + "\n  ".join(problems))


def same_results(local: Path, cluster: Path) -> None:
    """Every DVC-tracked output, byte for byte, but the timings in metrics.json."""
    outs = [f for f in (local / "results").rglob("*") if f.is_file()]
    volatile = ("train_seconds", "images_per_second", "seconds_per_step")
    differ = []
    for f in outs:
        rel = f.relative_to(local)
        other = cluster / rel
        if not other.exists():
            differ.append(f"{rel}: missing")
            continue
        if f.suffix in (".png", ".pdf", ".html", ".tex", ".log") or "fingerprint" in f.name or "report" in rel.parts:
            continue  # figures and provenance embed times and paths; the numbers are checked
        if f.name == "metrics.json":
            a, b = (json.loads(p.read_text()) for p in (f, other))
            for d in (a, b):
                for k in volatile:
                    d.pop(k, None)
                d.pop("provenance", None)
            if a != b:
                differ.append(str(rel))
        elif f.read_bytes() != other.read_bytes():
            differ.append(str(rel))
    print(f"slurm e2e: {len(outs)} result files compared with the local run")
    if differ:
        raise SystemExit("slurm e2e: results differ from the local run:\n  " + "\n  ".join(differ[:30]))


def main() -> int:
    reason = slurm_cluster.why_not()
    if reason:
        print(f"slurm e2e: skipped: {reason}")
        return 0
    slurm_cluster.install()
    pids = slurm_cluster.start()
    t0 = time.time()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local, cluster = clone(Path(tmp) / "local"), clone(Path(tmp) / "cluster")
            n_planned = planned_jobs(cluster)
            before = set(slurm_jobs())
            env = {"SEGSWEEP_GPU_PARTITION": GPU_PARTITION}
            sh("dvc repro data", cluster, {**env, "SNAKEMAKE_PROFILE": PROFILE})
            dvc_jobs = set(slurm_jobs()) - before
            if not dvc_jobs or not (cluster / "data" / "synth").is_dir():
                raise SystemExit("slurm e2e: `dvc repro data` did not submit through SLURM")
            print(f"slurm e2e: dvc repro data ran as {len(dvc_jobs)} SLURM job(s)")
            finished = run_cut_short(cluster, env)
            sh("snakemake --cores all", local)
            jobs = {k: v for k, v in slurm_jobs().items() if k not in before}
            check_requests(jobs, n_planned)
            check_retry(cluster, finished)
            same_results(local, cluster)
    finally:
        slurm_cluster.stop(pids)
    print(f"slurm e2e: passed in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
