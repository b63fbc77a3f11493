# segsweep: params.yaml -> validated config -> data -> processed patches + splits
# -> one training job per grid cell -> summary, gradient probes,
# loss landscapes -> report.
# Thin on purpose: rules live in workflow/rules/, logic in src/segsweep/.

# `--configfile FILE` replaces params.yaml (Snakemake would otherwise merge the two,
# mixing their grids): `snakemake --configfile studies/published_unet.yaml`.
if not workflow.config_settings.configfiles:

    configfile: "params.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/fingerprint.smk"
include: "workflow/rules/functions.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/probe.smk"
include: "workflow/rules/landscape.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        rules.data.input,
        rules.preprocess.input,
        rules.splits.input,
        rules.train_all.input,
        rules.probe_all.input,
        rules.landscape_all.input,
        rules.report_all.input,


# a real run, under Snakemake's lock: inputs dated in the future are dated now
# (fingerprint_align.smk)
onstart:
    date_future_inputs_now()


# and when it ends: stale markers and finished cells' kept outputs go (fingerprint_align.smk)
onsuccess:
    end_of_run()


onerror:
    end_of_run()


# last: checks every tracked rule above writes its fingerprint; file times for the DAG
include: "workflow/rules/fingerprint_align.smk"
