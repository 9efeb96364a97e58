"""The worker side of ``call --threads N``: N - 1 processes that each load the model once and
call whole chunks. Importing this module does not import JAX (see
:mod:`dvcall.runtime.workers`)."""

import atexit
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from dvcall.runtime.workers import start_workers

_WORKER: dict = {}


def start_calling_workers(count: int, model_path: Path | None, bam_path: Path,
                          ref_path: Path) -> ProcessPoolExecutor:
    """``count`` workers that load ``model_path`` and read ``bam_path`` against ``ref_path``."""
    return start_workers(count, _start, (model_path, bam_path, ref_path, os.getpid()))


def _start(model_path, bam_path, ref_path, parent: int) -> None:
    """Initializer: the parent handles Ctrl-C; load the model once. A model that does not load
    is reported by the main process, which loads it too; here it only stops the calls."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent(parent)
    # Leave without tearing the interpreter down (JAX and XLA take most of a second there,
    # which the main process would wait for). The pool's queues are flushed and joined before atexit
    # runs; nothing else is left to save.
    atexit.register(os._exit, 0)
    import pysam

    from dvcall.model.predictor import Predictor
    from dvcall.runtime import cache
    from dvcall.runtime.timing import Timings

    cache.quiet = True  # the main process reads the same cache and warns about it
    pysam.set_verbosity(0)
    _WORKER.update(bam=bam_path, ref=ref_path, handles={}, timings=Timings())
    try:
        _WORKER["predictor"] = Predictor(model_path, _WORKER["timings"])
    except Exception as exc:  # noqa: BLE001 -- kept for call_in_worker to raise
        _WORKER["error"] = exc


def _end_with_parent(parent: int, every: float = 0.5) -> None:
    """End this worker when the process that started it (``parent``, its pid as the parent
    gave it) dies (a SIGKILL gives the parent no chance to stop its workers): a thread
    watches for this process being handed to another parent. The pid comes from the parent,
    not from os.getppid() here: a parent killed before this initializer ran would already
    have handed the worker on, and it would watch its new parent for ever."""

    def watch():
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def call_in_worker(chunk, depth: float, options):
    """``(calls, stage seconds, compilations, executables loaded)`` of one chunk, in a
    worker."""
    from dvcall.calling.chunk import call_chunk

    w = _WORKER
    if "error" in w:
        raise w["error"]
    options.timings = w["timings"]
    calls = call_chunk(chunk, w["bam"], w["ref"], w["predictor"], options, depth, w["handles"])
    return (calls, *w["timings"].take())
