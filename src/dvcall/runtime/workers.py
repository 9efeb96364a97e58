"""Worker processes: spawned, started at once, each running an initializer before its tasks.
Importing this module does not import JAX, so the CLI starts workers first thing and they
import JAX and load the model while the main process does the same and checks the inputs."""

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from dvcall.runtime.process_setup import set_for_child_processes


def start_workers(count: int, initializer: Callable, initargs: tuple) -> ProcessPoolExecutor:
    """A pool of ``count`` spawned processes, started now (the pool itself would wait for
    tasks), with this process's memory settings."""
    set_for_child_processes()
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                               initializer=initializer, initargs=initargs)
    for _ in range(count):
        pool.submit(int)
    return pool
