"""A model's QUAL calibration, kept in its file's metadata: the log-odds of a variant that
the model states become ``a * x + b`` per kind (Platt scaling), fitted on selection sets by
scripts/fit_calibration.py. Read without Flax: the caller needs it where a cached executable
spares loading the model."""

import json
from pathlib import Path

from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from dvcall.errors import InputError
from dvcall.io.files import atomic_output

CALIBRATION_KEY = "qual_calibration"


def read_calibration(path: Path) -> dict[str, tuple[float, float]] | None:
    """The QUAL calibration a model file carries (scripts/fit_calibration.py --write), or
    None: the shipped model's applies. Read from the metadata alone (no Flax)."""
    try:
        with safe_open(str(path), framework="numpy") as fh:
            text = (fh.metadata() or {}).get(CALIBRATION_KEY)
    except (SafetensorError, OSError, ValueError):
        return None  # not a model file: loading the model says so
    if text is None:
        return None
    try:
        value = json.loads(text)
        return {kind: (float(value[kind][0]), float(value[kind][1])) for kind in ("SNP", "INDEL")}
    except (ValueError, KeyError, TypeError, IndexError):
        raise InputError(f"{path}: the model file's QUAL calibration is damaged; fit it again "
                         "with scripts/fit_calibration.py --write") from None


def write_calibration(path: Path, calibration: dict[str, tuple[float, float]]) -> None:
    """Store a QUAL calibration in a model file (its weights and other metadata unchanged)."""
    with safe_open(str(path), framework="numpy") as fh:
        metadata = dict(fh.metadata() or {})
    metadata[CALIBRATION_KEY] = json.dumps({k: list(v) for k, v in calibration.items()})
    weights = load_file(str(path))
    with atomic_output(path) as tmp:
        save_file(weights, str(tmp), metadata=metadata)
