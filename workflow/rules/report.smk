# Stage "report": the last rule. Tables, figures and provenance in results/report/.


def report_figures(w):
    figs = [f for f in rules.probe_all.input if str(f).endswith(".png") or str(f).endswith("dynamics")]
    if P.landscape.cells:
        figs += ["results/landscapes/compare"]
    return figs


def report_pngs(w):
    """PNG files among the figure inputs (folders contribute the PNGs inside them)."""
    out = []
    for f in report_figures(w):
        p = Path(f)
        pattern = "study_*.png" if p.name == "dynamics" else "*.png"  # per-cell dynamics: too many
        out += sorted(str(x) for x in p.glob(pattern)) if p.is_dir() else [str(p)]
    return " ".join(shlex.quote(x) for x in out)


rule resolved_params:
    """The validated params with defaults filled in, recorded with the report."""
    input:
        unpack(checked("resolved_params", {}, fp="results/report_params.fingerprint.json")),
    output:
        "results/report_params.json",
    params:
        resolved=lambda w: section_json(P),
    run:
        Path(output[0]).parent.mkdir(parents=True, exist_ok=True)
        Path(output[0]).write_text(params.resolved + "\n")


REFERENCE_DATASETS = sorted({c.dataset for c in CELLS.values()})


rule reference:
    """A global grey-threshold rule fitted on the baseline split's training cases and
    scored on the test cases: the row every network must beat."""
    input:
        unpack(checked("reference", {"prepared": lambda w: paths.prepared(w.ds),
                                     "split": lambda w: paths.split(w.ds, P.train.train_fraction, P.train.split_seed)},
                       fp="results/reference/{ds}.fingerprint.json")),
    output:
        "results/reference/{ds}.json",
    params:
        ndim=lambda w: NDIM[w.ds],
    log:
        "logs/reference/{ds}.log",
    conda:
        "../envs/train.yaml"
    shell:
        "{SEGSWEEP} --log {log} reference --prepared {input.prepared} --split {input.split}"
        " --ndim {params.ndim} --out {output}"


rule examples:
    """Image, ground truth and predictions of the best and worst cells (decided from the
    summary, so every cell's checkpoint is an input)."""
    input:
        unpack(checked("examples", {
            "table": "results/summary/cells.csv",
            "checkpoints": expand("results/cells/{cell}/checkpoint_selected.pt", cell=CELLS),
            "prepared": sorted({paths.prepared(c.dataset) for c in CELLS.values()}),
            "splits": sorted({paths.split(c.dataset, c.train_fraction, c.split_seed) for c in CELLS.values()}),
        }, fp="results/examples.fingerprint.json")),
    output:
        directory("results/examples"),
    params:
        # only the fields the figure uses: a new title or table setting does not redraw it
        cfg=lambda w: cfg_arg({"examples": P.report.examples.model_dump(), "figure": P.report.figure.model_dump()}),
    log:
        "logs/examples.log",
    conda:
        "../envs/train.yaml"
    shell:
        "{SEGSWEEP} --log {log} examples --cfg {params.cfg} --summary results/summary --cells results/cells"
        " --out {output}"


rule report:
    input:
        unpack(checked("report", {
            "summary": [str(f) for f in rules.summary.output],
            "params": "results/report_params.json",
            "figures": report_figures,
            "examples": "results/examples",
            "references": expand("results/reference/{ds}.json", ds=REFERENCE_DATASETS),
            "manifest": "data/interim/datasets.csv",
            "grid": "results/grid.json",
            "splits": sorted({paths.split(c.dataset, c.train_fraction, c.split_seed) for c in CELLS.values()}),
        }, fp="results/report.fingerprint.json")),
    output:
        directory("results/report"),
    params:
        cfg=lambda w: cfg_arg(P.report),
        # axis names as lists: their order (the pivot tables' rows, columns) survives sort_keys
        axes=lambda w: shlex.quote(section_json({s: list(a) for s, a in P.grid.studies.items()})),
        pngs=report_pngs,
    log:
        "logs/report.log",
    conda:
        "../envs/train.yaml"
    shell:
        "{SEGSWEEP} --log {log} report --cfg {params.cfg} --grid {input.grid}"
        " --summary results/summary --params-json {input.params} --figures {params.pngs}"
        " --examples {input.examples} --axes {params.axes} --references {input.references}"
        " --manifest {input.manifest} --splits {input.splits} --out {output}"


rule report_all:
    """Target of the DVC stage "report": the report and every fingerprint of the stage."""
    input:
        "results/report",
        fingerprints_of("report"),
        fingerprints_of("examples"),
        fingerprints_of("resolved_params"),
        fingerprints_of("reference", ds=REFERENCE_DATASETS),
