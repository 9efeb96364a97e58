"""Model files: safetensors weights + JSON metadata (config, format version). No pickle, so a
model from a stranger cannot run code when loaded."""

import json
from importlib import resources
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from flax import nnx
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from dvcall.chunks import InputError
from dvcall.pipelines import VariantCallingPipeline, VariantCallingPipelineConfig

FORMAT_VERSION = 1
DEFAULT_MODEL = "default.safetensors"


def _flatten(state) -> dict[str, np.ndarray]:
    flat = {}
    for path, value in nnx.to_flat_state(state):
        flat[".".join(str(p) for p in path)] = np.asarray(value[...])
    return flat


def save_model(pipeline: VariantCallingPipeline, path: Path, info: dict | None = None) -> None:
    """Write weights and metadata; the file is written beside the target and renamed in."""
    path = Path(path)
    metadata = {
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(pipeline.config.to_dict()),
        "info": json.dumps(info or {}),
    }
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(_flatten(nnx.state(pipeline, nnx.Param)), str(tmp), metadata=metadata)
    tmp.replace(path)


def default_model_path() -> Path:
    return Path(str(resources.files("dvcall") / "models" / DEFAULT_MODEL))


def load_model(path: Path | None = None) -> tuple[VariantCallingPipeline, dict]:
    """Load a model file (the packaged default when ``path`` is None) -> (pipeline, info)."""
    path = default_model_path() if path is None else Path(path)
    if not path.exists():
        raise InputError(f"{path}: model file not found")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as fh:
            metadata = fh.metadata() or {}
        weights = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a dvcall model file ({exc}); pass a file written by "
                         "'dvcall train'") from None
    if "format_version" not in metadata or "config" not in metadata:
        raise InputError(f"{path}: not a dvcall model file (no dvcall metadata)")
    version = int(metadata["format_version"])
    if version > FORMAT_VERSION:
        raise InputError(f"{path}: model format {version} is newer than this dvcall supports "
                         f"({FORMAT_VERSION}); upgrade dvcall")
    config = VariantCallingPipelineConfig(**json.loads(metadata["config"]))
    pipeline = VariantCallingPipeline(config, rngs=nnx.Rngs(0))
    state = nnx.state(pipeline, nnx.Param)
    flat = dict(nnx.to_flat_state(state))
    expected = {".".join(str(p) for p in k) for k in flat}
    if expected != set(weights):
        raise InputError(f"{path}: weights do not match the model's config; the file is damaged")
    for key, variable in flat.items():
        variable[...] = jnp.asarray(weights[".".join(str(p) for p in key)])
    nnx.update(pipeline, state)
    pipeline.eval_mode()
    return pipeline, json.loads(metadata.get("info", "{}"))
