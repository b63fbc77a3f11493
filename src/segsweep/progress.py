"""Progress bars for steps that last more than a few seconds: training epochs,
landscape points and the report's study rows (each a set of t-tests and intervals).

A bar is drawn on standard error only when it is a terminal (tqdm's ``disable=None``),
so Snakemake jobs, CI and log files get nothing; ``leave=False`` clears it when done,
so the log lines above it stay as they were.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from tqdm import tqdm


def progress(
    iterable: Iterable | None = None, *, desc: str, total: int | None = None, unit: str = "it", initial: int = 0
):
    """A tqdm bar over ``iterable`` (or, without one, a counter to ``update``) on
    ``sys.stderr`` as it is at the call (so a test can replace it), or a silent one when
    that is not a terminal. Use it as an iterable or a context manager."""
    return tqdm(
        iterable,
        desc=desc,
        total=total,
        unit=unit,
        initial=initial,
        file=sys.stderr,
        disable=None,
        leave=False,
        dynamic_ncols=True,
    )
