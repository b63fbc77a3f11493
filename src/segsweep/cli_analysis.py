"""``segsweep`` verbs of the analysis stages: probe, landscape, report (split out of
``segsweep.cli`` to keep each file readable; the parser lives there)."""

from __future__ import annotations

import logging
from pathlib import Path

from segsweep.errors import ConfigError

log = logging.getLogger("segsweep")


def _settings(args, model, key: str):
    """The section at ``key``: from ``--cfg`` (how the rules call) or ``--params``."""
    from segsweep.cli import _section

    return _section(args, model, key)


def _cell(args, what: str):
    """The cell's train section from ``--cell-cfg``; one line when it is missing."""
    from segsweep.config import Train, load_section

    if not args.cell_cfg:
        raise ConfigError(f"{what} needs --cell-cfg (the cell's train section as JSON)")
    return load_section(Train, args.cell_cfg, "train")


def cmd_probe(args) -> None:
    """Gradient probes; settings come as JSON sections (how the Snakemake rules call it)."""
    import json

    from segsweep.config import Probe

    probe = _settings(args, Probe, "probe")
    out = Path(args.out)
    if args.what == "patches":
        from segsweep.probe.run import probe_cell, probe_init

        if args.snapshots:
            summary = probe_cell(
                probe,
                _cell(args, "probe patches --snapshots"),
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

            cell = _cell(args, "probe pixels --snapshots")
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


def cmd_landscape(args) -> None:
    """``cell``: one cell's surfaces (.npz + roughness JSON); ``compare``: figures and the
    roughness table for several cells on shared scales."""
    import json

    from segsweep.io import write_json

    out = Path(args.out)
    if args.what == "cell":
        import torch

        from segsweep import checkpoint
        from segsweep.config import Landscape
        from segsweep.landscape.surface import cell_landscape, eval_batches
        from segsweep.losses import build_loss
        from segsweep.models import build_model
        from segsweep.probe.patches import load_patches
        from segsweep.train.data import read_split

        cfg = _settings(args, Landscape, "landscape")
        cell = _cell(args, "landscape cell")
        torch.set_num_threads(cell.threads)
        table, images, masks = load_patches(Path(args.patches))
        rows = table.index[table["case"].astype(str).isin(set(read_split(Path(args.split))["train"]))].to_numpy()
        batches = eval_batches(images, masks, rows, cfg.n_batches, cfg.batch_size, cfg.seed)
        model = build_model(cell.model, args.ndim, images.shape[1])
        cell_dir = Path(args.cell_dir)
        best = checkpoint.load_weights(cell_dir / checkpoint.SELECTED)
        init_path = checkpoint.snapshot_path(cell_dir / checkpoint.SNAPSHOTS, 0)
        init = checkpoint.load_weights(init_path) if init_path.exists() else None
        if init is None and "interpolation" in cfg.kinds:
            log.warning("%s: no snapshots/epoch_000.pt (train.snapshot_every = 0): no interpolation", args.cell)
        stats = cell_landscape(cfg, model, build_loss(cell.loss, cell.model.output), best, init, batches, out)
        write_json(Path(f"{out}_roughness.json"), stats)
        for kind, numbers in stats.items():
            log.info("landscape %s %s: %s", args.cell, kind, ", ".join(f"{k} {v:.4g}" for k, v in numbers.items()))
    else:
        import numpy as np

        from segsweep.io import atomic_path
        from segsweep.landscape.plots import plot_cells
        from segsweep.landscape.surface import roughness_table

        data, stats = {}, {}
        for item in args.cells:
            cell, stem = item.split("=", 1)
            with np.load(f"{stem}.npz") as z:
                data[cell] = dict(z)
            stats[cell] = json.loads(Path(f"{stem}_roughness.json").read_text())
        with atomic_path(out) as tmp:
            tmp.mkdir()
            plot_cells(data, tmp)
            roughness_table(stats).to_csv(tmp / "roughness.csv", index=False)


def cmd_report(args) -> None:
    import json

    from segsweep.config import Report
    from segsweep.report.build import build_report

    cfg = _settings(args, Report, "report")
    figures = [Path(f) for f in args.figures]
    missing = [str(f) for f in figures if not f.exists()]
    if missing:
        raise ConfigError(f"--figures: {missing[0]} does not exist")
    references = {Path(f).stem: json.loads(Path(f).read_text()) for f in args.references}
    studies = json.loads(Path(args.grid).read_text())["studies"]
    index = build_report(
        cfg,
        Path(args.params_json).read_text().strip(),
        studies,
        Path(args.summary),
        figures,
        Path(args.out),
        Path(args.examples) if args.examples else None,
        json.loads(args.axes),
        references,
        Path(args.manifest) if args.manifest else None,
        [Path(s) for s in args.splits],
    )
    log.info("report -> %s", index)


def cmd_reference(args) -> None:
    """The global-threshold reference of one dataset (``segsweep.reference``)."""
    from segsweep.io import write_json
    from segsweep.reference import threshold_reference
    from segsweep.train.data import read_split

    result = threshold_reference(Path(args.prepared), read_split(Path(args.split)), args.ndim)
    write_json(Path(args.out), result)
    log.info(
        "reference %s: threshold %.3f (%s), train Dice %.3f, test Dice %s",
        Path(args.out).stem,
        result["threshold"],
        result["foreground"],
        result["train_dice"],
        result["dice"],
    )


def cmd_examples(args) -> None:
    """Example segmentations of the best and worst cells (``report.examples``)."""
    import pandas as pd

    from segsweep.config import Report
    from segsweep.figures import style
    from segsweep.io import atomic_path
    from segsweep.report.examples import examples_figure

    cfg = _settings(args, Report, "report")
    cells = pd.read_csv(Path(args.summary) / "cells.csv")
    with atomic_path(Path(args.out)) as tmp, style(cfg.figure.font_size, cfg.figure.dpi):
        tmp.mkdir()
        if cfg.examples.n_images:
            shown = examples_figure(cells, Path(args.cells), cfg.examples.n_images, tmp / "best_worst")
            shown.to_csv(tmp / "best_worst.csv", index=False)
            for r in shown.itertuples():
                log.info("examples %-5s %s %s Dice %.3f", r.role, r.cell, r.case, r.dice)
