# Stage "train": one job per grid cell, then a summary DVC reads as metrics and plots.


def cell_inputs(w):
    c = cell_of(w)
    return {
        "patches": paths.processed(c.dataset, c.noise),
        "split": paths.split(c.dataset, c.train_fraction, c.split_seed),
        "prepared": paths.prepared(c.dataset),
    }


rule train:
    input:
        unpack(checked("train", cell_inputs)),
    output:
        metrics="results/cells/{cell}/metrics.json",
        history="results/cells/{cell}/history.csv",
        norms="results/cells/{cell}/norms.parquet",
        selected="results/cells/{cell}/checkpoint_selected.pt",
        last="results/cells/{cell}/checkpoint_last.pt",
        snapshots=directory("results/cells/{cell}/snapshots"),
        fingerprint="results/cells/{cell}/fingerprint.json",
    params:
        fingerprint=pending("train"),
        cfg=lambda w: cfg_arg(cell_of(w)),
        ndim=lambda w: NDIM[cell_of(w).dataset],
    threads: lambda w: cell_of(w).threads
    resources:
        # Limit concurrent GPU jobs with `--resources gpu=N` (Snakemake does not pick the
        # device: set CUDA_VISIBLE_DEVICES per job on multi-GPU nodes).
        gpu=lambda w: 0 if cell_of(w).device == "cpu" else 1,
    log:
        "logs/train/{cell}.log",
    conda:
        "../envs/train.yaml"
    shell:
        RUN + " train --cell {wildcards.cell} --ndim {params.ndim} --cfg {params.cfg}"
        " --patches {input.patches} --split {input.split} --prepared {input.prepared}"
        " --out results/cells/{wildcards.cell}"


rule grid:
    """The grid's cell ids and studies as a file: a 10,000-cell list does not fit on a
    command line (Linux allows 128 KiB per argument, and `bash -c` gets one)."""
    input:
        unpack(checked("grid", {})),
    output:
        "results/grid.json",
        fingerprint="results/grid.fingerprint.json",
    params:
        grid=lambda w: section_json({"cells": list(CELLS), "studies": STUDIES}),
    run:
        Path(output[0]).parent.mkdir(parents=True, exist_ok=True)
        Path(output[0]).write_text(params.grid + "\n")
        write_fingerprint("grid", wildcards)


rule summary:
    """Every cell's headline metrics in one file and its curves (DVC plots)."""
    input:
        unpack(checked("summary", {"metrics": expand("results/cells/{cell}/metrics.json", cell=CELLS),
                                   "grid": "results/grid.json"})),
    output:
        metrics="results/summary/metrics.json",
        table="results/summary/cells.csv",
        per_image="results/summary/per_image.csv",
        # folders, not one output per cell: a 10,000-file output list makes every DAG
        # lookup through this rule (and every rule listing its outputs) quadratic
        curves=directory("results/summary/curves"),
        # files, not a directory(): Snakemake's marker file in it would be read as a plot
        study_curves=expand("results/summary/study_curves/{study}.csv", study=STUDIES),
        fingerprint="results/summary/fingerprint.json",
    params:
        fingerprint=pending("summary"),
    log:
        "logs/summary.log",
    conda:
        "../envs/data.yaml"
    shell:
        RUN + " summarize --grid {input.grid} --cells results/cells --out results/summary"


rule train_all:
    """Target of the DVC stage "train"."""
    input:
        rules.summary.output,
        fingerprints_of("train", cell=CELLS),
        fingerprints_of("grid"),
        fingerprints_of("summary"),
