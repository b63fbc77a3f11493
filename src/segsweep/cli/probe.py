"""The ``probe`` verb: gradient probes on patches, pixels, and norm dynamics."""

from __future__ import annotations

from pathlib import Path

from segsweep.cli.common import cell_section, log, section


def cmd_probe(args) -> None:
    """Gradient probes; settings come as JSON sections (how the Snakemake rules call it)."""
    import json

    from segsweep.config import Probe

    probe = section(args, Probe, "probe")
    out = Path(args.out)
    if args.what == "patches":
        from segsweep.probe.run import probe_cell, probe_init

        if args.snapshots:
            summary = probe_cell(
                probe,
                cell_section(args, "probe patches --snapshots"),
                Path(args.snapshots),
                Path(args.patches),
                args.ndim,
                out,
            )
        else:
            summary = probe_init(probe, Path(args.patches), args.ndim, out)
        for row in summary.itertuples():
            log.info(
                "probe %s epoch %s %-10s fg+bg %.3g  bg-only %.3g  ratio %.2e",
                out.name,
                row.epoch,
                row.loss,
                row.fg_bg_mean,
                row.bg_only_mean,
                row.ratio_mean,
            )
    elif args.what == "pixels":
        from segsweep.probe import pixels
        from segsweep.probe.run import build_losses

        if args.snapshots:
            from segsweep import checkpoint
            from segsweep.models import build_model
            from segsweep.train.data import load_eval_images, read_split

            cell = cell_section(args, "probe pixels --snapshots")
            losses = build_losses(probe, cell.model.output)
            cases = read_split(Path(args.split))["val"][: probe.pixels.n_images]
            val = load_eval_images(Path(args.prepared), cases, args.ndim, 2**cell.model.depth)
            model = build_model(cell.model, args.ndim, val[0].image.shape[1])
            snaps = checkpoint.list_snapshots(args.snapshots)
            pixels.checkpoints(losses, model, snaps, val, out)
        else:
            losses = build_losses(probe, "sigmoid")  # controlled foreground probabilities
            summary = pixels.synthetic(losses, probe.pixels.size, out)
            for row in summary[summary["wrt"] == "logit"].itertuples():
                log.info(
                    "pixels %-10s %-15s mean|dL/dz| fg %.3g bg %.3g (fg/bg %.2f)",
                    row.loss,
                    row.state,
                    row.mean_abs_fg,
                    row.mean_abs_bg,
                    row.fg_over_bg,
                )
    else:
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
    sp.add_argument("--split", help="split JSON (validation cases)")
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
