"""The on-disk cache (``$DVCALL_CACHE_DIR``, else ``~/.cache/dvcall``): where it is, how
entries are written, checked and kept small. What is cached is the predictor's business
(:mod:`dvcall.model.predictor`).

A cached executable is machine code that JAX unpickles: whoever can write a file that dvcall
loads can run code as the user. So every entry is signed with HMAC-SHA256 under a secret of
this user's (``$XDG_CONFIG_HOME/dvcall/cache.key``, made on first use, mode 0600, never in
the cache folder), and a file is read only if this user owns it and its signature holds; one
that fails is never deserialised, and the run compiles instead. The same home folder on
several machines shares the secret, so one user's machines can share a cache folder.
"""

import hashlib
import hmac
import os
import secrets
import stat
import sys
from pathlib import Path

from dvcall.io.files import atomic_output

MAX_CACHE_BYTES = 256 << 20  # executables kept (~2.4 MB each); the least recently used go
_MAGIC = b"dvcall-signed-1\n"  # then the payload's HMAC-SHA256, then the payload
_KEY_BYTES = 32
_said: set[str] = set()  # warnings given in this process (each once)
quiet = False  # True in worker processes: the main process says it


def cache_folder() -> Path:
    """``$DVCALL_CACHE_DIR``, else ``$XDG_CACHE_HOME/dvcall`` (``~/.cache/dvcall``)."""
    folder = os.environ.get("DVCALL_CACHE_DIR")
    if folder:
        return Path(folder)
    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")) / "dvcall"


def enable_compilation_cache() -> None:
    """Persist XLA compilations across runs (``cache_folder()/jax``), for training. Not for
    calling: a :class:`Predictor` saves no executable while this cache is on (see there).
    JAX loads whatever that folder holds, unsigned, so it is used only when it is this
    user's own (owned, and writable by no one else). Best effort: an unwritable or shared
    folder only costs speed."""
    import jax

    folder = cache_folder() / "jax"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        _say(f"dvcall: {folder} is not private to this user; training runs without JAX's "
             f"compilation cache (set DVCALL_CACHE_DIR to a folder of your own)")
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
    total = sum(info.st_size for info, _ in files)
    for info, path in files:
        if total <= limit:
            break
        try:
            path.unlink()
        except OSError:
            continue
        total -= info.st_size


def write_entry(path: Path, payload: bytes) -> None:
    """Best effort (a read-only cache only costs speed); renamed into place, so a process
    reading the file meanwhile, or a second writer, sees a whole file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            tmp.write_bytes(payload)
    except OSError:
        pass


def _say(message: str) -> None:
    """One line on stderr, once per process."""
    if message not in _said and not quiet:
        _said.add(message)
        print(message, file=sys.stderr, flush=True)


def key_path() -> Path:
    """Where this user's signing secret lives: the config folder, never the cache folder,
    which may be shared."""
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(config) / "dvcall" / "cache.key"


def signing_key() -> bytes | None:
    """This user's secret, made on first use (None where it cannot be made or is not
    private: then nothing is loaded from or saved to the cache)."""
    path = key_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(_KEY_BYTES))
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            key = fh.read()
    except OSError:
        return None
    if (info.st_uid != os.getuid() or info.st_mode & 0o077 or len(key) != _KEY_BYTES):
        _say(f"dvcall: {path} is not this user's private key (owner, mode or size); the "
             f"executables cache is not used until it is removed")
        return None
    return key


def sign(key: bytes, payload: bytes) -> bytes:
    return _MAGIC + hmac.new(key, payload, hashlib.sha256).digest() + payload


def read_signed(path: Path, key: bytes) -> bytes | None:
    """The payload of a cache file this user wrote and signed; None when it is missing or
    unreadable, and None with a warning (once) when another user owns it or its signature
    fails. Nothing of a file that fails is deserialised."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        try:
            owner = os.fstat(fh.fileno()).st_uid
            blob = fh.read() if owner == os.getuid() else b""
        except OSError:
            return None
    head = len(_MAGIC) + hashlib.sha256().digest_size
    payload = memoryview(blob)[head:]  # no copy of megabytes to check them
    if (owner != os.getuid() or not blob.startswith(_MAGIC) or not hmac.compare_digest(
            blob[len(_MAGIC):head], hmac.new(key, payload, hashlib.sha256).digest())):
        _say(f"dvcall: cache file {path} was not written by this user; compiling instead")
        return None
    return bytes(payload)


def check_folder(folder: Path) -> None:
    """Warn (once) when others may write to the cache folder: dvcall still loads only its
    own signed files, but others can delete or replace them, and every run compiles."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IWGRP | stat.S_IWOTH) and not mode & stat.S_ISVTX:
        _say(f"dvcall: cache folder {folder} is writable by other users; dvcall loads only "
             "files this user signed, but use a folder of your own (DVCALL_CACHE_DIR) to "
             "keep them")
