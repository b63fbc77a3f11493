"""Job fingerprints: the provenance a job's outputs carry, and the test of whether
they are current.

A fingerprint records what a job was built from: its rule and wildcards, the resolved
params it was given, a digest of the code it ran (its verb's modules and the rule's
command) and a digest of the content of each input. It lives next to the outputs,
inside what DVC tracks, so it travels with them through ``dvc pull``, ``checkout`` and
``exp apply``. The workflow compares the fingerprint the outputs carry with the one the
current params, code and inputs give; only a mismatch reruns the job (see
workflow/rules/fingerprint.smk and docs/snakemake-dvc.md).

Content digests are md5 (what DVC uses), cached per file by size, mtime and inode in
``.segsweep/digests.jsonl`` so that unchanged files are read once.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import threading
from pathlib import Path

from segsweep.errors import SegsweepError
from segsweep.io import write_text

# Snakemake writes this marker into directory outputs; it is not content.
IGNORED = {".snakemake_timestamp"}
CACHE = Path(".segsweep/digests.jsonl")
# The installed libraries whose versions can move a job's numbers (README: unpinned
# versions moved the Dice); recorded with every fingerprint, compared before reuse.
NUMERIC = ("torch", "monai", "numpy", "scipy", "albumentations", "opencv-python-headless", "nibabel")


def library_versions() -> dict[str, str]:
    """Distribution name -> installed version, for the NUMERIC libraries installed."""
    out = {}
    for dist in NUMERIC:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def library_changes(recorded: dict, now: dict[str, str]) -> str | None:
    """How the library versions a fingerprint recorded differ from ``now`` (e.g.
    "torch 2.12.0 -> 2.13.0"), or None when they agree."""
    old = recorded.get("libraries")
    if old == now:
        return None
    if old is None:
        return "library versions not recorded"
    changed = sorted(k for k in old.keys() | now.keys() if old.get(k) != now.get(k))
    return ", ".join(f"{k} {old.get(k, 'none')} -> {now.get(k, 'none')}" for k in changed)


class Digests:
    """md5 of files and folders, cached by (size, mtime_ns, inode) in a JSON-lines file.

    Args:
        cache: the cache file (created on first write); None keeps the cache in memory.
    """

    def __init__(self, cache: Path | None = CACHE):
        self.cache = cache
        self._lock = threading.Lock()
        self._known: dict[str, tuple[int, int, int, str]] = {}
        if cache is not None and cache.exists():
            lines = cache.read_text().splitlines()
            for line in lines:
                try:  # a line cut by a killed process is skipped, not fatal
                    path, size, mtime, ino, md5 = json.loads(line)
                except ValueError:
                    continue
                self._known[path] = (size, mtime, ino, md5)
            if len(lines) > 2 * len(self._known) + 1000:  # mostly superseded lines: compact
                write_text(cache, "".join(json.dumps([k, *v]) + "\n" for k, v in self._known.items()))

    def file(self, path: str | Path) -> str:
        """md5 hex digest of a file's bytes."""
        st = os.stat(path)
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        key = str(path)
        hit = self._known.get(key)
        if hit is not None and hit[:3] == stamp:
            return hit[3]
        with open(path, "rb") as fh:
            md5 = hashlib.file_digest(fh, "md5").hexdigest()
        with self._lock:
            self._known[key] = (*stamp, md5)
            if self.cache is not None:
                self.cache.parent.mkdir(parents=True, exist_ok=True)
                with open(self.cache, "a") as fh:
                    fh.write(json.dumps([key, *stamp, md5]) + "\n")
        return md5

    def path(self, path: str | Path) -> str:
        """A file's md5, or for a folder the md5 of its sorted (relative path, md5) list."""
        p = Path(path)
        if not p.is_dir():
            return self.file(p)
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.name not in IGNORED)
        listing = "".join(f"{f.relative_to(p).as_posix()}\0{self.file(f)}\n" for f in files)
        return hashlib.md5(listing.encode()).hexdigest()


