"""The ``landscape`` verb: one cell's loss surfaces, or a comparison of cells."""

from __future__ import annotations

from pathlib import Path

from segsweep.cli.common import cell_section, log, section


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

        cfg = section(args, Landscape, "landscape")
        cell = cell_section(args, "landscape cell")
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


def add_verbs(verb) -> None:
    """This stage's subcommands (``verb(name, handler, help)`` adds one)."""
    sp = verb("landscape", cmd_landscape, "loss landscapes: one cell, or a comparison of cells")
    sp.add_argument("what", choices=("cell", "compare"))
    sp.add_argument("--cell", help="cell id")
    sp.add_argument("--cell-cfg", help="the cell's train section as JSON")
    sp.add_argument("--cell-dir", help="results/cells/<cell>")
    sp.add_argument("--patches", help="processed dataset folder (evaluation batches)")
    sp.add_argument("--split", help="split JSON (training cases)")
    sp.add_argument("--ndim", type=int, choices=(2, 3), default=2)
    sp.add_argument("--cells", nargs="*", default=[], help="compare: CELL=output/stem ...")
    sp.add_argument("--out", required=True, help="cell: output stem; compare: output folder")
