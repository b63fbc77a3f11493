"""Error classes whose messages are meant for a person.

The CLI prints ``str(error)`` as one line and exits non-zero; no traceback. Every
message names the file or the dotted params key, the bad value and what is allowed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SegsweepError(Exception):
    """Base class of every user-facing error (bad params, bad data)."""


class ConfigError(SegsweepError, ValueError):
    """params.yaml (or a ``--cfg`` section) is invalid."""


class DataError(SegsweepError, ValueError):
    """An input file or dataset is unusable (unreadable, mismatched, empty...)."""


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
