"""What the caller needs to know about a model beyond its weights, kept in its file's
metadata and read without Flax (a cached executable spares loading the model): its QUAL
calibration (the log-odds of a variant that the model states become ``a * x + b`` per
kind, and apart for SNPs that one read shows; Platt scaling, fitted on selection sets by
scripts/fit_calibration.py), and the indel and SNP noise of the BAMs it was trained on
(written by ``dvcall train``)."""

import json
from pathlib import Path

from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from dvcall.errors import InputError
from dvcall.io.files import atomic_output
from dvcall.postprocess.thresholds import SNP_ONE_READ

CALIBRATION_KEY = "qual_calibration"
INDEL_NOISE_KEY = "indel_noise_trained"
SNP_NOISE_KEY = "snp_noise_trained"


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
        fit = {kind: (float(value[kind][0]), float(value[kind][1])) for kind in ("SNP", "INDEL")}
        # a fit written before SNPs of one read had their own: its SNP fit covers them
        one = value.get(SNP_ONE_READ, fit["SNP"])
        return fit | {SNP_ONE_READ: (float(one[0]), float(one[1]))}
    except (ValueError, KeyError, TypeError, IndexError):
        raise InputError(f"{path}: the model file's QUAL calibration is damaged; fit it again "
                         "with scripts/fit_calibration.py --write") from None


def write_calibration(path: Path, calibration: dict[str, tuple[float, float]]) -> None:
    """Store a QUAL calibration in a model file (its weights and other metadata unchanged)."""
    _write_metadata(path, CALIBRATION_KEY,
                    json.dumps({k: list(v) for k, v in calibration.items()}))


def read_indel_noise(path: Path) -> float | None:
    """The indel events per read base of the noisiest BAM the model was trained on, or None
    (a model written before ``dvcall train`` recorded it: the shipped model's applies)."""
    return _read_rate(path, INDEL_NOISE_KEY, "indel noise")


def read_snp_noise(path: Path) -> float | None:
    """The chance a clean base of the model's training BAMs shows one given wrong base
    (pooled over their bases), or None (a model written before ``dvcall train`` recorded
    it: the shipped model's applies)."""
    return _read_rate(path, SNP_NOISE_KEY, "SNP noise")


def _read_rate(path: Path, key: str, what: str) -> float | None:
    try:
        with safe_open(str(path), framework="numpy") as fh:
            text = (fh.metadata() or {}).get(key)
    except (SafetensorError, OSError, ValueError):
        return None
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise InputError(f"{path}: the model file's {what} ({text!r}) is damaged; "
                         "retrain it with 'dvcall train'")
    return value


def write_indel_noise(path: Path, rate: float) -> None:
    """Store the training BAMs' indel noise in a model file (weights unchanged)."""
    _write_metadata(path, INDEL_NOISE_KEY, repr(float(rate)))


def write_snp_noise(path: Path, rate: float) -> None:
    """Store the training BAMs' clean-base noise in a model file (weights unchanged)."""
    _write_metadata(path, SNP_NOISE_KEY, repr(float(rate)))


def _write_metadata(path: Path, key: str, text: str) -> None:
    with safe_open(str(path), framework="numpy") as fh:
        metadata = dict(fh.metadata() or {})
    metadata[key] = text
    weights = load_file(str(path))
    with atomic_output(path) as tmp:
        save_file(weights, str(tmp), metadata=metadata)
