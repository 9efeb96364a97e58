"""Per-stage wall-clock totals (read, project, core, resolve, write), jit compilations,
executables loaded from the cache and counts of what the chunks held (reads used, IUPAC
reference bases), for `dvcall call --timings FILE`, the speed benchmark and the end-of-run
checks. Thread-safe: chunks run in threads."""

import json
import threading
import time
from contextlib import contextmanager
from pathlib import Path


class Timings:
    STAGES = ("read", "project", "core", "resolve", "write")

    def __init__(self):
        self._lock = threading.Lock()
        self.seconds = dict.fromkeys(self.STAGES, 0.0)
        self.compilations = 0
        self.loads = 0  # executables loaded from the cache instead of compiled
        self.counts: dict[str, int] = {}

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            with self._lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed

    def compiled(self) -> None:
        with self._lock:
            self.compilations += 1

    def loaded(self) -> None:
        with self._lock:
            self.loads += 1

    def count(self, name: str, n: int) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + int(n)

    def take(self) -> tuple[dict, int, int, dict]:
        """Return and reset the totals (a worker process reports per chunk)."""
        with self._lock:
            out = (dict(self.seconds), self.compilations, self.loads, dict(self.counts))
            self.seconds = dict.fromkeys(self.STAGES, 0.0)
            self.compilations = self.loads = 0
            self.counts = {}
        return out

    def add(self, seconds: dict, compilations: int, loads: int = 0,
            counts: dict | None = None) -> None:
        with self._lock:
            for name, value in seconds.items():
                self.seconds[name] = self.seconds.get(name, 0.0) + value
            self.compilations += compilations
            self.loads += loads
            for name, value in (counts or {}).items():
                self.counts[name] = self.counts.get(name, 0) + value

    def __getstate__(self):  # sent to worker processes: the lock stays behind
        return {"seconds": self.seconds, "compilations": self.compilations, "loads": self.loads,
                "counts": self.counts}

    def __setstate__(self, state):
        self.__init__()
        self.seconds, self.compilations = state["seconds"], state["compilations"]
        self.loads, self.counts = state["loads"], state["counts"]

    def write(self, path: Path, **extra) -> None:
        data = {"seconds": {k: round(v, 4) for k, v in self.seconds.items()},
                "jit_compilations": self.compilations, "executables_loaded": self.loads,
                **self.counts, **extra}
        Path(path).write_text(json.dumps(data, indent=2) + "\n")
