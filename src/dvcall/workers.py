"""Worker processes for ``call --threads N``: N - 1 spawned processes that each load the model
once and call whole chunks. Importing this module does not import JAX, so the CLI starts the
workers first thing and they import JAX and load the model while the main process does the
same and checks the inputs."""

import atexit
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from dvcall.process_setup import set_for_child_processes

_WORKER: dict = {}


def start_workers(count: int, model_path: Path | None, bam_path: Path,
                  ref_path: Path) -> ProcessPoolExecutor:
    """A pool of ``count`` processes, started now (the pool itself would wait for tasks)."""
    set_for_child_processes()
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start, initargs=(model_path, bam_path, ref_path))
    for _ in range(count):
        pool.submit(int)
    return pool


def _start(model_path, bam_path, ref_path) -> None:
    """Initializer: the parent handles Ctrl-C; load the model once. A model that does not load
    is reported by the main process, which loads it too; here it only stops the calls."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Leave without tearing the interpreter down: with JAX and XLA loaded that took 0.5-0.7 s,
    # which the main process waited for at shutdown, after the last record was written. The
    # pool's queues are flushed and joined before atexit runs; nothing else is left to save.
    atexit.register(os._exit, 0)
    import pysam

    from dvcall.executables import Predictor
    from dvcall.timing import Timings

    pysam.set_verbosity(0)
    _WORKER.update(bam=bam_path, ref=ref_path, handles={}, timings=Timings())
    try:
        _WORKER["predictor"] = Predictor(model_path, _WORKER["timings"])
    except Exception as exc:  # noqa: BLE001 -- kept for call_in_worker to raise
        _WORKER["error"] = exc


def call_in_worker(chunk, depth: float, options):
    """``(calls, stage seconds, compilations, executables loaded)`` of one chunk, in a
    worker."""
    from dvcall.caller import call_chunk as call

    w = _WORKER
    if "error" in w:
        raise w["error"]
    options.timings = w["timings"]
    calls = call(chunk, w["bam"], w["ref"], w["predictor"], options, depth, w["handles"])
    return (calls, *w["timings"].take())
