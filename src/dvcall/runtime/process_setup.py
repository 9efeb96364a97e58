"""Process settings that must be made before JAX starts: one core per calling process, and
keeping freed memory in the process.

Freed memory: every chunk allocates and frees the same few-MB arrays, and glibc's default
returns each to the kernel (mmap/munmap), so the next chunk page-faults all of it again.
Every thread shares the main heap (one arena): glibc unmaps a thread arena's heap whenever it
empties, whatever the thresholds. What both cost is in docs/decisions.md (Speed)."""

import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -2, -3, -8
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's upper limit on 64-bit


def retain_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds, grow the heap in 256 MB steps and keep every
    thread on the main heap (a no-op elsewhere). Returns True when set."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
                and mallopt(_M_TRIM_THRESHOLD, 1 << 30) and mallopt(_M_TOP_PAD, 256 << 20)
                and mallopt(_M_ARENA_MAX, 1))


def set_for_child_processes() -> None:
    """The same settings for processes started from here (glibc reads them at start-up; a
    spawned worker's threads exist before it could call :func:`retain_freed_memory`)."""
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(_MMAP_THRESHOLD_MAX))
    os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(1 << 30))
    os.environ.setdefault("MALLOC_TOP_PAD_", str(256 << 20))
    os.environ.setdefault("MALLOC_ARENA_MAX", "1")


def hold_to_one_core_per_process(workers: int) -> None:
    """Make each calling process use one core, so ``--threads N`` keeps N cores busy (what a
    scheduler slot of N promises). Call before JAX starts its backend.

    XLA's CPU thread pool is sized by ``NPROC`` (else the machine's cores); a second thread
    does not make this model faster, it only burns more CPU (docs/decisions.md). With
    several workers on one GPU, none may preallocate its memory.
    """
    os.environ["NPROC"] = "1"
    if workers > 1:
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
