"""File times as Snakemake reads them, without writing any (issue 26, items 3 and 4).

Snakemake reruns a job whose input is newer than its oldest output, whatever the
params, code or contents say. Fingerprints, not times, say what is current here
(``segsweep.fingerprint``), so the times Snakemake sees are put in dependency order
*in its I/O cache* while it builds the DAG (``aligned_times``): ``dvc checkout``,
``pull`` or a fresh clone write files in any order, and none of that order is
written back to disk. A dry run (``-n``, ``--summary``, ``--dag``) therefore changes no
file time, never follows a link into the DVC cache and needs no write permission.

The one repair that has to touch disk is for files dated in the future (clock skew,
archives from other hosts): after a job runs Snakemake refuses outputs older than
its inputs, and nothing a job writes "now" is newer than an input dated an hour
ahead. ``future_dated`` finds those among the inputs of the jobs about to run and
``set_to_now`` dates them now: in a real run only, under Snakemake's lock (its
``onstart`` hook), never following a symlink, a warning where permission is lacking.
"""

from __future__ import annotations

import os
import stat
import time

# Snakemake stamps directory outputs with this file and reads its time for the folder.
STAMP = ".snakemake_timestamp"


def _carrier(path: str) -> str:
    """The file whose time Snakemake reads for ``path``: a folder's stamp file."""
    stamp = os.path.join(path, STAMP)
    return stamp if os.path.isdir(path) and os.path.exists(stamp) else path


def seconds(path: str) -> float | None:
    """``path``'s time as Snakemake reads an input's (the newer of a symlink and its
    target; a folder's stamp file), in seconds; None when it does not exist."""
    try:
        own = os.stat(_carrier(path), follow_symlinks=False)
    except FileNotFoundError:
        return None
    if not stat.S_ISLNK(own.st_mode):
        return own.st_mtime
    try:
        return max(own.st_mtime, os.stat(_carrier(path)).st_mtime)
    except FileNotFoundError:  # a dangling link
        return own.st_mtime


def aligned_times(recorded: dict[str, dict]) -> dict[str, float]:
    """The time, in seconds, that every existing path of the recorded jobs should have
    for Snakemake to read "nothing changed": each output (and fingerprint) no older than
    the newest of its job's inputs, in dependency order. Nothing is written.

    Args:
        recorded: fingerprint path -> fingerprint (with ``inputs``, a dict or list of
            paths, and ``outputs``, a list of paths).

    Returns:
        path -> seconds, for every recorded input, output and fingerprint that exists
        (an input no recorded job produces keeps its own time).
    """
    producer = {out: fp for fp, rec in recorded.items() for out in rec.get("outputs", [])}
    times: dict[str, float] = {}
    done: set[str] = set()

    def read(path: str) -> float | None:
        if path not in times:
            t = seconds(path)
            if t is None:
                return None
            times[path] = t
        return times[path]

    def visit(fp: str) -> None:
        done.add(fp)
        rec = recorded[fp]
        for path in rec.get("inputs", {}):
            if path in producer and producer[path] not in done:
                visit(producer[path])
        newest = max((t for t in map(read, rec.get("inputs", {})) if t is not None), default=0.0)
        for path in {*rec.get("outputs", []), fp}:
            t = read(path)
            if t is not None and t < newest:
                times[path] = newest

    for fp in recorded:
        if fp not in done:
            visit(fp)
    return times


def future_dated(paths, now: float | None = None, slack: float = 1.0) -> list[str]:
    """The paths (of those given that exist) whose own time is more than ``slack``
    seconds after ``now`` (default: the clock now), sorted."""
    now = time.time() if now is None else now
    out = set()
    for path in paths:
        try:
            if os.stat(_carrier(path), follow_symlinks=False).st_mtime > now + slack:
                out.add(path)
        except FileNotFoundError:
            pass
    return sorted(out)


def set_to_now(paths) -> tuple[int, list[str]]:
    """Date each path (a folder's stamp file; a symlink itself, not its target) now.

    Returns:
        How many were dated, and the paths that could not be (no permission).
    """
    done, refused = 0, []
    for path in paths:
        try:
            os.utime(_carrier(path), follow_symlinks=False)
            done += 1
        except PermissionError:
            refused.append(path)
        except FileNotFoundError:
            pass
    return done, refused
