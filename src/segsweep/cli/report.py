"""Verbs of the report stage: ``report``, ``reference``, ``examples``."""

from __future__ import annotations

from pathlib import Path

from segsweep.cli.common import log, section
from segsweep.errors import ConfigError


def cmd_report(args) -> None:
    import json

    from segsweep.config import Report
    from segsweep.report.build import build_report

    cfg = section(args, Report, "report")
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

    cfg = section(args, Report, "report")
    cells = pd.read_csv(Path(args.summary) / "cells.csv")
    with atomic_path(Path(args.out)) as tmp, style(cfg.figure.font_size, cfg.figure.dpi):
        tmp.mkdir()
        # best and worst per dataset: cells of a 2D and a 3D study share no test image
        datasets = sorted(cells["params.dataset"].dropna().unique()) if "params.dataset" in cells else [None]
        for ds in datasets if cfg.examples.n_images else []:
            stem = "best_worst" if len(datasets) == 1 else f"best_worst_{ds}"
            own = cells if ds is None else cells[cells["params.dataset"] == ds]
            shown = examples_figure(own, Path(args.cells), cfg.examples.n_images, tmp / stem)
            shown.to_csv(tmp / f"{stem}.csv", index=False)
            for r in shown.itertuples():
                log.info("examples %-5s %s %s Dice %.3f", r.role, r.cell, r.case, r.dice)


def add_verbs(verb) -> None:
    """This stage's subcommands (``verb(name, handler, help)`` adds one)."""
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
