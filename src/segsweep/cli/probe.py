"""The ``probe`` verb: gradient probes on patches, pixels, and norm dynamics."""

from __future__ import annotations

from pathlib import Path

from segsweep.cli.common import cell_section, log, section


def cmd_probe(args) -> None:
    """Gradient probes; settings come as JSON sections (how the Snakemake rules call it)."""
    from segsweep.config import Probe

    probe = section(args, Probe, "probe")
    {"patches": _patches, "pixels": _pixels, "dynamics": _dynamics}[args.what](args, probe, Path(args.out))


def _patches(args, probe, out: Path) -> None:
    from segsweep.probe.run import probe_cell, probe_init
    from segsweep.train.data import read_split

    cases = read_split(Path(args.split))["train"] if args.split else None  # training cases only
    if args.snapshots:
        cell = cell_section(args, "probe patches --snapshots")
        summary = probe_cell(probe, cell, Path(args.snapshots), Path(args.patches), args.ndim, out, cases)
    else:
        summary = probe_init(probe, Path(args.patches), args.ndim, out, cases)
    for r in summary.itertuples():
        log.info(
            "probe %s epoch %s %-10s fg+bg %.3g  bg-only %.3g  ratio %.2e",
            *(out.name, r.epoch, r.loss, r.fg_bg_mean, r.bg_only_mean, r.ratio_mean),
        )


def _pixels(args, probe, out: Path) -> None:
    from segsweep.probe import pixels
    from segsweep.probe.run import build_losses, pixels_cell

    if args.snapshots:
        cell = cell_section(args, "probe pixels --snapshots")
        pixels_cell(probe, cell, Path(args.snapshots), Path(args.prepared), Path(args.split), args.ndim, out)
        return
    summary = pixels.synthetic(build_losses(probe, "sigmoid"), probe.pixels.size, out)  # controlled probabilities
    for r in summary[summary["wrt"] == "logit"].itertuples():
        log.info(
            "pixels %-10s %-15s mean|dL/dz| fg %.3g bg %.3g (fg/bg %.2f)",
            *(r.loss, r.state, r.mean_abs_fg, r.mean_abs_bg, r.fg_over_bg),
        )


def _dynamics(args, probe, out: Path) -> None:
    import json

    from segsweep.probe.dynamics import dynamics

    cells = dict(item.split("=", 1) for item in args.norms)
    # the cells' resolved settings: a study row is its cells that differ only by seed
    params = {c: json.loads(Path(p).read_text())["params"] for c, p in (m.split("=", 1) for m in args.metrics)}
    dynamics({c: Path(p) for c, p in cells.items()}, json.loads(args.studies), probe.dynamics.smooth, out, params)


def add_verbs(verb) -> None:
    """This stage's subcommands (``verb(name, handler, help)`` adds one)."""
    sp = verb("probe", cmd_probe, "gradient probes: patches, pixels, dynamics")
    sp.add_argument("what", choices=("patches", "pixels", "dynamics"))
    sp.add_argument("--cell-cfg", help="the probed cell's train section as JSON")
    sp.add_argument("--patches", help="processed dataset folder")
    sp.add_argument("--snapshots", help="a cell's snapshots folder (probe along training)")
    sp.add_argument("--prepared", help="prepared case store (validation images)")
    sp.add_argument("--split", help="split JSON: patches of its training cases; pixels: its validation images")
    sp.add_argument("--ndim", type=int, choices=(2, 3), default=2)
    sp.add_argument("--studies", default="{}", help="JSON: study -> cell ids")
    sp.add_argument("--out", required=True, help="output stem (patches, pixels) or folder (dynamics)")
    sp.add_argument("--norms", nargs="+", default=[], help="dynamics: CELL=path/to/norms.parquet ...")
    sp.add_argument(
        "--metrics",
        nargs="+",
        default=[],
        help="dynamics: CELL=path/to/metrics.json ... (its params group seeds into study rows)",
    )
