"""Raw read counts per reference position (unweighted, for the few called sites and for
training labels; the model makes its own weighted counts)."""

import numpy as np

from dvcall.encoding import DELETION, N_CODE
from dvcall.features.projection import ProjectedReads


def site_depth(counts: np.ndarray) -> np.ndarray:
    """Reads over a site from its counts (A C G T N DEL, on the last axis): bases and
    deletions, not Ns."""
    return counts[..., :4].sum(-1) + counts[..., DELETION]


def counts_at(reads: ProjectedReads, window_start: int, position: int) -> np.ndarray:
    """Raw counts of A C G T N DEL at one window position (for the few called sites)."""
    col = position + window_start - reads.starts
    ok = (col >= 0) & (col < reads.codes.shape[1])
    codes = reads.codes[np.flatnonzero(ok), col[ok]].astype(np.int64)
    return np.bincount(codes[codes <= DELETION], minlength=6)[:6]


def bases_at(reads: ProjectedReads, window_start: int, position: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, qualities)`` of the A/C/G/T bases the fragments show at one window
    position: where both mates of a fragment cover it, only the better-quality base (two
    reads of one molecule are one observation; samtools and bcftools count them once too)."""
    col = position + window_start - reads.starts
    rows = np.flatnonzero((col >= 0) & (col < reads.codes.shape[1]))
    codes, quality = reads.codes[rows, col[rows]], reads.quality[rows, col[rows]]
    base = codes < N_CODE
    rows, codes, quality = rows[base], codes[base], quality[base]
    if reads.mate_key is not None and len(rows) > 1:
        # a key held by more than two reads here is two fragments with the same ends
        key = reads.mate_key[rows]
        _, inverse, held = np.unique(key, return_inverse=True, return_counts=True)
        key = np.where((held[inverse] == 2) & (key >= 0), key, -1 - np.arange(len(key)))
        order = np.lexsort((-quality.astype(np.int64), key))  # by fragment, best base first
        first = np.ones(len(order), bool)
        first[1:] = key[order][1:] != key[order][:-1]
        keep = order[first]
        codes, quality = codes[keep], quality[keep]
    return codes, quality


def spanning_depth(reads: ProjectedReads, window_start: int, position: int, repeat: int,
                   margin: int = 2) -> int:
    """Reads covering ``[position - margin, position + repeat + margin]``: those that can
    show whether an indel anchored at ``position`` (sliding ``repeat`` bases) is there."""
    lo = window_start + position - margin
    hi = window_start + position + repeat + margin + 1
    return int(np.count_nonzero((reads.starts <= lo) & (reads.ends >= hi)))


def base_counts(reads: ProjectedReads, window_start: int, length: int) -> np.ndarray:
    """``(length, 6)`` raw counts of A C G T N DEL per window position (unweighted)."""
    if reads.num_reads == 0:
        return np.zeros((length, 6), np.int64)
    cols = np.arange(reads.codes.shape[1])
    index = (reads.starts - window_start)[:, None] + cols[None, :]
    codes = reads.codes.astype(np.int64)
    ok = (index >= 0) & (index < length) & (codes <= DELETION)
    flat = index[ok] * 6 + codes[ok]
    return np.bincount(flat, minlength=length * 6).reshape(length, 6)


def mismatches_against_reference(reads: ProjectedReads, ref_codes: np.ndarray,
                                 window_start: int, every: int = 16) -> tuple[int, int]:
    """``(mismatching bases, compared bases)`` of every ``every``-th read against the
    reference codes of its window (A C G T on both sides only): a sample of how well the
    reads fit the reference, cheap enough for every chunk."""
    rows = np.arange(0, reads.num_reads, every)
    if len(rows) == 0:
        return 0, 0
    codes = reads.codes[rows]
    index = (reads.starts[rows] - window_start)[:, None] + np.arange(codes.shape[1])[None, :]
    inside = (index >= 0) & (index < len(ref_codes))
    ref = ref_codes[np.clip(index, 0, len(ref_codes) - 1)]
    compared = inside & (codes < N_CODE) & (ref < N_CODE)
    return int(np.count_nonzero(compared & (codes != ref))), int(np.count_nonzero(compared))
