# Stage "preprocess": prepare -> augment -> patches (one processed dataset per noise
# level), and the train/validation splits by source case.


rule prepare:
    input:
        unpack(checked("prepare", {"src": "data/interim/{ds}"})),
    output:
        out=directory("data/processed/{ds}/prepared"),
        fingerprint="data/processed/{ds}/prepared.fingerprint.json",
    params:
        fingerprint=pending("prepare"),
        cfg=lambda w: cfg_arg(prepare_cfg(w.ds)),
        normalization=lambda w: getattr(P.datasets[w.ds], "normalization", "window"),
        spacing=lambda w: spacing_arg(P.datasets[w.ds]),
        # ct: the fixed test set its statistics leave out (other datasets: none, so a
        # change of the split protocol reruns no other prepare job)
        protocol=lambda w: ct_protocol(P.datasets[w.ds]),
    resources:
        mem_mb=data_mem_mb,
    log:
        "logs/prepare/{ds}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} prepare"
        " --cfg {params.cfg} --normalization {params.normalization} --target-spacing {params.spacing}"
        " --protocol {params.protocol}"
        " --src {input.src} --out {output.out}"


rule augment:
    input:
        unpack(checked("augment", {"src": "data/processed/{ds}/prepared"})),
    output:
        out=directory("data/processed/{ds}/augmented"),
        fingerprint="data/processed/{ds}/augmented.fingerprint.json",
    params:
        fingerprint=pending("augment"),
        cfg=lambda w: cfg_arg(P.preprocess.augment.for_ndim(NDIM[w.ds])),
    resources:
        mem_mb=data_mem_mb,
    log:
        "logs/augment/{ds}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} augment"
        " --cfg {params.cfg} --src {input.src} --out {output.out}"


rule patches:
    input:
        unpack(checked("patches", {"src": "data/processed/{ds}/augmented"})),
    output:
        out=directory("data/processed/{ds}/noise_{sigma}"),
        fingerprint="data/processed/{ds}/noise_{sigma}.fingerprint.json",
    params:
        fingerprint=pending("patches"),
        cfg=lambda w: cfg_arg(P.preprocess.patches.for_ndim(NDIM[w.ds])),
        sigma=lambda w: NOISE[w.sigma],
    resources:
        mem_mb=data_mem_mb,
    log:
        "logs/patches/{ds}_noise_{sigma}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} patches"
        " --cfg {params.cfg} --sigma {params.sigma}"
        " --src {input.src} --out {output.out}"


rule split:
    input:
        unpack(checked("split", {"cases": "data/interim/{ds}"})),
    output:
        out="data/splits/{ds}/train{frac}_seed{seed}.json",
        fingerprint="data/splits/{ds}/train{frac}_seed{seed}.fingerprint.json",
    params:
        fingerprint=pending("split"),
        fraction=lambda w: FRACTIONS[w.frac],
        seed=lambda w: int(w.seed),
        # the test/validation draw every split of the dataset shares (not the lists of
        # fractions and seeds: adding one makes only the new split)
        protocol=lambda w: cfg_arg(P.splits.protocol()),
    log:
        "logs/split/{ds}_train{frac}_seed{seed}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python -m segsweep --log {log} --fingerprint {params.fingerprint} split"
        " --cfg {params.protocol} --manifest {input.cases}/manifest.csv"
        " --fraction {params.fraction} --seed {params.seed} --out {output.out}"


rule preprocess:
    """Target of the DVC stage "preprocess"."""
    input:
        expand("data/processed/{ds}/noise_{sigma}", ds=DATASETS, sigma=NOISE),
        fingerprints_of("prepare", ds=DATASETS),
        fingerprints_of("augment", ds=DATASETS),
        fingerprints_of("patches", ds=DATASETS, sigma=NOISE),


SPLIT_SEEDS = sorted({*P.splits.seeds, *(c.split_seed for c in CELLS.values())})


rule splits:
    """Target of the DVC stage "splits"."""
    input:
        expand("data/splits/{ds}/train{frac}_seed{seed}.json", ds=DATASETS, frac=FRACTIONS, seed=SPLIT_SEEDS),
        fingerprints_of("split", ds=DATASETS, frac=FRACTIONS, seed=SPLIT_SEEDS),
