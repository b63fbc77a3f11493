# Stage "report": the last rule. Tables, figures and provenance in results/report/.


rule resolved_params:
    """The validated params with defaults filled in, recorded with the report."""
    input:
        unpack(checked("resolved_params", {})),
    output:
        "results/report_params.json",
        fingerprint="results/report_params.fingerprint.json",
    params:
        resolved=lambda w: section_json(P),
    log:
        "logs/resolved_params.log",
    run:
        write_tracked("resolved_params", output[0], params.resolved, log[0], wildcards)


REFERENCE_DATASETS = sorted({c.dataset for c in CELLS.values()})


rule reference:
    """A global grey-threshold rule fitted on the baseline split's training cases and
    scored on the test cases: the row every network must beat."""
    input:
        unpack(checked("reference", {"prepared": lambda w: paths.prepared(w.ds),
                                     "split": lambda w: paths.split(w.ds, P.train.train_fraction, P.train.split_seed)})),
    output:
        out="results/reference/{ds}.json",
        fingerprint="results/reference/{ds}.fingerprint.json",
    params:
        fingerprint=pending("reference"),
        ndim=lambda w: NDIM[w.ds],
    resources:
        mem_mb=data_mem_mb,
    log:
        "logs/reference/{ds}.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} reference"
        " --prepared {input.prepared} --split {input.split}"
        " --ndim {params.ndim} --out {output.out}"


rule examples:
    """Image, ground truth and predictions of the best and worst cells (decided from the
    summary, so every cell's checkpoint is an input)."""
    input:
        unpack(checked("examples", {
            "table": "results/summary/cells.csv",
            "checkpoints": expand("results/cells/{cell}/checkpoint_selected.pt", cell=CELLS),
            "prepared": sorted({paths.prepared(c.dataset) for c in CELLS.values()}),
            "splits": sorted({paths.split(c.dataset, c.train_fraction, c.split_seed) for c in CELLS.values()}),
        })),
    output:
        out=directory("results/examples"),
        fingerprint="results/examples.fingerprint.json",
    params:
        fingerprint=pending("examples"),
        # only the fields the figure uses: a new title or table setting does not redraw it
        cfg=lambda w: cfg_arg({"examples": P.report.examples.model_dump(), "figure": P.report.figure.model_dump()}),
    resources:
        mem_mb=model_mem_mb(lambda w: P.train),
    log:
        "logs/examples.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} examples"
        " --cfg {params.cfg} --summary results/summary --cells results/cells"
        " --out {output.out}"


rule report:
    input:
        unpack(checked("report", {
            "summary": products("summary"),
            "params": "results/report_params.json",
            "figures": report_figures,
            "examples": "results/examples",
            "references": expand("results/reference/{ds}.json", ds=REFERENCE_DATASETS),
            "manifest": "data/interim/datasets.csv",
            "grid": "results/grid.json",
            "splits": sorted({paths.split(c.dataset, c.train_fraction, c.split_seed) for c in CELLS.values()}),
        })),
    output:
        out=directory("results/report"),
        fingerprint="results/report.fingerprint.json",
    params:
        fingerprint=pending("report"),
        cfg=lambda w: cfg_arg(P.report),
        # axis names as lists: their order (the pivot tables' rows, columns) survives sort_keys
        axes=lambda w: shlex.quote(section_json({s: list(a) for s, a in P.grid.studies.items()})),
        pngs=report_pngs,
    log:
        "logs/report.log",
    conda:
        "../envs/train.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} report"
        " --cfg {params.cfg} --grid {input.grid}"
        " --summary results/summary --params-json {input.params} --figures {params.pngs}"
        " --examples {input.examples} --axes {params.axes} --references {input.references}"
        " --manifest {input.manifest} --splits {input.splits} --out {output.out}"


rule report_all:
    """Target of the DVC stage "report": the report and every fingerprint of the stage."""
    input:
        "results/report",
        fingerprints_of("report"),
        fingerprints_of("examples"),
        fingerprints_of("resolved_params"),
        fingerprints_of("reference", ds=REFERENCE_DATASETS),
