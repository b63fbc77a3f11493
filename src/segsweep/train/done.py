"""A finished cell's outputs kept beside it until the workflow run ends (issue 26).

On a cluster several cells share one job (a group). When a later cell of the group runs
out of time, Snakemake deletes the outputs of every cell of the group, finished ones
included, and resubmits the group. So a cell that finishes links its outputs into
``.work/done/`` (hard links: no second copy on disk) with a record of what produced them
(the resume key: training settings, code, input digests, library versions) and of each
output's md5. A rerun with the same key, within the same workflow run, links them back
instead of training again; the bytes are checked first. The main process removes every
``.work/done`` when the run ends (``Snakefile``: ``onsuccess`` / ``onerror``), so a rerun
asked for later (``-R train``) trains again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from segsweep.io import write_json

log = logging.getLogger("segsweep.train")

DONE = ".work/done"
RECORD = "record.json"


def _files(root: Path, names: tuple[str, ...]) -> list[Path]:
    """The files of ``names`` under ``root`` (folders walked), relative to ``root``, sorted."""
    out = []
    for name in names:
        path = root / name
        if path.is_dir():
            out += [p.relative_to(root) for p in sorted(path.rglob("*")) if p.is_file()]
        elif path.exists():
            out.append(Path(name))
    return out


def _link_tree(src: Path, dst: Path, files: list[Path]) -> None:
    for rel in files:
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        (dst / rel).unlink(missing_ok=True)
        os.link(src / rel, dst / rel)


def keep(out_dir: Path, names: tuple[str, ...], key: dict) -> None:
    """Link the finished outputs ``names`` of ``out_dir`` into ``out_dir/.work/done``
    with the ``key`` they were produced under and their md5s (the record last: its
    presence means complete)."""
    from segsweep.fingerprint import Digests

    done = Path(out_dir) / DONE
    shutil.rmtree(done, ignore_errors=True)
    done.mkdir(parents=True)
    files = _files(Path(out_dir), names)
    _link_tree(Path(out_dir), done, files)
    digests = Digests(None)
    folders = [n for n in names if (Path(out_dir) / n).is_dir()]  # an empty one is an output too
    record = {"key": key, "md5": {str(f): digests.file(done / f) for f in files}, "folders": folders}
    write_json(done / RECORD, record)


def restore(out_dir: Path, key: dict) -> bool:
    """Link the outputs kept in ``out_dir/.work/done`` back when they were produced under
    ``key`` and their bytes are intact; True when restored. Anything else removes the
    kept copy (and returns False: the cell trains)."""
    from segsweep.fingerprint import Digests, differences

    done = Path(out_dir) / DONE
    try:
        record = json.loads((done / RECORD).read_text())
    except (OSError, ValueError):
        shutil.rmtree(done, ignore_errors=True)
        return False
    digests = Digests(None)
    files = [Path(f) for f in record.get("md5", {})]
    intact = all((done / f).is_file() and digests.file(done / f) == record["md5"][str(f)] for f in files)
    if record.get("key") != key or not intact or not files:
        why = "outputs damaged" if record.get("key") == key else differences(record.get("key"), key)
        log.info("%s: finished outputs not reused (%s)", done, why)
        shutil.rmtree(done, ignore_errors=True)
        return False
    metrics = [f for f in files if f.name == "metrics.json"]  # last: its presence means "done"
    for folder in record.get("folders", []):
        (Path(out_dir) / folder).mkdir(parents=True, exist_ok=True)
    _link_tree(done, Path(out_dir), [f for f in files if f not in metrics])
    _link_tree(done, Path(out_dir), metrics)
    log.info("%s: restored the outputs this workflow run already trained with the same inputs", out_dir)
    return True
