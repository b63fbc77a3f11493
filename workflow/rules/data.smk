# Stage "data": synthetic generation and ingest of every dataset into the case store.


rule synth:
    input:
        unpack(checked("synth", {}, fp="data/synth/{ds}.fingerprint.json")),
    output:
        directory("data/synth/{ds}"),
    params:
        cfg=lambda w: cfg_arg(P.datasets[w.ds]),
    log:
        "logs/synth/{ds}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "{SEGSWEEP} --log {log} synth --dataset {wildcards.ds} --cfg {params.cfg} --out {output}"


def ingest_input(w):
    """Synthetic data comes from its synth rule; real data is every file the globs match
    now, so adding, removing or changing a file reruns the ingest."""
    ds = P.datasets[w.ds]
    if w.ds in SYNTH:
        return [f"data/synth/{w.ds}"]
    root = Path(ds.root)
    return sorted(str(p) for g in (ds.image_glob, ds.mask_glob) for p in root.glob(g) if p.is_file())


def ingest_root(w):
    return f"data/synth/{w.ds}" if w.ds in SYNTH else str(P.datasets[w.ds].root)


rule ingest:
    input:
        unpack(checked("ingest", {"files": ingest_input}, fp="data/interim/{ds}.fingerprint.json")),
    output:
        directory("data/interim/{ds}"),
    params:
        cfg=lambda w: cfg_arg(P.datasets[w.ds]),
        root=ingest_root,
    log:
        "logs/ingest/{ds}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "{SEGSWEEP} --log {log} ingest --dataset {wildcards.ds} --cfg {params.cfg}"
        " --root {params.root:q} --out {output}"


rule index:
    """One table per stage folder listing every case of every dataset."""
    input:
        unpack(checked("index", {"dirs": lambda w: expand("data/{stage}/{ds}", stage=w.stage,
                                                          ds=SYNTH if w.stage == "synth" else DATASETS)},
                       fp="data/{stage}/datasets.fingerprint.json")),
    output:
        "data/{stage}/datasets.csv",
    wildcard_constraints:
        stage="synth|interim",
    log:
        "logs/index/{stage}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "{SEGSWEEP} --log {log} collect --out {output} $(for d in {input.dirs}; do echo $d/manifest.csv; done)"


rule data:
    """Target of the DVC stage "data"."""
    input:
        "data/synth/datasets.csv",
        "data/interim/datasets.csv",
        fingerprints_of("synth", ds=SYNTH),
        fingerprints_of("ingest", ds=DATASETS),
        fingerprints_of("index", stage=["synth", "interim"]),
