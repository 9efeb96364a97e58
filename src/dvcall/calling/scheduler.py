"""Calling many chunks in order, in this process alone or with worker processes."""

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from dvcall.calling.chunk import CallOptions, ChunkResult, call_chunk
from dvcall.calling.worker import call_in_worker, start_calling_workers
from dvcall.io.regions import Chunk

if TYPE_CHECKING:  # the predictor imports JAX; this module must not
    from dvcall.model.predictor import Predictor

MAX_CHUNKS_AHEAD = 16  # per thread: how far past the chunk due this process may work


IN_FLIGHT = 4  # chunks queued per worker, so none waits for this process to hand it one


def call_chunks(chunks: list[Chunk], bam_path: Path, ref_path: Path, predictor: "Predictor",
                options: CallOptions, depth: float,
                progress: Callable[[Chunk, int], None] | None = None,
                pool: ProcessPoolExecutor | None = None) -> Iterator[ChunkResult]:
    """Yield each chunk's :class:`ChunkResult` in chunk order.

    With ``options.threads == N > 1`` this process and N - 1 worker processes call chunks, one
    core each (pysam and numpy hold the GIL, so threads would not scale). Each worker loads
    ``predictor``'s model file; the output is the same as with one process. This process takes
    the next chunk itself whenever the one due is not back yet, so it works while the workers
    start (importing JAX and loading the model take seconds).
    ``pool``: workers from :func:`dvcall.calling.worker.start_calling_workers`, when started
    earlier.
    """
    handles: dict = {}

    def here(chunk: Chunk) -> ChunkResult:
        return call_chunk(chunk, bam_path, ref_path, predictor, options, depth, handles)

    if options.threads <= 1:
        for chunk in chunks:
            result = here(chunk)
            if progress:
                progress(chunk, len(result.calls))
            yield result
        return
    if pool is not None:
        yield from _call_with_workers(chunks, here, pool, options, depth, progress)
        return
    with start_calling_workers(options.threads - 1, predictor.path, bam_path, ref_path) as own:
        yield from _call_with_workers(chunks, here, own, options, depth, progress)


def _call_with_workers(chunks: list[Chunk], here: Callable[[Chunk], ChunkResult],
                       pool: ProcessPoolExecutor, options: CallOptions, depth: float,
                       progress) -> Iterator[ChunkResult]:
    """:func:`call_chunks` with workers: ``here`` calls a chunk in this process."""
    workers = options.threads - 1
    done: dict[int, ChunkResult | Future] = {}  # by chunk index, until yielded
    given = 0  # chunks [0, given) are done here or handed to a worker
    try:
        for i, chunk in enumerate(chunks):
            while True:
                busy = sum(1 for r in done.values() if isinstance(r, Future)
                           and not r.done())
                while busy < IN_FLIGHT * workers and given < len(chunks):
                    done[given] = pool.submit(call_in_worker, chunks[given], depth, options)
                    given, busy = given + 1, busy + 1
                due = done.get(i)
                if due is None:  # every earlier chunk is out: this one is ours
                    done[i], given = here(chunk), given + 1
                elif (isinstance(due, Future) and not due.done() and given < len(chunks)
                      and given - i < MAX_CHUNKS_AHEAD * options.threads):
                    done[given], given = here(chunks[given]), given + 1
                    continue
                break
            result = done.pop(i)
            if isinstance(result, Future):
                calls, *counts = result.result()  # a worker's ChunkResult and timings
                options.timings.add(*counts)
            else:
                calls = result
            if progress:
                progress(chunk, len(calls.calls))
            yield calls
    except BaseException:
        for result in done.values():
            if isinstance(result, Future):
                result.cancel()
        raise
