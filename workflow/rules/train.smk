# Stage "train": one job per grid cell, then a summary DVC reads as metrics and plots.


def cell_inputs(w):
    c = CELLS[w.cell]
    return {
        "patches": paths.processed(c.dataset, c.noise),
        "split": paths.split(c.dataset, c.train_fraction, c.split_seed),
        "prepared": paths.prepared(c.dataset),
    }


rule train:
    input:
        unpack(cell_inputs),
    output:
        metrics="results/cells/{cell}/metrics.json",
        history="results/cells/{cell}/history.csv",
        norms="results/cells/{cell}/norms.parquet",
        selected="results/cells/{cell}/checkpoint_selected.pt",
        last="results/cells/{cell}/checkpoint_last.pt",
        snapshots=directory("results/cells/{cell}/snapshots"),
    params:
        cfg=lambda w: cfg_arg(CELLS[w.cell]),
        ndim=lambda w: NDIM[CELLS[w.cell].dataset],
    threads: lambda w: CELLS[w.cell].threads
    resources:
        # Limit concurrent GPU jobs with `--resources gpu=N` (Snakemake does not pick the
        # device: set CUDA_VISIBLE_DEVICES per job on multi-GPU nodes).
        gpu=lambda w: 0 if CELLS[w.cell].device == "cpu" else 1,
    log:
        "logs/train/{cell}.log",
    conda:
        "../envs/train.yaml"
    shell:
        "{SEGSWEEP} --log {log} train --cell {wildcards.cell} --ndim {params.ndim} --cfg {params.cfg}"
        " --patches {input.patches} --split {input.split} --prepared {input.prepared}"
        " --out results/cells/{wildcards.cell}"


rule summary:
    """Every cell's headline metrics in one file (DVC metrics) and its curves (DVC plots)."""
    input:
        expand("results/cells/{cell}/metrics.json", cell=CELLS),
    output:
        metrics="results/summary/metrics.json",
        table="results/summary/cells.csv",
        per_image="results/summary/per_image.csv",
        curves=expand("results/summary/curves/{cell}.csv", cell=CELLS),
    params:
        studies=lambda w: shlex.quote(section_json(STUDIES)),
    log:
        "logs/summary.log",
    conda:
        "../envs/data.yaml"
    shell:
        "{SEGSWEEP} --log {log} summarize --studies {params.studies} --out results/summary {input}"


rule train_all:
    """Target of the DVC stage "train"."""
    input:
        rules.summary.output,
