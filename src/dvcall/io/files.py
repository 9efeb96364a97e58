"""Output files appear whole or not at all, with the permissions a plain ``open()`` gives.

Every output (VCF, gVCF index, model, checkpoint, cache entry) is written under a temporary
name in its target folder and renamed into place when complete, so a killed run leaves
nothing at the target path and a reader never sees half a file. ``tempfile.mkstemp`` and
safetensors' ``save_file`` create files 0600, which would keep a VCF or a trained model from
the rest of a lab's group on a shared cluster; outputs get 0666 less the umask instead.
"""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dvcall.errors import InputError


def give_default_permissions(path: str | Path) -> None:
    """``chmod`` to 0666 less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def temporary_path(target: str | Path, suffix: str = ".tmp") -> Path:
    """A new empty file beside ``target`` (one folder, so renaming it onto ``target`` is
    atomic), with default permissions."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    give_default_permissions(tmp)
    return Path(tmp)


@contextmanager
def atomic_output(target: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yields a temporary path to write; renamed onto ``target`` when the block ends, removed
    when it raises."""
    tmp = temporary_path(target, suffix)
    try:
        yield tmp
        give_default_permissions(tmp)  # a writer may have made the file anew
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_output_path(path: str | Path, what: str, option: str) -> None:
    """Refuse, before any work, an output path that cannot be written: a folder, a missing
    or read-only parent folder."""
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{path}: {option} names a folder; give a file name for the {what}")
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"{path}: the folder '{parent}' for the {what} ({option}) does not "
                         "exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{path}: the folder '{parent}' for the {what} ({option}) is not "
                         "writable")
