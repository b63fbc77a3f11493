"""Verbs of the training stage: ``train`` (one cell), ``summarize`` (all cells)."""

from __future__ import annotations

from pathlib import Path

from segsweep.cli.common import log
from segsweep.errors import ConfigError, did_you_mean


def cmd_train(args) -> None:
    from segsweep import paths
    from segsweep.config import Train, dataset_ndim, load_section
    from segsweep.grid import expand
    from segsweep.study import load_params
    from segsweep.train.loop import train_cell

    if args.cfg is not None:
        cfg, ndim = load_section(Train, args.cfg, "train"), args.ndim
        if ndim is None:
            raise ConfigError("--ndim is required with --cfg (2 or 3)")
    else:
        params = load_params(args.params)
        cells, _ = expand(params.train, params.grid, args.params)
        if args.cell not in cells:
            raise ConfigError(
                f"--cell {args.cell}: no such cell{did_you_mean(args.cell, cells)}; "
                f"`segsweep grid` lists them ({len(cells)} cells)"
            )
        cfg = cells[args.cell]
        ndim = dataset_ndim(params.datasets[cfg.dataset])
    metrics = train_cell(
        cfg,
        args.cell,
        patches_dir=Path(args.patches or paths.processed(cfg.dataset, cfg.noise)),
        split_path=Path(args.split or paths.split(cfg.dataset, cfg.train_fraction, cfg.split_seed)),
        prepared_dir=Path(args.prepared or paths.prepared(cfg.dataset)),
        out_dir=Path(args.out or paths.cell_dir(args.cell)),
        ndim=ndim,
    )
    if metrics.get("restored"):
        log.info(
            "train %s: status %s, test dice %s: restored, not retrained", args.cell, metrics["status"], metrics["dice"]
        )
        return
    log.info(
        "train %s: status %s, test dice %s (%s weights, epoch %s); %.1f s, %.1f img/s, %.4f s/step, "
        "resumed from epoch %d",
        args.cell,
        metrics["status"],
        metrics["dice"],
        metrics["selection"],
        metrics["selected_epoch"],
        metrics["train_seconds"],
        metrics["images_per_second"] or 0,
        metrics["seconds_per_step"] or 0,
        metrics["resumed_from_epoch"],
    )


def cmd_summarize(args) -> None:
    import json

    from segsweep.study_results import summarize

    grid = json.loads(Path(args.grid).read_text())
    files = [Path(args.cells) / cell / "metrics.json" for cell in grid["cells"]]
    table = summarize(files, grid["studies"], Path(args.out))
    log.info(
        "summarize: %d cells (%d diverged) -> %s", len(table), int((table["status"] == "diverged").sum()), args.out
    )


def add_verbs(verb) -> None:
    """This stage's subcommands (``verb(name, handler, help)`` adds one)."""
    sp = verb("train", cmd_train, "train one grid cell")
    sp.add_argument("--cell", required=True, help="cell id (see `segsweep grid`)")
    sp.add_argument("--ndim", type=int, choices=(2, 3), help="with --cfg: 2D or 3D data")
    for name in ("patches", "split", "prepared", "out"):
        sp.add_argument(f"--{name}", help="default: the pipeline's layout (segsweep.paths)")
    sp = verb("summarize", cmd_summarize, "collect cells' metrics for DVC metrics/plots", cfg=False)
    sp.add_argument("--grid", required=True, help="results/grid.json: cell ids and studies")
    sp.add_argument("--cells", default="results/cells", help="folder of the cells' outputs")
    sp.add_argument("--out", required=True)
