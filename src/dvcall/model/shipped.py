"""Model files that ship inside the package. Importing this imports neither JAX nor Flax, so
a process that loads a saved executable finds the default model without them."""

from importlib import resources
from pathlib import Path

DEFAULT_MODEL = "default.safetensors"


def default_model_path() -> Path:
    return Path(str(resources.files("dvcall.model") / DEFAULT_MODEL))
