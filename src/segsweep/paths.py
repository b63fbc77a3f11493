"""Where each stage's outputs live: one definition for Snakemake rules and the CLI."""

from __future__ import annotations


def tag(x: float) -> str:
    """Compact number for paths and ids: 0.8 -> '0.8', 0.0 -> '0'."""
    return f"{x:g}"


def prepared(ds: str) -> str:
    return f"data/processed/{ds}/prepared"


def processed(ds: str, sigma: float) -> str:
    return f"data/processed/{ds}/noise_{tag(sigma)}"


def split(ds: str, fraction: float, seed: int) -> str:
    return f"data/splits/{ds}/train{tag(fraction)}_seed{seed}.json"


def cell_dir(cell: str) -> str:
    return f"results/cells/{cell}"
