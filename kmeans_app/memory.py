"""Let the server give freed memory back to the operating system, and keep its
garbage collections short.

glibc's malloc raises its mmap threshold after each large free (up to 32 MB), so
the 1-30 MB arrays of a 12-megapixel photo end up in per-thread heaps that it
keeps after they are freed; Streamlit runs every session's script on threads of
its own. The server's resident memory then ratchets up to well past what it
uses, which matters on Community Cloud's ~690 MB apps. A fixed 1 MB threshold
sends large arrays to mmap, returned on free, and two arenas bound the rest.
Measured with benchmarks/bench_memory.py (12 MP upload): peak 603-650 MB without, 556 MB with.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os

_M_MMAP_THRESHOLD = -3  # constants from glibc's malloc.h
_M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 1 << 20
ARENA_MAX = 2


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    return None if name is None else ctypes.CDLL(name)


def trim() -> None:
    """Hand freed heap memory back to the operating system now (glibc's malloc_trim).

    Freed blocks in the middle of a heap stay resident otherwise: after a large
    photo's work the server kept hundreds of megabytes it no longer used.
    """
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def resident_bytes() -> int | None:
    """This process's resident memory now, or None where Linux's /proc is not there."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@functools.cache
def release_freed_memory() -> bool:
    """Tune glibc's malloc once per process; False where the C library is not glibc."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):  # musl, macOS, Windows: nothing to tune
        return False
    threshold_set = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    arenas_set = libc.mallopt(_M_ARENA_MAX, ARENA_MAX)
    return bool(threshold_set and arenas_set)


@functools.cache
def spare_loaded_objects() -> None:
    """Leave every object that exists now out of later garbage collections, once per process.

    Call it once the app's modules are imported. Streamlit collects all generations
    after each script run (``runner.postScriptGC``), holding the GIL: about 0.2 s on
    an idle 2-core machine over the ~190,000 objects the imports make, and far more
    with several viewers, whose every run then waits for every other's collection.
    Those objects live as long as the server, so ``gc.freeze`` moves them where no
    collection looks; what the runs make is still collected after each run.
    """
    gc.freeze()
