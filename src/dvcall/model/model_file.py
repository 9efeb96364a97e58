"""Model files: safetensors weights + JSON metadata (config, format version). No pickle, so a
model from a stranger cannot run code when loaded."""

import importlib.metadata
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from dvcall.errors import InputError
from dvcall.io.files import atomic_output
from dvcall.model.calibration import INDEL_NOISE_KEY, SNP_NOISE_KEY
from dvcall.model.shipped import default_model_path
from dvcall.operators.allele_evidence import ALLELE_FEATURE_SET
from dvcall.operators.evidence import FEATURE_SET
from dvcall.pipelines import VariantCallingPipeline, VariantCallingPipelineConfig

FORMAT_VERSION = 1


def _flatten(state) -> dict[str, np.ndarray]:
    flat = {}
    for path, value in nnx.to_flat_state(state):
        flat[".".join(str(p) for p in path)] = np.asarray(value[...])
    return flat


def save_state(state, path: Path, metadata: dict[str, str]) -> None:
    """Write any NNX state as safetensors, beside the target first and renamed in."""
    with atomic_output(path) as tmp:
        save_file(_flatten(state), str(tmp), metadata=metadata)


def load_state_into(state, path: Path) -> None:
    """Fill an NNX state (e.g. an optimizer's) from a file written by :func:`save_state`."""
    weights = load_file(str(path))
    for key, variable in nnx.to_flat_state(state):
        variable[...] = jnp.asarray(weights[".".join(str(p) for p in key)])


def _library_versions() -> dict[str, str]:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:  # e.g. run from a source tree
            return "unknown"

    return {name: version(name) for name in ("dvcall", "jax", "jaxlib", "flax", "optax", "numpy")}


def save_model(pipeline: VariantCallingPipeline, path: Path, info: dict | None = None,
               indel_noise: float | None = None, snp_noise: float | None = None) -> None:
    """Write weights, the config that built them, ``info`` (training facts), the versions
    of the libraries that trained them (one recipe gives other weights under other versions)
    and ``indel_noise`` and ``snp_noise``, the training BAMs'
    (:func:`dvcall.model.calibration.read_indel_noise`, ``read_snp_noise``)."""
    metadata = {
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(pipeline.config.to_dict()),
        "feature_set": str(FEATURE_SET),
        "allele_feature_set": str(ALLELE_FEATURE_SET),
        "info": json.dumps(info or {}),
        "libraries": json.dumps(_library_versions()),
    }
    if indel_noise is not None:
        metadata[INDEL_NOISE_KEY] = repr(float(indel_noise))
    if snp_noise is not None:
        metadata[SNP_NOISE_KEY] = repr(float(snp_noise))
    save_state(nnx.state(pipeline, nnx.Param), path, metadata)


def _initial_value(shape: jax.ShapeDtypeStruct) -> jax.Array:
    """A concrete value for a non-weight variable (dropout's random key and counter), made
    without running a JAX op (each would be compiled, at every start)."""
    if jax.dtypes.issubdtype(shape.dtype, jax.dtypes.prng_key):
        data = jax.eval_shape(lambda: jax.random.key_data(jax.random.key(0)))  # key(0)'s
        return jax.random.wrap_key_data(np.zeros((*shape.shape, *data.shape), data.dtype))
    return jax.device_put(np.zeros(shape.shape, shape.dtype))


def _config(settings, damaged: str) -> VariantCallingPipelineConfig:
    """The pipeline config a model file records, checked: known fields, positive sizes."""
    try:
        config = VariantCallingPipelineConfig(**settings)
    except TypeError as exc:
        raise InputError(f"{damaged} (config: {exc})") from None
    for name, value in config.to_dict().items():
        if isinstance(value, bool):
            continue
        if not isinstance(value, int | float) or (
                value <= 0 and name not in ("num_genotypes", "classifier_extra_layers",
                                            "dropout_rate", "quality_threshold")) or value < 0:
            raise InputError(f"{damaged} (config: {name} = {value!r} is not a valid size)")
    return config


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
    damaged = f"{path}: the model file's metadata is damaged"
    try:
        version = int(metadata["format_version"])
        settings = json.loads(metadata["config"])
    except ValueError:
        raise InputError(f"{damaged} (format version or config is not valid); pass a file "
                         "written by 'dvcall train'") from None
    if version > FORMAT_VERSION:
        raise InputError(f"{path}: model format {version} is newer than this dvcall supports "
                         f"({FORMAT_VERSION}); upgrade dvcall")
    config = _config(settings, damaged)
    bad = sorted(name for name, value in weights.items()
                 if value.dtype.kind == "f" and not np.isfinite(value).all())
    if bad:
        raise InputError(f"{path}: the model's weights are not finite (NaN or infinite in "
                         f"{bad[0]}{' and more' if len(bad) > 1 else ''}); its training "
                         "diverged: retrain with a lower --learning-rate")
    if config.use_evidence and metadata.get("feature_set") != str(FEATURE_SET):
        raise InputError(f"{path}: model was trained on feature set "
                         f"{metadata.get('feature_set', 1)}, this dvcall computes feature set "
                         f"{FEATURE_SET}; retrain it with 'dvcall train' of this version")
    if config.allele_evidence and metadata.get("allele_feature_set") != str(ALLELE_FEATURE_SET):
        raise InputError(f"{path}: model was trained on allele feature set "
                         f"{metadata.get('allele_feature_set', '?')}, this dvcall computes "
                         f"allele feature set {ALLELE_FEATURE_SET}; retrain it with "
                         "'dvcall train' of this version")
    # built abstractly, then filled: building it for real runs and compiles ~30 tiny
    # initialiser ops at every start (docs/decisions.md, Speed)
    pipeline = nnx.eval_shape(lambda: VariantCallingPipeline(config, rngs=nnx.Rngs(0)))
    state = nnx.state(pipeline)
    flat = dict(nnx.to_flat_state(state))
    expected = {".".join(str(p) for p in k) for k, v in flat.items() if isinstance(v, nnx.Param)}
    if expected != set(weights):
        raise InputError(f"{path}: weights do not match the model's config; the file is damaged")
    for key, variable in flat.items():
        shape = variable.get_value()
        if not isinstance(variable, nnx.Param):
            variable.set_value(_initial_value(shape))
            continue
        value = weights[".".join(str(p) for p in key)]
        if value.shape != shape.shape:
            raise InputError(f"{path}: weights do not fit this dvcall's features (model format "
                             f"{version}, {'.'.join(map(str, key))} is {value.shape}, expected "
                             f"{shape.shape}); retrain it with this version")
        variable.set_value(jnp.asarray(value, shape.dtype))
    nnx.update(pipeline, state)
    pipeline.eval_mode()
    info = json.loads(metadata.get("info", "{}"))
    if "libraries" in metadata:  # absent from models written before it was recorded
        info["libraries"] = json.loads(metadata["libraries"])
    return pipeline, info
