"""The model's input for one chunk: the pipeline's data dict, padded to bucketed shapes."""

import numpy as np

from dvcall.encoding import DELETION, NO_BASE
from dvcall.features.projection import ProjectedReads
from dvcall.features.repeats import repeat_span
from dvcall.features.shapes import bucket_size


def flag_counts(codes: np.ndarray, positions: np.ndarray, cells, length: int) -> np.ndarray:
    """The evidence input ``flag_counts`` ``(L, 3)``: per position, the reads with an
    insertion, a deletion start, a soft clip there. ``cells`` holds a ``(rows, cols)`` pair
    per kind, the flagged read columns; ``positions`` each read's first column on the
    window. As the model counts per-base flags: a cell counts once, and only on a base
    (codes 0-5)."""
    out = np.zeros((length, 3), np.float32)
    width = codes.shape[1]
    for kind, (rows, cols) in enumerate(cells):
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
        inside = (cols >= 0) & (cols < width)
        rows, cols = np.divmod(np.unique(rows[inside] * width + cols[inside]), width)
        at = positions[rows] + cols
        keep = (codes[rows, cols] <= DELETION) & (at >= 0) & (at < length)
        out[:, kind] = np.bincount(at[keep], minlength=length)
    return out


def model_input(reads: ProjectedReads, reference_codes: np.ndarray, window_start: int,
                expected_depth: float, indel_cells, repeat: np.ndarray | None = None) -> dict:
    """The pipeline's data dict for one chunk, padded to bucketed shapes. ``indel_cells``
    are the (rows, cols) of insertions and of deletion starts at their left-normalised
    anchors (:func:`dvcall.features.indels.indel_cells`); with the soft clips they go in counted per
    position (``flag_counts``), and deletions need no array (the codes hold them)."""
    rows = bucket_size(reads.num_reads, minimum=64)
    width = reads.codes.shape[1]
    length = len(reference_codes)
    n = reads.num_reads
    positions = np.zeros(rows, np.int32)
    positions[:n] = reads.starts - window_start
    data = {
        "reads": np.full((rows, width), NO_BASE, np.int8),
        "quality": np.zeros((rows, width), np.uint8),
        "positions": positions,
        "strand": np.zeros(rows, np.float32),
        "mapping_quality": np.zeros(rows, np.float32),
        "read_mask": np.zeros(rows, np.float32),
        "soft_clipped": np.zeros(rows, np.float32),
        "read_indels": np.zeros(rows, np.float32),
        "read_insertion": np.full(rows, -1.0, np.float32),
        "reference": reference_codes,
        "repeat_span": repeat_span(reference_codes) if repeat is None else repeat,
        "expected_depth": np.float32(expected_depth),
        "flag_counts": flag_counts(reads.codes, positions, (*indel_cells, (
            reads.clip_read, reads.clip_col)), length),
    }
    data["reads"][:n] = reads.codes
    data["quality"][:n] = reads.quality
    data["strand"][:n] = reads.strand
    data["mapping_quality"][:n] = reads.mapq
    data["read_mask"][:n] = 1.0
    data["soft_clipped"][reads.clip_read] = 1.0
    data["read_indels"][:n] = (np.bincount(reads.ins_read, minlength=n)
                               + np.bincount(reads.del_read, minlength=n))
    data["read_insertion"][:n] = read_insertions(reads, window_start, indel_cells[0])
    return data


def read_insertions(reads: ProjectedReads, window_start: int,
                    insertion_cells: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``(R,)`` float32 window position of each read's (leftmost) insertion at its normalised
    anchor, -1 for a read without: the per-allele evidence counts such a read for the
    insertion, not for the anchor's base."""
    rows, cols = insertion_cells
    at = np.full(reads.num_reads, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(at, np.asarray(rows, np.int64),
                  reads.starts[rows] - window_start + np.asarray(cols, np.int64))
    return np.where(at == np.iinfo(np.int64).max, -1, at).astype(np.float32)
