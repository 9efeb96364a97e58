"""Static-shape buckets, so ``jax.jit`` compiles once per bucket instead of once per region.

Read counts and read widths vary from chunk to chunk; read counts round up to the next size of
the form ``2**k`` or ``1.5 * 2**k`` (at most 50% padding, usually far less), widths to a
multiple of 32, and we pad. Padded reads
carry ``read_mask == 0`` and all-zero bases, so they add nothing to any count.
"""

import numpy as np

from dvcall.encoding import DELETION_START_FLAG, INSERTION_FLAG, NO_BASE, SOFT_CLIP_FLAG

# (R, W, ...) arrays
READ_AXIS_KEYS = ("reads", "quality", "deletions", "insertions", "deletion_starts",
                  "soft_clips", "read_flags")
# (R,) arrays
READ_KEYS = ("positions", "strand", "mapping_quality", "read_mask", "soft_clipped",
             "read_indels", "read_insertion")


def pack_read_flags(insertions: np.ndarray, deletion_starts: np.ndarray,
                    soft_clips: np.ndarray) -> np.ndarray:
    """``read_flags`` (uint8): the three (R, W) flag arrays of the evidence input in one."""
    flags = (insertions > 0).view(np.uint8) * np.uint8(INSERTION_FLAG)
    flags |= (deletion_starts > 0).view(np.uint8) * np.uint8(DELETION_START_FLAG)
    flags |= (soft_clips > 0).view(np.uint8) * np.uint8(SOFT_CLIP_FLAG)
    return flags


def width_bucket(n: int) -> int:
    """Read widths (reference span) round up to a multiple of 32: 150 bp reads -> 160."""
    return max(32, -(-int(n) // 32) * 32)


def bucket_size(n: int, minimum: int = 16) -> int:
    """Smallest ``2**k`` or ``3 * 2**(k-1)`` that is ``>= max(n, minimum)``."""
    n = max(int(n), minimum)
    power = 1 << (n - 1).bit_length()
    three_quarters = (power // 4) * 3
    return three_quarters if three_quarters >= n else power


def pad_reads(data: dict, num_reads: int | None = None, width: int | None = None) -> dict:
    """Pad the read axes of a single-sample dict to ``num_reads`` x ``width`` (bucketed when
    not given). Arrays other than the read arrays pass through unchanged.
    """
    quality = np.asarray(data["quality"])
    rows, cols = quality.shape
    num_reads = bucket_size(rows) if num_reads is None else num_reads
    width = width_bucket(cols) if width is None else width
    if num_reads < rows or width < cols:
        raise ValueError(f"cannot pad {rows}x{cols} reads into {num_reads}x{width}")
    out = dict(data)
    for key in READ_AXIS_KEYS:
        if data.get(key) is None:
            continue
        value = np.asarray(data[key])
        pad = [(0, num_reads - rows), (0, width - cols)] + [(0, 0)] * (value.ndim - 2)
        fill = NO_BASE if key == "reads" and value.ndim == 2 else 0
        out[key] = np.pad(value, pad, constant_values=fill)
    for key in READ_KEYS:
        if data.get(key) is None:
            continue
        out[key] = np.pad(np.asarray(data[key]), (0, num_reads - rows))
    mask = np.asarray(data["read_mask"]) if data.get("read_mask") is not None else np.ones(rows)
    out["read_mask"] = np.pad(mask.astype(np.float32), (0, num_reads - rows))
    return out