def make(
    rule: str,
    wildcards: dict,
    params: dict,
    code: str,
    inputs: dict[str, str],
    outputs: list[str],
    products: dict[str, str],
) -> dict:
    """A fingerprint: the job's identity (rule, wildcards, output paths), everything its
    outputs depend on (params, code digest, input path -> content digest), what it wrote
    (``products``: output path -> content digest, the fingerprint itself left out, so a
    truncated or edited output makes its producer rerun), and ``key``, a sha256 of all
    of it (canonical JSON)."""
    fp = {
        "rule": rule,
        "wildcards": dict(sorted(wildcards.items())),
        "params": params,
        "code": code,
        "inputs": dict(sorted(inputs.items())),
        "outputs": sorted(outputs),
        "products": dict(sorted(products.items())),
    }
    fp["key"] = hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()
    return fp


def products(outputs: list[str], fingerprint: str, digests: Digests) -> dict[str, str]:
    """Output path -> content digest for a job's ``outputs`` but its ``fingerprint``
    ("missing" for one that does not exist)."""
    return {p: digests.path(p) if os.path.exists(p) else "missing" for p in outputs if p != fingerprint}


def read(path: str | Path) -> dict | None:
    """The recorded fingerprint, or None when there is none (or it is unreadable)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def write(path: str | Path, fp: dict) -> None:
    """Write a fingerprint (temp name, then rename: never half-written)."""
    write_text(path, json.dumps(fp, indent=1, sort_keys=True) + "\n")


def finish(record: dict, digests: Digests | None = None) -> dict:
    """Write a job's fingerprint once it has run.

    Args:
        record: what the workflow knows of the job before it runs (``rule``,
            ``wildcards``, ``params``, ``code``, ``outputs``), its ``inputs`` as a list of
            paths (digested now, after the job) and the fingerprint's ``path``
            (workflow/rules/fingerprint.smk).
        digests: the digest cache to use (a fresh one on ``.segsweep/digests.jsonl``).

    Returns:
        The fingerprint written.
    """
    digests = digests or Digests()
    fp = make(
        record["rule"],
        record["wildcards"],
        record["params"],
        record["code"],
        {p: digests.path(p) for p in record["inputs"]},
        record["outputs"],
        products(record["outputs"], record["path"], digests),
    )
    # beside the key, not in it: the main process can only compare them when jobs run in
    # its own environment (not under --use-conda, where Snakemake tracks the env files)
    fp["libraries"] = library_versions()
    write(record["path"], fp)
    # the stale markers stay: a group resubmitted on a cluster names them as inputs again;
    # the main process removes them when the run ends (Snakefile: onsuccess, onerror)
    return fp


def read_pending(path: str | Path) -> dict:
    """The pending record at ``path`` (written by the workflow's ``pending()`` param),
    read before the job's verb runs: a missing one stops the job before any work, not
    after it, when its outputs would be thrown away (issue 26)."""
    record = read(path)
    if record is None:
        raise SegsweepError(f"--fingerprint {path}: no pending fingerprint record there (the workflow writes them)")
    return record


def finish_pending(path: str | Path, record: dict) -> dict:
    """``finish`` the job whose pending ``record`` was read from ``path``, then remove
    that file."""
    fp = finish(record)
    Path(path).unlink(missing_ok=True)
    return fp


def differences(recorded: dict | None, expected: dict) -> str:
    """Why ``recorded`` does not match ``expected``, in a few words for the log."""
    if recorded is None:
        return "no fingerprint"
    why = []
    for part in ("params", "inputs", "products"):
        old, new = recorded.get(part) or {}, expected.get(part) or {}
        changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        if changed:
            shown = ", ".join(changed[:3]) + (f" (+{len(changed) - 3})" if len(changed) > 3 else "")
            label = "outputs changed since the job wrote them" if part == "products" else f"{part} changed"
            why.append(f"{label}: {shown}")
    if recorded.get("code") != expected["code"]:
        why.append("code changed")
    return "; ".join(why) or "fingerprint differs"
