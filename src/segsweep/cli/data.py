"""Verbs of the data stage: ``synth``, ``ingest``, ``collect``, ``split``."""

from __future__ import annotations

from pathlib import Path

from segsweep.cli.common import log, section
from segsweep.errors import ConfigError


def cmd_synth(args) -> None:
    from segsweep.config import Dataset
    from segsweep.data.synth import write_synth

    ds = section(args, Dataset, f"datasets.{args.dataset}")
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

    ds = section(args, Dataset, f"datasets.{args.dataset}")
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


def cmd_inspect(args) -> None:
    """Every case of a dataset read once: shapes, spacings, orientation, intensities,
    foreground, a modality hint; a JSON file with ``--out``."""
    import json

    from segsweep.config import Dataset, dataset_ndim
    from segsweep.data.ingest import reader_for
    from segsweep.data.inspect import inspect_dataset
    from segsweep.io import write_json

    ds = section(args, Dataset, f"datasets.{args.dataset}")
    root = Path(args.root) if args.root else getattr(ds, "root", None) or Path(f"data/synth/{args.dataset}")
    if not root.is_dir():
        raise ConfigError(
            f"datasets.{args.dataset}: {root} is not a folder (a synthetic dataset: run `snakemake data`)"
        )
    report = inspect_dataset(reader_for(ds, root), root, f"datasets.{args.dataset}", dataset_ndim(ds))
    if args.out:
        write_json(args.out, report)
    summary = {k: v for k, v in report.items() if k != "cases"}
    print(json.dumps(summary, indent=2))


def cmd_split(args) -> None:
    from segsweep.config import Splits
    from segsweep.data.cases import read_manifest
    from segsweep.io import write_json
    from segsweep.splits import split_cases

    if not 0 < args.fraction <= 1:
        raise ConfigError(f"--fraction = {args.fraction}: a train fraction must be in (0, 1]")
    protocol = section(args, Splits, "splits").protocol()
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


def add_verbs(verb) -> None:
    """This stage's subcommands (``verb(name, handler, help)`` adds one)."""
    sp = verb("synth", cmd_synth, "generate a synthetic dataset (PNG or NIfTI + manifest.csv)")
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--out", required=True)
    sp = verb("ingest", cmd_ingest, "check image/mask pairs and write the case store")
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--root", help="folder the globs are relative to (default: the dataset's root)")
    sp.add_argument("--out", required=True)
    sp = verb("inspect", cmd_inspect, "a dataset's fingerprint: shapes, spacings, intensities, foreground")
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--root", help="folder the globs are relative to (default: the dataset's root)")
    sp.add_argument("--out", help="also write the fingerprint with every case as JSON here")
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
