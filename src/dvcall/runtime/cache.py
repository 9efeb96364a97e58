"""The on-disk cache (``$DVCALL_CACHE_DIR``, else ``~/.cache/dvcall``): where it is, how
entries are written and how it is kept small. What is cached is the predictor's business
(:mod:`dvcall.model.predictor`)."""

import os
from pathlib import Path

from dvcall.io.files import atomic_output

MAX_CACHE_BYTES = 256 << 20  # executables kept (~2.4 MB each); the least recently used go


def cache_folder() -> Path:
    """``$DVCALL_CACHE_DIR``, else ``$XDG_CACHE_HOME/dvcall`` (``~/.cache/dvcall``)."""
    folder = os.environ.get("DVCALL_CACHE_DIR")
    if folder:
        return Path(folder)
    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")) / "dvcall"


def enable_compilation_cache() -> None:
    """Persist XLA compilations across runs (``cache_folder()/jax``), for training. Not for
    calling: a :class:`Predictor` saves no executable while this cache is on (see there).
    Best effort: an unwritable cache folder only costs speed."""
    import jax

    folder = cache_folder() / "jax"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def prune(folder: Path, limit: int = MAX_CACHE_BYTES) -> None:
    """Delete the least recently used files of ``folder`` until it holds at most ``limit``
    bytes: every new model or dvcall version adds its own executables. Best effort."""
    try:
        files = [(f.stat(), f) for f in folder.iterdir() if f.is_file()]
    except OSError:
        return
    files.sort(key=lambda item: item[0].st_mtime)
    total = sum(stat.st_size for stat, _ in files)
    for stat, path in files:
        if total <= limit:
            break
        try:
            path.unlink()
        except OSError:
            continue
        total -= stat.st_size


def write_entry(path: Path, payload: bytes) -> None:
    """Best effort (a read-only cache only costs speed); renamed into place, so a process
    reading the file meanwhile, or a second writer, sees a whole file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            tmp.write_bytes(payload)
    except OSError:
        pass
