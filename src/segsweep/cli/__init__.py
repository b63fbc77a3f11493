"""The ``segsweep`` command line: one verb per pipeline step, one module per stage.

``segsweep/cli/<stage>.py`` owns its verbs: the handlers (``cmd_<verb>``, thin: read
the settings, call the stage's package, log one line) and ``add_verbs``, which declares
their arguments. Each verb reads its settings either from ``--params FILE`` (the whole
params.yaml, validated) or, when Snakemake calls it, from ``--cfg JSON`` (the rule's
``params:`` section, validated by the same model). A user error prints one line and
exits 2.

Stage modules are imported when the parser is built, not at module level, so a verb's
code digest (``segsweep.codegraph``) holds its own stage's CLI module only: editing the
report's verbs does not make the training jobs stale.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from pathlib import Path

from segsweep.errors import SegsweepError, system_message
from segsweep.runtime import tune_malloc

log = logging.getLogger("segsweep")

# in the order `segsweep --help` lists them: the data flow
STAGES = ("study", "data", "preprocess", "train", "probe", "landscape", "report")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    p = argparse.ArgumentParser(prog="segsweep", description=__doc__.splitlines()[0])
    p.add_argument("--log", help="also append log lines to this file")
    p.add_argument(
        "--fingerprint",
        metavar="PENDING",
        help="after the verb succeeds, write the job's fingerprint from this pending record (the workflow's)",
    )
    p.add_argument(
        "--debug",
        action="store_true",
        default=bool(os.environ.get("SEGSWEEP_DEBUG")),
        help="print the traceback of an error too (or set SEGSWEEP_DEBUG=1)",
    )
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name, func, help_, cfg=True):
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        sp.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
        if cfg:
            sp.add_argument("--cfg", help="the section as JSON (how Snakemake passes params:)")
        return sp

    for stage in STAGES:
        importlib.import_module(f"segsweep.cli.{stage}").add_verbs(verb)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if args.log:
        Path(args.log).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", handlers=handlers, force=True)
    # matplotlib's PDF font subsetting logs every glyph table at INFO: thousands of lines
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    start = time.perf_counter()
    try:
        tune_malloc()  # before the verb allocates anything: see segsweep.runtime
        if args.fingerprint:
            from segsweep.fingerprint import finish_pending, read_pending

            pending = read_pending(args.fingerprint)  # before any work: never after it
        args.func(args)
        if args.fingerprint:
            finish_pending(args.fingerprint, pending)
    except Exception as exc:
        # One line for a person (the log file gets it too); a bug keeps its traceback.
        message = str(exc) if isinstance(exc, SegsweepError) else system_message(exc, getattr(args, "out", None))
        if message is None:
            raise
        if args.debug:
            traceback.print_exc()
        print(f"error: {message}", file=sys.stderr)
        if args.log:
            with open(args.log, "a") as fh:
                fh.write(f"error: {message}\n")
        return 2
    log.info("%s done in %.1fs", args.verb, time.perf_counter() - start)
    return 0
