"""What every benchmark shares: the ``--smoke`` and ``--json`` flags, the JSON record
(numbers plus the machine, versions and commit that produced them, so a number quoted
later can be traced), and running a child process without hiding its error.

The scripts run as ``python benchmarks/<name>.py``, so this directory is on ``sys.path``
and they import it as ``_common``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def add_common_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--smoke`` (tiny sizes, one repetition: checks the code paths, not the speed)
    and ``--json PATH`` (the results as a machine-readable record)."""
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes and one repetition (seconds): a test, not a measurement"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results, machine and versions as JSON")
    return parser


def parse_args(parser: argparse.ArgumentParser, smoke: dict, argv: list[str] | None = None) -> argparse.Namespace:
    """Parse with ``smoke`` as the defaults when ``--smoke`` is given: the tiny sizes
    replace the defaults only, so an option given explicitly still wins."""
    add_common_args(parser)
    first, _ = parser.parse_known_args(argv)
    if first.smoke:
        parser.set_defaults(**smoke)
    return parser.parse_args(argv)


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _commit() -> str | None:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:  # not a git checkout (an unpacked copy): no commit to name
        return None
    return res.stdout.strip() or None


def _finite(value):
    """JSON has no NaN or infinity (``json`` would write invalid JSON): null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def record(results: dict, args: argparse.Namespace) -> dict:
    """The JSON record: ``machine``, ``versions``, ``commit``, ``date``, ``args``, ``results``."""
    return {
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "processor": platform.processor()},
        "versions": {
            "python": platform.python_version(),
            "torch": _version("torch"),
            "numpy": _version("numpy"),
            "segsweep": _version("segsweep"),
        },
        "commit": _commit(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "args": {k: v for k, v in vars(args).items() if k != "child"},
        "results": _finite(results),
    }


def write_json(path: str | os.PathLike | None, results: dict, args: argparse.Namespace) -> None:
    """Write ``record(results, args)`` to ``path`` atomically (temp file + ``os.replace``,
    so a reader never sees half a file); no-op when ``path`` is None (no ``--json``)."""
    if path is None:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record(results, args), indent=2, default=str) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_child(cmd: list[str], env: dict | None = None) -> dict:
    """Run a child benchmark process and return the JSON object on its last stdout line.
    A failing child exits this process with the child's stderr (its traceback), which a
    bare ``CalledProcessError`` would hide."""
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"error: child process failed (exit {res.returncode}): {' '.join(cmd)}\n{res.stderr[-4000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])
