# Stage "data": synthetic generation and ingest of every dataset into the case store.


rule synth:
    input:
        unpack(checked("synth", {})),
    output:
        out=directory("data/synth/{ds}"),
        fingerprint="data/synth/{ds}.fingerprint.json",
    params:
        fingerprint=pending("synth"),
        cfg=lambda w: cfg_arg(P.datasets[w.ds]),
    resources:
        mem_mb=data_mem_mb,
    log:
        "logs/synth/{ds}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} synth"
        " --dataset {wildcards.ds} --cfg {params.cfg} --out {output.out}"


rule ingest:
    input:
        unpack(checked("ingest", {"files": ingest_input})),
    output:
        out=directory("data/interim/{ds}"),
        fingerprint="data/interim/{ds}.fingerprint.json",
    params:
        fingerprint=pending("ingest"),
        cfg=lambda w: cfg_arg(P.datasets[w.ds]),
        root=ingest_root,
    resources:
        mem_mb=data_mem_mb,
    log:
        "logs/ingest/{ds}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} ingest"
        " --dataset {wildcards.ds} --cfg {params.cfg}"
        " --root {params.root:q} --out {output.out}"


rule index:
    """One table per stage folder listing every case of every dataset."""
    input:
        unpack(checked("index", {"dirs": lambda w: expand("data/{stage}/{ds}", stage=w.stage,
                                                          ds=SYNTH if w.stage == "synth" else DATASETS)})),
    output:
        out="data/{stage}/datasets.csv",
        fingerprint="data/{stage}/datasets.fingerprint.json",
    wildcard_constraints:
        stage="synth|interim",
    params:
        fingerprint=pending("index"),
    log:
        "logs/index/{stage}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} collect"
        " --out {output.out} $(for d in {input.dirs}; do echo $d/manifest.csv; done)"


rule data:
    """Target of the DVC stage "data"."""
    input:
        "data/synth/datasets.csv",
        "data/interim/datasets.csv",
        fingerprints_of("synth", ds=SYNTH),
        fingerprints_of("ingest", ds=DATASETS),
        fingerprints_of("index", stage=["synth", "interim"]),
