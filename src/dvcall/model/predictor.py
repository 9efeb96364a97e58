"""The caller's compiled model, kept on disk between runs.

Tracing, lowering and compiling the model costs every calling process seconds before its
first chunk (docs/decisions.md, Speed). Here the compiled executable of each shape bucket is
saved, with the model's quality-weight table, under a key of everything the executable
depends on: the model file's bytes, dvcall's source, the jax/jaxlib versions, the device,
the CPU's features, the compiler options and XLA_FLAGS. A later run with the same key loads
it without importing Flax or tracing; any change to one of those gives a new key, so a stale
executable is never used. A file that does not load or whose signature fails is compiled
again and replaced. Only files this user signed are read at all (see
:mod:`dvcall.runtime.cache`): a cached executable is code.
"""

import hashlib
import importlib.metadata
import io
import os
from collections.abc import Callable
from pathlib import Path

import jax
import numpy as np
from jax.experimental.serialize_executable import deserialize_and_load, serialize

from dvcall.errors import InputError
from dvcall.model import compile_options
from dvcall.model.calibration import read_calibration, read_indel_noise, read_snp_noise
from dvcall.model.shipped import default_model_path
from dvcall.runtime.cache import (
    cache_folder,
    check_folder,
    prune,
    read_signed,
    sign,
    signing_key,
    write_entry,
)
from dvcall.runtime.timing import Timings

MAX_CANDIDATE_SHARE = 16  # classify sparsely while at most 1/16 of positions are candidates
_SOURCE_ROOT = Path(__file__).parent.parent  # the dvcall package


