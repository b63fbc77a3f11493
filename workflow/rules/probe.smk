# Stage "probe": gradient norms on fg+bg vs bg-only patches per loss (at initialisation
# and along training), per-pixel gradient maps, and norm dynamics per cell and study.


rule probe_init:
    input:
        unpack(checked("probe_init", {"patches": lambda w: paths.processed(P.probe.init.dataset, 0.0),
                                      # the baseline's split: patches of its training cases only
                                      "split": lambda w: paths.split(P.probe.init.dataset, P.train.train_fraction,
                                                                     P.train.split_seed)})),
    output:
        multiext("results/probes/patches/init", ".parquet", ".csv", "_summary.csv", ".png", ".pdf"),
        fingerprint="results/probes/patches/init.fingerprint.json",
    params:
        fingerprint=pending("probe_init"),
        cfg=probe_cfg,
        ndim=lambda w: NDIM[P.probe.init.dataset],
    resources:
        mem_mb=model_mem_mb(lambda w: P.train),
    log:
        "logs/probe/init.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} probe patches"
        " --cfg {params.cfg} --patches {input.patches} --split {input.split}"
        " --ndim {params.ndim} --out results/probes/patches/init"


rule probe_cell:
    input:
        unpack(checked("probe_cell", probe_cell_inputs)),
    output:
        multiext("results/probes/patches/cell_{cell}", ".parquet", ".csv", "_summary.csv", ".png", ".pdf"),
        fingerprint="results/probes/patches/cell_{cell}.fingerprint.json",
    params:
        fingerprint=pending("probe_cell"),
        cfg=probe_cfg,
        cell=lambda w: cfg_arg(cell_of(w)),
        ndim=lambda w: NDIM[cell_of(w).dataset],
    resources:
        mem_mb=model_mem_mb(cell_of),
    log:
        "logs/probe/cell_{cell}.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} probe patches"
        " --cfg {params.cfg} --cell-cfg {params.cell}"
        " --snapshots {input.snapshots} --patches {input.patches} --split {input.split} --ndim {params.ndim}"
        " --out results/probes/patches/cell_{wildcards.cell}"


rule probe_pixels_synthetic:
    input:
        unpack(checked("probe_pixels_synthetic", {})),
    output:
        multiext("results/probes/pixels/synthetic", "_curves.png", "_curves.pdf", "_maps.png", "_maps.pdf",
                 "_summary.csv"),
        fingerprint="results/probes/pixels/synthetic.fingerprint.json",
    params:
        fingerprint=pending("probe_pixels_synthetic"),
        cfg=probe_cfg,
    resources:
        mem_mb=model_mem_mb(lambda w: P.train),
    log:
        "logs/probe/pixels_synthetic.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} probe pixels"
        " --cfg {params.cfg}"
        " --out results/probes/pixels/synthetic"


rule probe_pixels_cell:
    input:
        unpack(checked("probe_pixels_cell", pixels_cell_inputs)),
    output:
        multiext("results/probes/pixels/cell_{cell}", ".png", ".pdf", "_summary.csv"),
        fingerprint="results/probes/pixels/cell_{cell}.fingerprint.json",
    params:
        fingerprint=pending("probe_pixels_cell"),
        cfg=probe_cfg,
        cell=lambda w: cfg_arg(cell_of(w)),
        ndim=lambda w: NDIM[cell_of(w).dataset],
    resources:
        mem_mb=model_mem_mb(cell_of),
    log:
        "logs/probe/pixels_{cell}.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} probe pixels"
        " --cfg {params.cfg} --cell-cfg {params.cell}"
        " --snapshots {input.snapshots} --prepared {input.prepared} --split {input.split}"
        " --ndim {params.ndim} --out results/probes/pixels/cell_{wildcards.cell}"


DYNAMICS_CELLS = list(dict.fromkeys(c for s in P.probe.dynamics.studies for c in STUDIES[s]))


rule probe_dynamics:
    """Norm curves per cell and study, and per study the gradient-norm trend per row (the
    cells that differ only by seed, grouped by the params in their metrics.json) and layer."""
    input:
        unpack(checked("probe_dynamics", {"norms": expand("results/cells/{cell}/norms.parquet", cell=DYNAMICS_CELLS),
                                          "metrics": expand("results/cells/{cell}/metrics.json", cell=DYNAMICS_CELLS)})),
    output:
        out=directory("results/probes/dynamics"),
        fingerprint="results/probes/dynamics.fingerprint.json",
    params:
        fingerprint=pending("probe_dynamics"),
        cfg=probe_cfg,
        studies=lambda w: shlex.quote(section_json({s: STUDIES[s] for s in P.probe.dynamics.studies})),
        norms=lambda w: " ".join(f"{c}=results/cells/{c}/norms.parquet" for c in DYNAMICS_CELLS),
        metrics=lambda w: " ".join(f"{c}=results/cells/{c}/metrics.json" for c in DYNAMICS_CELLS),
    log:
        "logs/probe/dynamics.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} probe dynamics"
        " --cfg {params.cfg} --studies {params.studies}"
        " --out {output.out} --norms {params.norms} --metrics {params.metrics}"


rule probe_all:
    """Target of the DVC stage "probe"."""
    input:
        rules.probe_init.output if P.probe.init.dataset else [],
        expand(rules.probe_cell.output, cell=P.probe.cells),
        rules.probe_pixels_synthetic.output,
        expand(rules.probe_pixels_cell.output, cell=[P.probe.pixels.cell] if P.probe.pixels.cell else []),
        rules.probe_dynamics.output if DYNAMICS_CELLS else [],
        fingerprints_of("probe_init") if P.probe.init.dataset else [],
        fingerprints_of("probe_cell", cell=P.probe.cells),
        fingerprints_of("probe_pixels_synthetic"),
        fingerprints_of("probe_pixels_cell", cell=[P.probe.pixels.cell] if P.probe.pixels.cell else []),
        fingerprints_of("probe_dynamics") if DYNAMICS_CELLS else [],
