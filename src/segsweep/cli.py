"""The ``segsweep`` command line: one verb per pipeline step.

Each verb reads its settings either from ``--params FILE`` (the whole params.yaml,
validated) or, when Snakemake calls it, from ``--cfg JSON`` (the rule's ``params:``
section, validated by the same model). A user error prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from pathlib import Path

from segsweep.cli_analysis import cmd_examples, cmd_landscape, cmd_probe, cmd_reference, cmd_report
from segsweep.errors import ConfigError, SegsweepError, did_you_mean, system_message
from segsweep.runtime import tune_malloc

log = logging.getLogger("segsweep")


def _section(args, model, key: str):
    """The validated settings at dotted ``key``: from ``--cfg`` when given, else from
    ``--params``. ``datasets.<name>`` checks that the dataset exists."""
    from segsweep.config import load_section
    from segsweep.study import load_params

    if args.cfg is not None:
        return load_section(model, args.cfg, key)
    obj = load_params(args.params)
    parts = key.split(".")
    if parts[0] == "datasets" and parts[1] not in obj.datasets:
        raise ConfigError(
            f"--dataset {parts[1]}: no such dataset in {args.params}"
            f"{did_you_mean(parts[1], obj.datasets)}; valid: {', '.join(obj.datasets)}"
        )
    for part in parts:
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


def cmd_validate(args) -> None:
    from segsweep.config import section_json
    from segsweep.study import load_params

    params = load_params(args.params)
    print(section_json(params) if args.json else f"{args.params}: ok ({len(params.datasets)} datasets)")


def cmd_synth(args) -> None:
    from segsweep.config import Dataset
    from segsweep.data.synth import write_synth

    ds = _section(args, Dataset, f"datasets.{args.dataset}")
    if not ds.kind.startswith("synth"):
        raise ConfigError(f"datasets.{args.dataset}.kind = {ds.kind!r}: synth needs synth2d or synth3d")
    manifest = write_synth(ds, Path(args.out), args.dataset)
    log.info(
        "synth %s: %d cases, %d background-only -> %s",
        args.dataset,
        len(manifest),
        int((~manifest["has_fg"]).sum()),
        args.out,
    )


def cmd_ingest(args) -> None:
    from segsweep.config import Dataset
    from segsweep.data.ingest import ingest, reader_for

    ds = _section(args, Dataset, f"datasets.{args.dataset}")
    root = Path(args.root) if args.root else getattr(ds, "root", None)
    if root is None:
        raise ConfigError(
            f"datasets.{args.dataset}: a synthetic dataset is ingested from its synth folder: pass --root"
        )
    reader = reader_for(ds, root)
    manifest = ingest(reader, root, Path(args.out), f"datasets.{args.dataset}")
    log.info(
        "ingest %s: %d cases (%d background-only) -> %s",
        args.dataset,
        len(manifest),
        int((~manifest["has_fg"]).sum()),
        args.out,
    )


def cmd_prepare(args) -> None:
    from segsweep.config import Prepare
    from segsweep.preprocess.prepare import prepare

    manifest = prepare(_section(args, Prepare, "preprocess.prepare"), Path(args.src), Path(args.out))
    log.info("prepare: %d cases -> %s", len(manifest), args.out)


def cmd_augment(args) -> None:
    from segsweep.config import Augment
    from segsweep.preprocess.augment import augment

    manifest = augment(_section(args, Augment, "preprocess.augment"), Path(args.src), Path(args.out))
    log.info("augment: %d samples -> %s", len(manifest), args.out)


def cmd_patches(args) -> None:
    from segsweep.config import Patches
    from segsweep.preprocess.patches import extract_patches

    if args.sigma < 0:
        raise ConfigError(f"--sigma = {args.sigma}: a noise level must be >= 0")
    table = extract_patches(_section(args, Patches, "preprocess.patches"), args.sigma, Path(args.src), Path(args.out))
    counts = table["kind"].value_counts().to_dict()
    log.info("patches (sigma=%g): %d patches %s -> %s", args.sigma, len(table), counts, args.out)


def cmd_split(args) -> None:
    from segsweep.config import Splits
    from segsweep.io import read_manifest, write_json
    from segsweep.splits import split_cases

    if not 0 < args.fraction <= 1:
        raise ConfigError(f"--fraction = {args.fraction}: a train fraction must be in (0, 1]")
    protocol = _section(args, Splits, "splits").protocol()
    manifest = read_manifest(Path(args.manifest).parent)
    split = split_cases(manifest, args.fraction, args.seed, **protocol)
    write_json(
        args.out,
        {
            "train_fraction": args.fraction,
            "seed": args.seed,
            **protocol,
            **{f"n_{k}": len(v) for k, v in split.items()},
            **split,
        },
    )
    log.info(
        "split f=%g seed=%d: %d train / %d val / %d test cases -> %s",
        args.fraction,
        args.seed,
        len(split["train"]),
        len(split["val"]),
        len(split["test"]),
        args.out,
    )


def cmd_collect(args) -> None:
    """Concatenate per-dataset manifests into one table with a ``dataset`` column."""
    import pandas as pd

    from segsweep.io import atomic_path

    frames = [pd.DataFrame({"dataset": []})]
    for path in args.manifests:
        df = pd.read_csv(path, dtype={"case": str})
        df.insert(0, "dataset", Path(path).parent.name)
        frames.append(df)
    with atomic_path(args.out) as tmp:
        pd.concat(frames, ignore_index=True).to_csv(tmp, index=False)
    log.info("collect: %d manifests -> %s", len(args.manifests), args.out)


def cmd_grid(args) -> None:
    """Print the cell ids (one per line), or those of one study."""
    from segsweep.grid import expand
    from segsweep.study import load_params

    params = load_params(args.params)
    cells, studies = expand(params.train, params.grid, args.params)
    if args.study is not None:
        if args.study not in studies:
            raise ConfigError(
                f"--study {args.study}: no such study{did_you_mean(args.study, studies)}; "
                f"valid: {', '.join(studies) or '(none)'}"
            )
        ids = studies[args.study]
    else:
        ids = list(cells)
    print("\n".join(ids))


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
    log.info(
        "train %s: status %s, test dice %s (%s weights, epoch %s); %.1f s, %.1f img/s, resumed from epoch %d",
        args.cell,
        metrics["status"],
        metrics["dice"],
        metrics["selection"],
        metrics["selected_epoch"],
        metrics["train_seconds"],
        metrics["images_per_second"] or 0,
        metrics["resumed_from_epoch"],
    )


def cmd_summarize(args) -> None:
    import json

    from segsweep.summary import summarize

    grid = json.loads(Path(args.grid).read_text())
    files = [Path(args.cells) / cell / "metrics.json" for cell in grid["cells"]]
    table = summarize(files, grid["studies"], Path(args.out))
    log.info(
        "summarize: %d cells (%d diverged) -> %s", len(table), int((table["status"] == "diverged").sum()), args.out
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="segsweep", description=__doc__.splitlines()[0])
    p.add_argument("--log", help="also append log lines to this file")
    p.add_argument(
        "--fingerprint",
        metavar="PENDING",
        help="after the verb succeeds, write the job's fingerprint from this pending record (the workflow's)",
    )
    p.add_argument(
        "--debug",
        action="store_true",
        default=bool(os.environ.get("SEGSWEEP_DEBUG")),
        help="print the traceback of an error too (or set SEGSWEEP_DEBUG=1)",
    )
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name, func, help_, cfg=True):
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        sp.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
        if cfg:
            sp.add_argument("--cfg", help="the section as JSON (how Snakemake passes params:)")
        return sp

    sp = verb("validate", cmd_validate, "validate params.yaml; --json prints the resolved params", cfg=False)
    sp.add_argument("--json", action="store_true")
    sp = verb("synth", cmd_synth, "generate a synthetic dataset (PNG or NIfTI + manifest.csv)")
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--out", required=True)
    sp = verb("ingest", cmd_ingest, "check image/mask pairs and write the case store")
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--root", help="folder the globs are relative to (default: the dataset's root)")
    sp.add_argument("--out", required=True)
    for name, func, help_ in (
        ("prepare", cmd_prepare, "CLAHE, resize/pad (2D); intensity window (3D)"),
        ("augment", cmd_augment, "seeded random rotations and crops"),
        ("patches", cmd_patches, "noise level + patch extraction"),
    ):
        sp = verb(name, func, help_)
        sp.add_argument("--src", required=True)
        sp.add_argument("--out", required=True)
        if name == "patches":
            sp.add_argument("--sigma", type=float, default=0.0)
    sp = verb(
        "split",
        cmd_split,
        "test/validation/train split by source case (--cfg: splits.test_fraction, test_seed, val_fraction)",
    )
    sp.add_argument("--manifest", required=True, help="the ingested dataset's manifest.csv")
    sp.add_argument("--fraction", type=float, required=True)
    sp.add_argument("--seed", type=int, required=True)
    sp.add_argument("--out", required=True)
    sp = verb("collect", cmd_collect, "concatenate manifests into one table", cfg=False)
    sp.add_argument("--out", required=True)
    sp.add_argument("manifests", nargs="*")
    sp = verb("grid", cmd_grid, "print the grid's cell ids, one per line", cfg=False)
    sp.add_argument("--study", help="only the cells of this study")
    sp = verb("train", cmd_train, "train one grid cell")
    sp.add_argument("--cell", required=True, help="cell id (see `segsweep grid`)")
    sp.add_argument("--ndim", type=int, choices=(2, 3), help="with --cfg: 2D or 3D data")
    for name in ("patches", "split", "prepared", "out"):
        sp.add_argument(f"--{name}", help="default: the pipeline's layout (segsweep.paths)")
    sp = verb("summarize", cmd_summarize, "collect cells' metrics for DVC metrics/plots", cfg=False)
    sp.add_argument("--grid", required=True, help="results/grid.json: cell ids and studies")
    sp.add_argument("--cells", default="results/cells", help="folder of the cells' outputs")
    sp.add_argument("--out", required=True)
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
    sp = verb("report", cmd_report, "the HTML report: tables, figures, provenance")
    sp.add_argument("--grid", required=True, help="results/grid.json: cell ids and studies")
    sp.add_argument("--summary", required=True, help="results/summary")
    sp.add_argument("--params-json", required=True, help="the resolved params (JSON file)")
    sp.add_argument("--figures", nargs="*", default=[], help="PNG figures to include (PDF beside them is copied too)")
    sp.add_argument("--examples", help="folder of example-segmentation figures (segsweep examples)")
    sp.add_argument("--axes", default="{}", help="JSON: study -> its axis names, in params order")
    sp.add_argument("--references", nargs="*", default=[], help="<dataset>.json files from segsweep reference")
    sp.add_argument("--manifest", help="the ingest manifest (data/interim/datasets.csv), for the dataset summary")
    sp.add_argument("--splits", nargs="*", default=[], help="the split JSON files the cells used")
    sp.add_argument("--out", required=True)
    sp = verb("reference", cmd_reference, "a global grey-threshold reference: fit on train, score on test", cfg=False)
    sp.add_argument("--prepared", required=True, help="the dataset's prepared case store")
    sp.add_argument("--split", required=True, help="split JSON (train and test cases)")
    sp.add_argument("--ndim", type=int, choices=(2, 3), required=True)
    sp.add_argument("--out", required=True, help="<dataset>.json")
    sp = verb("examples", cmd_examples, "example segmentations of the best and worst cells")
    sp.add_argument("--summary", required=True, help="results/summary")
    sp.add_argument("--cells", required=True, help="results/cells")
    sp.add_argument("--out", required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if args.log:
        Path(args.log).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", handlers=handlers, force=True)
    # matplotlib's PDF font subsetting logs every glyph table at INFO: thousands of lines
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    start = time.perf_counter()
    try:
        tune_malloc()  # before the verb allocates anything: see segsweep.runtime
        args.func(args)
        if args.fingerprint:
            from segsweep.fingerprint import finish_pending

            finish_pending(args.fingerprint)
    except Exception as exc:
        # One line for a person (the log file gets it too); a bug keeps its traceback.
        message = str(exc) if isinstance(exc, SegsweepError) else system_message(exc, getattr(args, "out", None))
        if message is None:
            raise
        if args.debug:
            traceback.print_exc()
        print(f"error: {message}", file=sys.stderr)
        if args.log:
            with open(args.log, "a") as fh:
                fh.write(f"error: {message}\n")
        return 2
    log.info("%s done in %.1fs", args.verb, time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
