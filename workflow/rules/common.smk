# Shared by the stage files: the validated params (P), output paths, and helpers.
import os
import re
import shlex
import sys
from pathlib import Path

# Rules run the checkout's own package (also inside --use-conda envs, which hold only
# the dependencies), so src/ goes first on the path for the Snakefile and every job.
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
# (the prefix is formatted by Snakemake as well, hence the doubled braces)
shell.prefix(f"export PYTHONPATH={shlex.quote(SRC)}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; ")

from segsweep import paths  # noqa: E402
from segsweep.config import ConfigError, dataset_ndim, section_json  # noqa: E402
from segsweep.study import read_yaml, validate_params  # noqa: E402
from segsweep.grid import expand as expand_grid  # noqa: E402  (Snakemake has its own expand)

try:
    SOURCE = ", ".join(os.path.relpath(f) for f in workflow.configfiles) or "params.yaml"
    for _file in workflow.configfiles:  # Snakemake's own reader keeps the last of two equal keys
        read_yaml(_file)
    P = validate_params(config, source=SOURCE)
    if any(ds.kind == "nifti" for ds in P.datasets.values()):  # reads headers: NIfTI data only
        from segsweep.data.inspect import check_volumes

        check_volumes(P, SOURCE)
except ConfigError as exc:
    # One line, no traceback, non-zero exit, before any job runs.
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(1)


def cfg_arg(section):
    """A section as a shell-quoted canonical JSON string: the rule's params: value.

    Snakemake reruns a job when its params change, so each rule passes exactly the
    settings it uses, and the CLI validates them with the same model."""
    return shlex.quote(section_json(section))


tag = paths.tag

DATASETS = list(P.datasets)
SYNTH = P.synth_names()
NDIM = {name: dataset_ndim(ds) for name, ds in P.datasets.items()}
CELLS, STUDIES = expand_grid(P.train, P.grid)
# Every noise level and train fraction a cell uses is produced, listed in params or not.
NOISE = {tag(s): s for s in [*P.preprocess.noise_sigmas, *(c.noise for c in CELLS.values())]}
FRACTIONS = {tag(f): f for f in [*P.splits.train_fractions, *(c.train_fraction for c in CELLS.values())]}

wildcard_constraints:
    ds="|".join(DATASETS),
    sigma="|".join(map(re.escape, NOISE)) if NOISE else "$^",
    frac="|".join(map(re.escape, FRACTIONS)),
    seed=r"\d+",
    # a plain pattern, not an alternation of every id: matching costs the same for 10 or
    # 10,000 cells (an id is checked where it is used, by cell_of)
    cell=r"[^/]+",


def cell_of(w):
    """The resolved settings of the job's ``{cell}``; one clear error for an id that is
    not in the grid (the wildcard pattern no longer lists them)."""
    try:
        return CELLS[w.cell]
    except KeyError:
        raise ValueError(f"{w.cell!r} is not a cell of the grid; `segsweep grid` lists them") from None
