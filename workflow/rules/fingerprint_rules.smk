# After each tracked job J, a local job fingerprint_J records J's fingerprint next to
# its outputs (workflow/rules/fingerprint.smk). It runs in the main process (`run:`),
# which holds J's evaluated params and its full input list: a 10,000-file list does not
# fit on a command line.


def fingerprint_inputs(name, w):
    """J's inputs and outputs: fingerprint_J runs after J, and again whenever J does."""
    return {**resolved_inputs(name, w), "_outputs": job_outputs(name, w)}


def align_recorded_mtimes():
    """File times in dependency order before anything is planned (see fingerprint.smk)."""
    recorded = {}
    for pattern in FP.values():
        for path in glob.glob(re.sub(r"\{[^}]*\}", "*", pattern)):
            rec = fingerprints.read(path)
            if rec is not None:
                recorded[path] = rec
    fingerprints.align_mtimes(recorded)


if workflow.is_main_process:
    align_recorded_mtimes()


for _name in list(TRACKED):

    rule:
        name:
            f"fingerprint_{_name}"
        input:
            unpack(partial(fingerprint_inputs, _name)),
        output:
            FP[_name],
        params:
            rule=_name,
        localrule: True
        run:
            write_fingerprint(params.rule, wildcards)


del _name  # (module globals reach every shell command's format namespace)
