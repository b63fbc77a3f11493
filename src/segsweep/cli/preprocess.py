"""Verbs of the preprocessing stage: ``prepare``, ``augment``, ``patches``."""

from __future__ import annotations

import json
from pathlib import Path

from segsweep.cli.common import log, section
from segsweep.errors import ConfigError


def cmd_prepare(args) -> None:
    from segsweep.config import Prepare
    from segsweep.preprocess.prepare import prepare

    cfg = section(args, Prepare, "preprocess.prepare")
    protocol = None if args.protocol == "none" else json.loads(args.protocol)
    spacing = _spacing_arg(args.target_spacing)
    manifest = prepare(cfg, Path(args.src), Path(args.out), args.normalization, spacing, protocol)
    log.info("prepare: %d cases -> %s", len(manifest), args.out)


def _spacing_arg(text: str) -> object:
    """``--target-spacing``: ``median``, ``none`` or ``D,H,W`` in mm."""
    if text in ("median", "none"):
        return None if text == "none" else text
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0 < v < float("inf") for v in values):
        raise ConfigError(f"--target-spacing = {text!r}: must be median, none or D,H,W (three positive mm)")
    return values


def cmd_augment(args) -> None:
    from segsweep.config import Augment
    from segsweep.preprocess.augment import augment

    manifest = augment(section(args, Augment, "preprocess.augment"), Path(args.src), Path(args.out))
    log.info("augment: %d samples -> %s", len(manifest), args.out)


def cmd_patches(args) -> None:
    from segsweep.config import Patches
    from segsweep.preprocess.patches import extract_patches

    if args.sigma < 0:
        raise ConfigError(f"--sigma = {args.sigma}: a noise level must be >= 0")
    table = extract_patches(section(args, Patches, "preprocess.patches"), args.sigma, Path(args.src), Path(args.out))
    counts = table["kind"].value_counts().to_dict()
    log.info("patches (sigma=%g): %d patches %s -> %s", args.sigma, len(table), counts, args.out)


def add_verbs(verb) -> None:
    """This stage's subcommands (``verb(name, handler, help)`` adds one)."""
    for name, func, help_ in (
        ("prepare", cmd_prepare, "CLAHE, resize/pad (2D); intensity normalisation (3D)"),
        ("augment", cmd_augment, "seeded random rotations and crops"),
        ("patches", cmd_patches, "noise level + patch extraction"),
    ):
        sp = verb(name, func, help_)
        sp.add_argument("--src", required=True)
        sp.add_argument("--out", required=True)
        if name == "patches":
            sp.add_argument("--sigma", type=float, default=0.0)
        if name == "prepare":
            sp.add_argument(
                "--normalization",
                choices=("window", "zscore", "minmax", "none", "ct"),
                default="window",
                help="3D: the dataset's normalization (default: window)",
            )
            sp.add_argument(
                "--target-spacing",
                default="none",
                help="3D: resample to median (of the cases), none, or D,H,W in mm (default: none)",
            )
            sp.add_argument(
                "--protocol",
                default="none",
                help="normalization ct: JSON {test_fraction, test_seed} of splits (the statistics leave test out)",
            )
