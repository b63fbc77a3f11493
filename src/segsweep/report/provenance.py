"""The report's provenance: what code, params, data and machine produced it, and a date
that does not change the bytes of the same results."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

from segsweep.report import html as page_html

PACKAGES = ("segsweep", "torch", "monai", "numpy", "pandas", "albumentations", "snakemake", "dvc")


def data_hashes(lock: Path = Path("dvc.lock")) -> dict[str, str]:
    """md5 of every data and model output DVC recorded in ``dvc.lock`` (empty without)."""
    import yaml

    if not lock.exists():
        return {}
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
    return {o["path"]: o.get("md5", "") for st in stages.values() for o in st.get("outs", []) if "path" in o}


def report_date() -> str:
    """The date the page states, reproducibly: ``$SOURCE_DATE_EPOCH`` where set (the
    reproducible-builds convention), else the commit date of the code. The wall-clock
    time of a build goes to the log, never into the page (the same results give the
    same bytes, so DVC does not see a change)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).date().isoformat() + " (SOURCE_DATE_EPOCH)"
    try:
        date = subprocess.run(
            ["git", "log", "-1", "--format=%cs"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no SOURCE_DATE_EPOCH, not a git checkout)"
    return f"{date} (commit date of the code)" if date else "unknown (no commit yet)"


def provenance(params_json: str) -> dict:
    """Commit (and whether the work tree had uncommitted changes), the sha256 of the
    shipped ``params.json`` (check it with ``sha256sum params.json``), the data hashes
    DVC recorded, the date (``report_date``), package versions and device."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=False
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown (not a git checkout)", False
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    import torch

    device = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"
    if torch.cuda.is_available():
        device += f", CUDA {torch.cuda.get_device_name(0)}"
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "date": report_date(),
        "params_sha256": hashlib.sha256((params_json + "\n").encode()).hexdigest(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device,
        "data_md5": data_hashes(),
        "packages": versions,
    }


def provenance_section(tmp: Path, params_json: str) -> list[str]:
    prov = provenance(params_json)
    (tmp / "provenance.json").write_text(json.dumps(prov, indent=2) + "\n")
    (tmp / "params.json").write_text(params_json + "\n")
    flat = {
        **{k: v for k, v in prov.items() if k not in ("packages", "data_md5")},
        **prov["packages"],
        **{f"md5 {k}": v for k, v in prov["data_md5"].items()},
    }
    return [
        "<h2>Provenance</h2>",
        page_html.table(pd.DataFrame(list(flat.items()), columns=["what", "value"]), caption="Provenance"),
        page_html.links(["params.json", "provenance.json", "study_metrics.json"], tmp),
    ]
