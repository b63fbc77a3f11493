# Stage "train": one job per grid cell, then a summary DVC reads as metrics and plots.


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
        # sized from the cell's model and data (workflow/rules/cluster.smk)
        mem_mb=train_mem_mb,
        runtime=train_runtime,
        slurm_partition=gpu_partition,
        gpu_model=gpu_model,
    log:
        "logs/train/{cell}.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} train"
        " --cell {wildcards.cell} --ndim {params.ndim} --cfg {params.cfg}"
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
    log:
        "logs/grid.log",
    run:
        write_tracked("grid", output[0], params.grid, log[0], wildcards)


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
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} summarize"
        " --grid {input.grid} --cells results/cells --out results/summary"


rule train_all:
    """Target of the DVC stage "train"."""
    input:
        rules.summary.output,
        fingerprints_of("train", cell=CELLS),
        fingerprints_of("grid"),
        fingerprints_of("summary"),
