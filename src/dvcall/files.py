"""Output files get the permissions a plain ``open()`` would give them.

Outputs are written under a temporary name and renamed in; ``tempfile.mkstemp`` and
safetensors' ``save_file`` create that file 0600, which would keep a VCF or a trained model
from the rest of a lab's group on a shared cluster.
"""

import os
from pathlib import Path


def give_default_permissions(path: str | Path) -> None:
    """``chmod`` to 0666 less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)
