"""Where the outputs that other code looks up live: the rules' input functions and the
CLI's defaults compute them here. The rules declare their outputs as wildcard patterns
(Snakemake needs patterns); tests/test_paths.py checks that every path here matches the
output pattern of the rule that writes it."""

from __future__ import annotations


def tag(x: float) -> str:
    """Compact, exact, path- and shell-safe number for paths and ids: 0.8 -> '0.8',
    0.0 -> '0', 1e6 -> '1e06' (no '+'), 0.12345678 -> '0.12345678' (six significant
    digits only when they give the value back: two values never share a tag)."""
    s = f"{x:g}"
    if float(s) != x:
        s = repr(float(x))
    return s.replace("+", "")


def prepared(ds: str) -> str:
    return f"data/processed/{ds}/prepared"


def processed(ds: str, sigma: float) -> str:
    return f"data/processed/{ds}/noise_{tag(sigma)}"


def split(ds: str, fraction: float, seed: int) -> str:
    return f"data/splits/{ds}/train{tag(fraction)}_seed{seed}.json"


def cell_dir(cell: str) -> str:
    return f"results/cells/{cell}"


def snapshots(cell: str) -> str:
    return f"{cell_dir(cell)}/snapshots"
