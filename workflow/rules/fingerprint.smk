# Whether a job is up to date is decided by fingerprints, not by file times or
# .snakemake/ records (docs/snakemake-dvc.md).
#
# Each tracked rule J gets, from `checked(...)`, an input function that compares the
# fingerprint J's outputs carry with the one the current params, code and input
# contents give. On a mismatch it adds an input it has just touched (a marker in
# .segsweep/stale/, newer than J's outputs), so J runs again; on a match it adds
# nothing. (A missing marker that a job makes would not do; Snakemake does not remake a
# missing input of a job whose outputs look up to date.) J writes its own fingerprint
# as its output `fingerprint`, when its command has succeeded: the main process puts
# what the fingerprint records (params, code, input list) in a pending file named by
# J's param `fingerprint=pending("J")`, and `segsweep --fingerprint FILE VERB` adds the
# inputs' digests and writes it (a `run:` rule calls write_fingerprint). Before any job
# is planned, Snakemake is given the outputs' file times in dependency order (in its I/O
# cache, nothing written: fingerprint_align.smk, segsweep.filetimes): after `dvc
# checkout` or `pull` they say nothing.
import glob
import hashlib
import inspect
import json
import shlex

from snakemake.exceptions import WorkflowError
from snakemake.io import apply_wildcards, strip_wildcard_constraints
from snakemake.settings.enums import RerunTrigger
from snakemake.settings.types import DeploymentMethod

from segsweep import fingerprint as fingerprints  # noqa: E402
from segsweep.codegraph import code_digest  # noqa: E402


def own_settings():
    """The Snakemake settings this workflow decides. Snakemake's params/input/code triggers read .snakemake/metadata: a record of
    the files Snakemake last wrote, which `dvc checkout` / `exp apply` replace without
    telling it (a stale record reruns current files or, worse, passes stale ones).
    Fingerprints cover params, code and inputs; only the conda-environment trigger is
    kept. (Set while the DAG is built: the settings do not exist yet at parse time, and
    Snakemake reads them after every job's inputs are known.)"""
    if workflow.is_main_process:
        aligned_times()
    settings = workflow.dag_settings
    settings.rerun_triggers = frozenset(settings.rerun_triggers) & {RerunTrigger.SOFTWARE_ENV}
    # `run:` jobs (grid, resolved_params) in threads of this process,
    # as `--force-use-threads` does: spawned, each would parse the whole workflow again
    # (~3 s a job, 2 min for the default study) to write a small JSON file.
    if workflow.execution_settings is not None:
        workflow.execution_settings.use_threads = True
    # Local runs: no job-rate limiter. Snakemake's (default 100 jobs/s) re-runs the
    # scheduling loop on a timer, and every wake-up starts one more timer, so after k
    # finished jobs the loop runs k times a second, each time stat-ing the inputs of
    # every waiting job: measured, 399 loops for 40 one-second jobs instead of 40, and
    # minutes of CPU taken from training in the default study. A cluster run keeps it
    # (it throttles submissions there).
    if workflow.scheduling_settings is not None and workflow.local_exec:
        workflow.scheduling_settings.max_jobs_per_timespan = None


TRACKED = {}  # rule name -> its inputs (dict of patterns/lists/functions, or a function)
DIGESTS = fingerprints.Digests()
_REPORTED = {}  # rule name -> jobs whose rerun reason was printed


def checked(name, inputs):
    """The input function of ``name`` (a tracked rule), given ``inputs`` (a dict of names to
    patterns, lists or functions of the wildcards, or one function returning such a
    dict), plus a stale marker when the fingerprint the rule's output ``fingerprint``
    holds does not match."""
    TRACKED[name] = inputs

    def job_inputs(w):
        own_settings()
        given = resolved_inputs(name, w)
        out = dict(given)
        if workflow.is_main_process:  # job processes (cluster) run what the main one decided
            marker = stale_marker(name, w, given)
            if marker:
                out["_stale"] = marker
        return out

    return job_inputs


def resolved_inputs(name, w):
    spec = TRACKED[name]
    spec = spec(w) if callable(spec) else spec
    return {k: v(w) if callable(v) else (apply_wildcards(v, w) if isinstance(v, str) else v) for k, v in spec.items()}


