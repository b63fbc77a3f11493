# Stage "preprocess": prepare -> augment -> patches (one processed dataset per noise
# level), and the train/validation splits by source case.


rule prepare:
    input:
        "data/interim/{ds}",
    output:
        directory("data/processed/{ds}/prepared"),
    params:
        cfg=lambda w: cfg_arg(P.preprocess.prepare.for_ndim(NDIM[w.ds])),
    log:
        "logs/prepare/{ds}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "{SEGSWEEP} --log {log} prepare --cfg {params.cfg} --src {input} --out {output}"


rule augment:
    input:
        "data/processed/{ds}/prepared",
    output:
        directory("data/processed/{ds}/augmented"),
    params:
        cfg=lambda w: cfg_arg(P.preprocess.augment.for_ndim(NDIM[w.ds])),
    log:
        "logs/augment/{ds}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "{SEGSWEEP} --log {log} augment --cfg {params.cfg} --src {input} --out {output}"


rule patches:
    input:
        "data/processed/{ds}/augmented",
    output:
        directory("data/processed/{ds}/noise_{sigma}"),
    params:
        cfg=lambda w: cfg_arg(P.preprocess.patches.for_ndim(NDIM[w.ds])),
        sigma=lambda w: NOISE[w.sigma],
    log:
        "logs/patches/{ds}_noise_{sigma}.log",
    conda:
        "../envs/data.yaml"
    shell:
        "{SEGSWEEP} --log {log} patches --cfg {params.cfg} --sigma {params.sigma}"
        " --src {input} --out {output}"


rule split:
    input:
        "data/interim/{ds}",
    output:
        "data/splits/{ds}/train{frac}_seed{seed}.json",
    params:
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
        "{SEGSWEEP} --log {log} split --cfg {params.protocol} --manifest {input}/manifest.csv"
        " --fraction {params.fraction} --seed {params.seed} --out {output}"


rule preprocess:
    """Target of the DVC stage "preprocess"."""
    input:
        expand("data/processed/{ds}/noise_{sigma}", ds=DATASETS, sigma=NOISE),


rule splits:
    """Target of the DVC stage "splits"."""
    input:
        expand("data/splits/{ds}/train{frac}_seed{seed}.json", ds=DATASETS, frac=FRACTIONS,
               seed=sorted({*P.splits.seeds, *(c.split_seed for c in CELLS.values())})),
