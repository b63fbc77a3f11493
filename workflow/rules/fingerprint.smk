# Whether a job is up to date is decided by fingerprints, not by file times or
# .snakemake/ records (README: "Snakemake and DVC").
#
# Each tracked rule J gets, from `checked(...)`, an input function that compares the
# fingerprint J's outputs carry with the one the current params, code and input
# contents give. On a mismatch it adds an input it has just touched (a marker in
# .segsweep/stale/, newer than J's outputs), so J runs again; on a match it adds
# nothing. (A missing marker made by a rule would not do: Snakemake does not remake a
# missing input of a job whose outputs look up to date.) A companion job
# fingerprint_J (fingerprint_rules.smk) writes J's fingerprint after J has run, and
# before any job is planned the outputs' file times are put in dependency order
# (fingerprint.align_mtimes): after `dvc checkout` or `pull` they say nothing.
import glob
import hashlib
import inspect
import json
import shlex
from functools import partial  # (fingerprint_rules.smk)

from snakemake.io import apply_wildcards
from snakemake.settings.enums import RerunTrigger

from segsweep import fingerprint as fingerprints  # noqa: E402
from segsweep.codegraph import code_digest  # noqa: E402


def own_freshness():
    """Snakemake's own params/input/code triggers read .snakemake/metadata: a record of
    the files Snakemake last wrote, which `dvc checkout` / `exp apply` replace without
    telling it (a stale record reruns current files or, worse, passes stale ones).
    Fingerprints cover params, code and inputs; only the conda-environment trigger is
    kept. (Set while the DAG is built: the settings do not exist yet at parse time, and
    Snakemake reads them after every job's inputs are known.)"""
    settings = workflow.dag_settings
    settings.rerun_triggers = frozenset(settings.rerun_triggers) & {RerunTrigger.SOFTWARE_ENV}
    # `run:` jobs (fingerprint_<rule>, grid, resolved_params) in threads of this process,
    # as `--force-use-threads` does: spawned, each would parse the whole workflow again
    # (~3 s a job, 2 min for the default study) to write a small JSON file.
    if workflow.execution_settings is not None:
        workflow.execution_settings.use_threads = True
    # Local runs: no job-rate limiter. Snakemake's (default 100 jobs/s) re-runs the
    # scheduling loop on a timer, and every wake-up starts one more timer, so after k
    # finished jobs the loop runs k times a second, each time stat-ing the inputs of
    # every waiting job: measured, 399 loops for 40 one-second jobs instead of 40, and
    # CPU taken from training in the default study. A cluster run keeps it (it
    # throttles submissions there).
    if workflow.scheduling_settings is not None and workflow.local_exec:
        workflow.scheduling_settings.max_jobs_per_timespan = None


TRACKED = {}  # rule name -> its inputs (dict of patterns/lists/functions, or a function)
FP = {}  # rule name -> its fingerprint's path pattern
DIGESTS = fingerprints.Digests()
_REPORTED = {}  # rule name -> jobs whose rerun reason was printed


def checked(name, inputs, fp):
    """The input function of the tracked rule ``name``: ``inputs`` (a dict of names to
    patterns, lists or functions of the wildcards, or one function returning such a
    dict), plus a stale marker when the outputs' fingerprint at ``fp`` does not match."""
    TRACKED[name] = inputs
    FP[name] = fp

    def job_inputs(w):
        own_freshness()
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


def fingerprints_of(name, **lists):
    """The fingerprint paths of rule ``name``'s jobs (expand over ``lists``)."""
    return expand(FP[name], **lists) if lists else [FP[name]]


def _flat(inputs):
    return [str(x) for v in inputs.values() for x in (v if isinstance(v, list) else [v])]


_ARITY = {}


def job_params(name, w):
    """Rule ``name``'s params for wildcards ``w``, evaluated as Snakemake does (params
    of tracked rules are functions of the wildcards alone); a shell-quoted JSON value
    is recorded decoded, so the fingerprint shows the resolved settings."""
    out = {}
    for key, value in workflow.get_rule(name).params.items():
        if callable(value):
            if value not in _ARITY:
                _ARITY[value] = len(inspect.signature(value).parameters)
            if _ARITY[value] > 1:
                raise ValueError(f"rule {name}: params.{key} must be a function of the wildcards alone")
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
    """Digest of what rule ``name`` runs: its command and its verbs' modules, or, for a
    `run:` rule, its source lines."""
    if name not in _CODE:
        spec = workflow.get_rule(name)
        if spec.shellcmd:
            verbs = re.findall(r"\{SEGSWEEP\} --log \{log\} ([a-z_]+)", spec.shellcmd)
            text = spec.shellcmd + "\0" + (code_digest(frozenset(verbs)) if verbs else "")
        else:
            lines = Path(spec.snakefile).read_text().splitlines()[spec.lineno - 1:]
            end = next((i for i, line in enumerate(lines[1:], 1) if line and not line[0].isspace()), len(lines))
            text = "\n".join(lines[:end]).strip()
        _CODE[name] = hashlib.sha256(text.encode()).hexdigest()
    return _CODE[name]


def job_outputs(name, w):
    return [apply_wildcards(str(o), w) for o in workflow.get_rule(name).output]


def expected_fingerprint(name, w, inputs):
    return fingerprints.make(name, dict(w.items()), job_params(name, w), rule_code(name),
                             {p: DIGESTS.path(p) for p in _flat(inputs)}, job_outputs(name, w))


def stale_marker(name, w, inputs):
    """The path of a marker, touched now, when job (name, w) has outputs its fingerprint
    does not vouch for; None when it is current, has no outputs yet (it runs anyway), or
    waits for inputs another job makes (it runs after that job)."""
    fp_path = apply_wildcards(FP[name], w)
    recorded = fingerprints.read(fp_path)
    if recorded is None:
        if not any(os.path.exists(o) for o in job_outputs(name, w)):
            return None
    if not all(os.path.exists(p) for p in _flat(inputs)):
        return None
    expected = expected_fingerprint(name, w, inputs)
    if recorded is not None and recorded.get("key") == expected["key"]:
        return None
    job = ",".join(f"{k}={v}" for k, v in w.items())
    seen = _REPORTED.setdefault(name, set())
    if job not in seen:
        seen.add(job)
        if len(seen) <= 5:
            print(f"segsweep: rerun {name} {job}: {fingerprints.differences(recorded, expected)}", file=sys.stderr)
        elif len(seen) == 6:
            print(f"segsweep: rerun {name}: more jobs (not listed)", file=sys.stderr)
    # The name changes whenever the recorded fingerprint file is rewritten or replaced
    # (checkout): a marker left by an interrupted run never stands for a later state.
    stamp = os.stat(fp_path).st_mtime_ns if recorded is not None else 0
    digest = hashlib.sha256(f"{stamp}\0{expected['key']}".encode()).hexdigest()[:16]
    marker = Path(STALE, name, f"{_job_id(w)}-{digest}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return str(marker)


STALE = ".segsweep/stale"


def _job_id(w):
    return hashlib.sha256(json.dumps(dict(w.items()), sort_keys=True).encode()).hexdigest()[:16]


def write_fingerprint(name, w):
    """Record job (name, w)'s fingerprint: called by fingerprint_<name> after it ran."""
    fingerprints.write(apply_wildcards(FP[name], w), expected_fingerprint(name, w, resolved_inputs(name, w)))
    # the job's markers have done their work
    for marker in Path(STALE, name).glob(f"{_job_id(w)}-*"):
        marker.unlink(missing_ok=True)

