# segsweep: params.yaml -> validated config -> data -> processed patches + splits.
# Thin on purpose: rules live in workflow/rules/, logic in src/segsweep/.

configfile: "params.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/preprocess.smk"


rule all:
    default_target: True
    input:
        rules.data.input,
        rules.preprocess.input,
        rules.splits.input,
