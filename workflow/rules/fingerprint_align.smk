# Included last, when every tracked rule is declared (see workflow/rules/fingerprint.smk),
# check that each one writes its fingerprint; give Snakemake, while it builds the DAG,
# the recorded outputs' times in dependency order (in its I/O cache: nothing is written,
# so a dry run leaves every file as it was); in a real run, under Snakemake's lock, date
# now the inputs of the jobs about to run that are dated in the future (segsweep.filetimes).
import contextlib
import shutil
import time

from snakemake.io import IOFile
from snakemake_interface_storage_plugins.io import Mtime

from segsweep import filetimes


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
            if not rule_.shellcmd.startswith(f"{RUN} "):
                problems.append("a command that starts with RUN")
        elif not re.search(rf'(write_fingerprint|write_tracked)\("{name}",', Path(rule_.snakefile).read_text()):
            problems.append(f'a run: block that calls write_fingerprint("{name}", ...) or write_tracked(...)')
        if problems:
            raise WorkflowError(f"rule {name} (tracked by checked()) needs " + ", ".join(problems))


_TIMES = {}


def aligned_times():
    """path -> the time Snakemake is to read for it (seconds), computed once per
    invocation from every recorded fingerprint and put in Snakemake's I/O cache, which
    it reads instead of the disk while it decides what runs (own_settings() calls this
    as the DAG is built, when the cache exists)."""
    if "times" not in _TIMES:
        recorded = {}
        for name in TRACKED:
            for path in glob.glob(re.sub(r"\{[^}]*\}", "*", fp_pattern(name))):
                rec = fingerprints.read(path)
                if rec is not None:
                    recorded[path] = rec
        _TIMES["times"] = filetimes.aligned_times(recorded)
        for path, t in _TIMES["times"].items():
            cache_time(path, t)
    return _TIMES["times"]


def cache_time(path, t):
    """Make Snakemake read ``t`` (seconds) as ``path``'s time while it builds the DAG."""
    cache = getattr(workflow, "iocache", None)
    if cache is not None and cache.active:
        cache.mtime[IOFile(path)] = Mtime(local=t)


def marker_time(paths):
    """A time for a stale marker that beats every one of ``paths`` (a job's outputs and
    inputs), as Snakemake reads them, even when they are dated in the future."""
    times = aligned_times()
    return max([time.time(), *(times.get(p) or filetimes.seconds(p) or 0.0 for p in paths)]) + 1.0


def date_future_inputs_now():
    """Date now the inputs, dated in the future, of the jobs about to run (Snakemake's
    clock check refuses outputs older than their inputs after every job)."""
    inputs = {str(f) for job in workflow.dag.needrun_jobs() for f in job.input}
    inputs = {p for p in inputs if not p.startswith(f"{STALE}/")}  # markers: dated now, when made
    future = filetimes.future_dated(inputs)
    if not future:
        return
    done, refused = filetimes.set_to_now(future)
    print(f"segsweep: {len(future)} input file(s) were dated in the future (clock skew?), e.g. {future[0]}; "
          f"dated now: {done}", file=sys.stderr)
    if refused:
        print(f"segsweep: warning: no permission to date {len(refused)} of them, e.g. {refused[0]}; "
              "the jobs that read them will fail Snakemake's clock check", file=sys.stderr)


def end_of_run():
    """When a real run ends, with or without errors (onsuccess, onerror): remove the stale
    markers (a job never does: a group resubmitted on a cluster names them again) and the
    finished cells' outputs kept for such a retry (segsweep.train.done). The next run
    decides again from fingerprints."""
    shutil.rmtree(STALE, ignore_errors=True)
    for kept in glob.glob(os.path.join(paths.cell_dir("*"), ".work", "done")):
        shutil.rmtree(kept, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(kept))  # .work, when nothing else is left in it


check_tracked_rules()