def _source_digest() -> bytes:
    """Every .py file of the installed package, by relative path: code that changes what the
    model computes changes the key."""
    digest = hashlib.sha256()
    for path in sorted(_SOURCE_ROOT.rglob("*.py")):
        digest.update(str(path.relative_to(_SOURCE_ROOT)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.digest()


def _cpu_features() -> str:
    """The host CPU's feature flags: XLA compiles for the host, so an executable made on one
    machine of a cluster may not run on another that shares the home folder."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return f"{platform.machine()} {platform.processor()}"


def model_key(model_path: Path) -> str:
    """Hex key of an executable's dependencies (see the module docstring)."""
    device = jax.devices()[0]
    digest = hashlib.sha256()
    options = repr(sorted(compile_options.CPU_OPTIONS.items()))
    for part in (hashlib.sha256(Path(model_path).read_bytes()).digest(), _source_digest(),
                 jax.__version__, importlib.metadata.version("jaxlib"), device.platform,
                 device.device_kind, _cpu_features(), options, os.environ.get("XLA_FLAGS", "")):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def _shapes(data: dict) -> tuple:
    """What an executable is compiled for: every input's name, shape and dtype."""
    return tuple((k, np.shape(v), np.asarray(v).dtype.str) for k, v in sorted(data.items()))


class Predictor:
    """``data -> (class probabilities, genotype probabilities)`` of one chunk, one compiled
    executable per shape bucket: loaded from the cache folder when a run with the same key
    saved it, else compiled (Flax and the model are loaded only then) and saved.

    A model file that cannot call a BAM raises :class:`InputError` here, unless this exact
    file already passed these checks (its key has a saved weight table)."""

    def __init__(self, model_path: Path | None = None, timings: Timings | None = None,
                 folder: Path | None = None, announce: Callable[[str], None] | None = None):
        self.path = default_model_path() if model_path is None else Path(model_path)
        if not self.path.exists():
            raise InputError(f"{self.path}: model file not found")
        self.timings = timings if timings is not None else Timings()
        self._announce = announce  # told once when the first compilation starts
        self.folder = (cache_folder() if folder is None else Path(folder)) / "executables"
        try:
            self.key = model_key(self.path)
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read the model file ({exc.strerror}); pass "
                             "a file written by 'dvcall train'") from None
        self._signing_key = signing_key()  # None: nothing is loaded or saved
        if self._signing_key is not None:
            check_folder(self.folder)
        self.calibration = read_calibration(self.path)  # None: the shipped model's
        self.indel_noise = read_indel_noise(self.path)  # None: the shipped model's
        self.snp_noise = read_snp_noise(self.path)  # None: the shipped model's
        self._pipeline = None
        self._by_shape: dict[tuple, Callable] = {}
        self._table = self._saved_table()
        if self._table is None:
            self._table = self._compute_table()
        self._weights = jax.device_put(self._read_weights())

    # -- the model, loaded only when an executable has to be compiled --
    def _load_pipeline(self):
        if self._pipeline is None:
            from dvcall.model.model_file import load_model

            pipeline, _ = load_model(self.path)
            if not pipeline.config.use_evidence or pipeline.config.num_genotypes != 3:
                raise InputError(f"{self.path}: this model has no reference/indel evidence or "
                                 "genotype head (e.g. made by 'dvcall train --synthetic'); it "
                                 "cannot call a BAM")
            self._pipeline = pipeline
        return self._pipeline

    def _read_weights(self) -> dict[str, np.ndarray]:
        from safetensors.numpy import load_file

        return load_file(str(self.path))

    def _table_path(self) -> Path:
        return self.folder / f"{self.key}.table.npy"

    def _read_entry(self, path: Path) -> bytes | None:
        """A cache file's payload, if this user signed it (see :mod:`dvcall.runtime.cache`)."""
        if self._signing_key is None:
            return None
        return read_signed(path, self._signing_key)

    def _save_entry(self, path: Path, payload: bytes) -> None:
        if self._signing_key is not None:
            write_entry(path, sign(self._signing_key, payload))

    def _saved_table(self) -> np.ndarray | None:
        payload = self._read_entry(self._table_path())
        if payload is None:
            return None
        try:
            table = np.load(io.BytesIO(payload), allow_pickle=False)
        except (OSError, ValueError):
            return None
        return table if table.shape == (256,) else None

    def _compute_table(self) -> np.ndarray:
        """The pipeline's base-weight table, an input of every chunk's call: inside the
        compiled function XLA fused it into the per-base gather, computing it for every base."""
        table = np.asarray(self._load_pipeline().base_weight_table())
        buffer = io.BytesIO()
        np.save(buffer, table, allow_pickle=False)
        self._save_entry(self._table_path(), buffer.getvalue())
        return table

    # -- executables --
    def __call__(self, data: dict) -> tuple:
        shapes = _shapes(data)
        run = self._by_shape.get(shapes)
        if run is None:
            run = self._by_shape[shapes] = self._executable(shapes, data)
        return run(self._weights, self._table, data)

    def _in_tree(self, data: dict):
        return jax.tree.structure(((self._weights, self._table, data), {}))

    def _executable(self, shapes: tuple, data: dict) -> Callable:
        shape_key = hashlib.sha256(repr(shapes).encode()).hexdigest()[:16]
        path = self.folder / f"{self.key}-{shape_key}.exe"
        payload = self._read_entry(path)
        if payload is not None:
            out_tree = jax.tree.structure((0, 0))
            try:
                loaded = deserialize_and_load(payload, self._in_tree(data), out_tree)
            except Exception:  # noqa: BLE001 -- any failure to load means: compile it again
                pass
            else:
                self.timings.loaded()
                try:
                    os.utime(path)  # recently used: kept by prune
                except OSError:
                    pass
                return loaded
        if self._announce is not None:
            self._announce("compiling the model for this input size (a few seconds, once per "
                           "size; later runs load it from the cache)")
            self._announce = None
        compiled = self._compile(data)
        if jax.config.jax_compilation_cache_dir:
            # JAX's persistent cache may have handed this executable back, and such a one
            # serialises without its kernels ("Function ... not found" when the copy runs)
            return compiled
        try:
            payload, in_tree, out_tree = serialize(compiled)
        except Exception:  # noqa: BLE001 -- a backend that cannot serialise: only slower
            return compiled
        if in_tree == self._in_tree(data) and out_tree == jax.tree.structure((0, 0)):
            self._save_entry(path, payload)
            prune(self.folder)
        return compiled

    def _compile(self, data: dict):
        """The model compiled for ``data``'s shapes; its weights are inputs, in the model
        file's names, so a saved executable runs without Flax."""
        from flax import nnx

        graphdef, state = nnx.split(self._load_pipeline())
        flat = list(nnx.to_flat_state(state))

        def predict(weights, table, data):
            values = {}
            for path, variable in flat:
                name = ".".join(str(p) for p in path)
                if isinstance(variable, nnx.Param):
                    variable = variable.replace(weights[name].astype(variable.get_value().dtype))
                values[path] = variable
            model = nnx.merge(graphdef, nnx.from_flat_state(values))
            length = data["reference"].shape[0]
            return model.predict(data, max_candidates=max(length // MAX_CANDIDATE_SHARE, 64),
                                 weight_table=table)

        self.timings.compiled()
        return compile_options.compile(predict, self._weights, self._table, data)
