# Stage "landscape": loss surfaces around trained cells, then side-by-side figures.


rule landscape_cell:
    input:
        unpack(checked("landscape_cell", landscape_inputs)),
    output:
        npz="results/landscapes/cells/{cell}.npz",
        roughness="results/landscapes/cells/{cell}_roughness.json",
        fingerprint="results/landscapes/cells/{cell}.fingerprint.json",
    params:
        fingerprint=pending("landscape_cell"),
        # not landscape.cells: adding a cell runs only that cell's job (and the comparison)
        cfg=lambda w: cfg_arg(P.landscape.model_dump(mode="json", exclude={"cells"})),
        cell=lambda w: cfg_arg(cell_of(w)),
        ndim=lambda w: NDIM[cell_of(w).dataset],
    threads: lambda w: cell_of(w).threads
    resources:
        mem_mb=model_mem_mb(cell_of),
    log:
        "logs/landscape/{cell}.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} landscape cell"
        " --cfg {params.cfg} --cell {wildcards.cell}"
        " --cell-cfg {params.cell} --cell-dir results/cells/{wildcards.cell} --patches {input.patches}"
        " --split {input.split} --ndim {params.ndim} --out results/landscapes/cells/{wildcards.cell}"


rule landscape_compare:
    input:
        unpack(checked("landscape_compare", {"npz": expand("results/landscapes/cells/{cell}.npz", cell=P.landscape.cells)})),
    output:
        out=directory("results/landscapes/compare"),
        fingerprint="results/landscapes/compare.fingerprint.json",
    params:
        fingerprint=pending("landscape_compare"),
        cells=lambda w: " ".join(f"{c}=results/landscapes/cells/{c}" for c in P.landscape.cells),
    log:
        "logs/landscape/compare.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} landscape compare"
        " --cells {params.cells} --out {output.out}"


rule landscape_all:
    """Target of the DVC stage "landscape"."""
    input:
        rules.landscape_compare.output,  # always: with no cells, an empty roughness table
        fingerprints_of("landscape_cell", cell=P.landscape.cells),
        fingerprints_of("landscape_compare"),
