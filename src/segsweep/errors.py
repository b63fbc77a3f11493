"""Error classes whose messages are meant for a person.

The CLI prints ``str(error)`` as one line and exits non-zero; no traceback. Every
message names the file or the dotted params key, the bad value and what is allowed.
"""

from __future__ import annotations

import difflib
import errno
import os
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


# Failures of the machine, not of the code: one line naming the path, like bad params.
_SYSTEM = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EROFS: "read-only file system",
}


def system_message(exc: BaseException, out: str | None = None) -> str | None:
    """One line for a full disk, a quota or a permission problem, or None (a bug: keep
    the traceback).

    Args:
        exc: the exception a verb raised.
        out: the verb's output path, named when the exception does not say which file
            (torch's writer reports a full disk as ``RuntimeError: ... iostream error``).
    """
    if isinstance(exc, OSError) and exc.errno in _SYSTEM:
        where = exc.filename or out or "an output"
        return f"{where}: {_SYSTEM[exc.errno]} ({os.strerror(exc.errno)})"
    text = str(exc)
    if isinstance(exc, RuntimeError) and ("iostream error" in text or "PytorchStreamWriter failed" in text):
        return f"{out or 'an output'}: writing failed ({text.splitlines()[0][:80]}); is the disk full?"
    return None
