# Included last, when every tracked rule is declared (see workflow/rules/fingerprint.smk),
# check that each one writes its fingerprint, then put recorded outputs' file times in
# dependency order before anything is planned.


def check_tracked_rules():
    """A tracked rule that never wrote its fingerprint would rerun on every invocation, so
    refuse, at parse time, one that lacks the output, the param or the command part."""
    for name in TRACKED:
        rule_ = workflow.get_rule(name)
        problems = []
        if "fingerprint" not in rule_.output._names:
            problems.append("an output named fingerprint")
        if rule_.shellcmd:
            if "fingerprint" not in rule_.params._names:
                problems.append(f'params: fingerprint=pending("{name}")')
            if not rule_.shellcmd.startswith(RUN + " "):
                problems.append("a command that starts with RUN")
        elif not re.search(rf'(write_fingerprint|write_tracked)\("{name}",', Path(rule_.snakefile).read_text()):
            problems.append(f'a run: block that calls write_tracked("{name}", ...) or ends in write_fingerprint')
        if problems:
            raise WorkflowError(f"rule {name} (tracked by checked()) needs " + ", ".join(problems))


def align_recorded_mtimes():
    """File times in dependency order before anything is planned (see fingerprint.smk)."""
    recorded = {}
    for name in TRACKED:
        for path in glob.glob(re.sub(r"\{[^}]*\}", "*", fp_pattern(name))):
            rec = fingerprints.read(path)
            if rec is not None:
                recorded[path] = rec
    fingerprints.align_mtimes(recorded)


check_tracked_rules()
if workflow.is_main_process:
    align_recorded_mtimes()