_FP = {}


def fp_pattern(name):
    """The path pattern of rule ``name``'s output ``fingerprint``."""
    if name not in _FP:
        # (without the constraints Snakemake has written into the pattern)
        _FP[name] = strip_wildcard_constraints(str(workflow.get_rule(name).output.fingerprint))
    return _FP[name]


def fingerprints_of(name, **lists):
    """The fingerprint paths of rule ``name``'s jobs (expand over ``lists``)."""
    return expand(fp_pattern(name), **lists) if lists else [fp_pattern(name)]


def products(name):
    """Rule ``name``'s output patterns but its fingerprint: what a consumer reads (the
    fingerprint also holds the code digest, so depending on it would rerun the consumer
    after a code change that left the products unchanged)."""
    outs = (strip_wildcard_constraints(str(o)) for o in workflow.get_rule(name).output)
    return [o for o in outs if o != fp_pattern(name)]


def _flat(inputs):
    return [str(x) for v in inputs.values() for x in (v if isinstance(v, list) else [v])]


_ARITY = {}


def job_params(name, w):
    """Rule ``name``'s params for wildcards ``w``, evaluated as Snakemake does (params
    of tracked rules are functions of the wildcards alone); a shell-quoted JSON value
    is recorded decoded, so the fingerprint shows the resolved settings."""
    out = {}
    for key, value in workflow.get_rule(name).params.items():
        if key == "fingerprint":  # the pending file's path (pending() below)
            continue
        if callable(value):
            if value not in _ARITY:
                _ARITY[value] = len(inspect.signature(value).parameters)
            if _ARITY[value] > 1:
                raise ValueError(f"params.{key} of rule {name} must be a function of the wildcards alone")
            value = value(w)
        if isinstance(value, str) and value.startswith("'"):
            try:
                value = json.loads(shlex.split(value)[0])
            except ValueError:
                pass
        out[key] = value
    return out


_CODE = {}


def rule_code(name):
    """Digest of what the jobs of ``name`` run, i.e. its command and its verbs' modules, or, for a
    `run:` rule, its source lines."""
    if name not in _CODE:
        spec = workflow.get_rule(name)
        if spec.shellcmd:
            verbs = re.findall(re.escape(RUN) + r" ([a-z_]+)", spec.shellcmd)
            text = f"{spec.shellcmd}\0{code_digest(frozenset(verbs)) if verbs else ''}"
        else:
            lines = Path(spec.snakefile).read_text().splitlines()[spec.lineno - 1:]
            end = next((i for i, line in enumerate(lines[1:], 1) if line and not line[0].isspace()), len(lines))
            text = "\n".join(lines[:end]).strip()
        _CODE[name] = hashlib.sha256(text.encode()).hexdigest()
    return _CODE[name]


def job_outputs(name, w):
    return [apply_wildcards(str(o), w) for o in workflow.get_rule(name).output]


def expected_fingerprint(name, w, inputs):
    outputs = job_outputs(name, w)
    return fingerprints.make(name, dict(w.items()), job_params(name, w), rule_code(name),
                             {p: DIGESTS.path(p) for p in _flat(inputs)}, outputs,
                             fingerprints.products(outputs, apply_wildcards(fp_pattern(name), w), DIGESTS))


