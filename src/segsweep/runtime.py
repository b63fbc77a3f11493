"""Process-wide runtime settings applied when a ``segsweep`` verb starts.

glibc's malloc hands every buffer above its mmap threshold (dynamic, at most 32 MiB)
back to the kernel when it is freed, and gives large freed heap tops back too. A U-Net
step allocates and frees the same few-MiB activation buffers every time, so each step
faults thousands of fresh zeroed pages in again (measured here: ~10,000 minor page
faults per training step of the default model, ~3,700 per landscape point). Keeping
freed memory in the process (the settings of ``MALLOC_MMAP_THRESHOLD_=33554432
MALLOC_TRIM_THRESHOLD_=… MALLOC_TOP_PAD_=1073741824``, applied with ``mallopt`` so a
plain ``segsweep`` call gets them) measured 1.2x faster training steps and landscape
points on a 2-core CPU (``benchmarks/malloc_tuning.py``; the default run as a whole:
5 %), with identical numbers: PyTorch aligns every buffer to 64 bytes either way, so no
kernel sees a different layout. The cost: a process keeps its peak heap until it exits
(each verb is one short-lived process per job).

Set ``SEGSWEEP_MALLOC=default`` to keep glibc's own behaviour; any ``MALLOC_*_``
setting in the environment also wins over these.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

from segsweep.errors import ConfigError

# mallopt parameter numbers from glibc's <malloc.h>
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
SETTINGS = {
    M_MMAP_THRESHOLD: 32 * 2**20,  # glibc's maximum: buffers up to 32 MiB come from the heap
    M_TRIM_THRESHOLD: 2**31 - 1,  # (an int) never give a freed heap top back while running
    M_TOP_PAD: 2**30,  # grow the heap in large steps: fewer brk calls (address space only)
}
USER_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def _glibc_mallopt():
    """glibc's ``mallopt`` or None (macOS, musl, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):  # musl's mallopt does nothing
        return None
    fn = libc.mallopt
    fn.argtypes, fn.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return fn


def tune_malloc() -> bool:
    """Apply ``SETTINGS`` to glibc's malloc unless the user chose otherwise.

    Returns:
        True if every setting was applied; False when ``SEGSWEEP_MALLOC=default``, a
        ``MALLOC_*_`` variable is set, or the C library is not glibc.

    Raises:
        ConfigError: ``SEGSWEEP_MALLOC`` is set to something else.
    """
    choice = os.environ.get("SEGSWEEP_MALLOC", "tuned")
    if choice not in ("tuned", "default"):
        raise ConfigError(f"environment variable SEGSWEEP_MALLOC = {choice!r}: must be 'tuned' or 'default'")
    if choice == "default" or any(k in os.environ for k in USER_ENV):
        return False
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    return all(mallopt(param, value) == 1 for param, value in SETTINGS.items())