def stale_marker(name, w, inputs):
    """The path of a marker, touched now, when job (name, w) has outputs its fingerprint
    does not vouch for; None when it is current or has no outputs yet (it runs anyway).
    An input that does not exist yet (a new split file, a new noise level's patches)
    makes the job stale: its outputs were built from something else, and without the
    marker Snakemake would never make the input (issue 26: a changed train_fraction
    was never retrained)."""
    fp_path = apply_wildcards(fp_pattern(name), w)
    recorded = fingerprints.read(fp_path)
    if recorded is None:
        if not any(os.path.exists(o) for o in job_outputs(name, w)):
            return None
    missing = [p for p in _flat(inputs) if not os.path.exists(p)]
    if missing:
        expected = {"key": "missing\0" + "\0".join(missing)}
        why = f"inputs not made yet: {', '.join(missing[:3])}" + (f" (+{len(missing) - 3})" if len(missing) > 3 else "")
    else:
        expected = expected_fingerprint(name, w, inputs)
        why = None
        if recorded is not None and recorded.get("key") == expected["key"]:
            why = library_changes(recorded)
            if why is None:
                return None
        why = why or fingerprints.differences(recorded, expected)
    job = ",".join(f"{k}={v}" for k, v in w.items())
    seen = _REPORTED.setdefault(name, set())
    if job not in seen:
        seen.add(job)
        if len(seen) <= 5:
            print(f"segsweep: rerun {name} {job}: {why}", file=sys.stderr)
        elif len(seen) == 6:
            print(f"segsweep: rerun {name}: more jobs (not listed)", file=sys.stderr)
    # The name changes whenever the recorded fingerprint file is rewritten or replaced
    # (checkout): a marker left by an interrupted run never stands for a later state.
    stamp = os.stat(fp_path).st_mtime_ns if recorded is not None else 0
    digest = hashlib.sha256(f"{stamp}\0{expected['key']}".encode()).hexdigest()[:16]
    marker = Path(STALE, name, f"{_job_id(w)}-{digest}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()  # dated now on disk: older than the outputs the job will write
    # and, for Snakemake's decision, newer than every output it must beat: outputs dated
    # in the future (clock skew, an archive from another host) must not hide a change
    cache_time(str(marker), marker_time([*job_outputs(name, w), *_flat(inputs)]))
    return str(marker)


STALE = ".segsweep/stale"
_LIBRARIES = {}


def library_changes(recorded):
    """Why a job whose fingerprint matches must rerun all the same: the versions of the
    numeric libraries it ran with differ from this environment's (None when they agree,
    and under --use-conda, where jobs run in their own environments and Snakemake's
    software-env trigger tracks the env files)."""
    deployment = workflow.deployment_settings
    if deployment is not None and DeploymentMethod.CONDA in deployment.deployment_method:
        return None
    if "now" not in _LIBRARIES:
        _LIBRARIES["now"] = fingerprints.library_versions()
    changes = fingerprints.library_changes(recorded, _LIBRARIES["now"])
    return f"library versions changed: {changes}" if changes else None


def _job_id(w):
    return hashlib.sha256(json.dumps(dict(w.items()), sort_keys=True).encode()).hexdigest()[:16]


# How the command of every tracked shell job starts, written out in each (`snakemake
# --lint` wants no variables from outside in a command): the CLI writes the job's
# fingerprint after the verb has succeeded (checked at parse time, fingerprint_align.smk).
RUN = "python -m segsweep --log {log} --fingerprint {params.fingerprint}"
PENDING = ".segsweep/pending"


def _record(name, w):
    """What job (name, w)'s fingerprint records, but the inputs' digests: its input list
    instead, and where the fingerprint goes."""
    return {
        "rule": name, "wildcards": dict(w.items()), "params": job_params(name, w), "code": rule_code(name),
        "inputs": _flat(resolved_inputs(name, w)), "outputs": job_outputs(name, w),
        "path": apply_wildcards(fp_pattern(name), w),
    }


def pending(name):
    """The param ``fingerprint`` of ``name`` (a tracked shell rule), a function that returns
    the path of the job's pending fingerprint file, and writes the file once jobs are
    being scheduled. (Snakemake evaluates every job's params while it builds the DAG,
    for its conda environment, and again for each job it is about to run: writing then
    costs nothing for jobs that are current, nor in a dry run. A cluster job's own
    process writes the same content again.)"""

    def path(w):
        target = Path(PENDING, name, f"{_job_id(w)}.json")
        if workflow.scheduler is not None and not workflow.dryrun:
            fingerprints.write(target, _record(name, w))
        return str(target)

    return path


def write_fingerprint(name, w):
    """Record job (name, w)'s fingerprint: the last step of a tracked `run:` job."""
    fingerprints.finish(_record(name, w), DIGESTS)


def write_tracked(name, path, text, log, w):
    """The whole of a tracked `run:` job that writes one small file: ``text`` to
    ``path``, a line to ``log``, then the job's fingerprint. (A function, so that the
    `run:` block is one line: `snakemake --lint` asks for short ones.)"""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text + "\n")
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    Path(log).write_text(f"wrote {path} ({len(text) + 1} bytes)\n")
    write_fingerprint(name, w)
