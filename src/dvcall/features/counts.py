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


def counts_at_sites(reads: ProjectedReads, window_start: int, positions: np.ndarray,
                    over: tuple | None = None) -> np.ndarray:
    """``(M, 6)``: :func:`counts_at` at each window position, in one pass (``over``: the
    :func:`reads_over` of these positions, where the caller has it)."""
    site, row, col = reads_over(reads, window_start, positions) if over is None else over
    codes = reads.codes[row, col].astype(np.int64)
    keep = codes <= DELETION
    flat = np.bincount(site[keep] * 6 + codes[keep], minlength=len(positions) * 6)
    return flat.reshape(len(positions), 6)


def bases_at(reads: ProjectedReads, window_start: int, position: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, qualities)`` at one window position (:func:`fragment_bases`)."""
    _, codes, quality = fragment_bases(reads, window_start, np.array([position]))
    return codes, quality


def reads_over(reads: ProjectedReads, window_start: int, positions: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(site, row, column)`` of every read over each window position (``site`` indexes
    ``positions``; the column is the position's in the read's projection), found by binary
    search in start order: no read x position product."""
    positions = np.asarray(positions, np.int64)
    if reads.num_reads == 0 or len(positions) == 0:
        none = np.zeros(0, np.int64)
        return none, none, none
    order = np.argsort(reads.starts, kind="stable")
    starts, ends = reads.starts[order], reads.ends[order]
    at = positions + window_start
    longest = int((ends - starts).max())
    lo = np.searchsorted(starts, at - longest + 1)
    hi = np.searchsorted(starts, at, side="right")
    per_site = hi - lo  # reads starting early enough: site i takes sorted reads lo[i]..hi[i]
    site = np.repeat(np.arange(len(positions)), per_site)
    first = np.cumsum(per_site) - per_site
    row = order[np.arange(len(site)) - first[site] + lo[site]]
    col = at[site] - reads.starts[row]
    within = col < reads.codes.shape[1]
    return site[within], row[within], col[within]


def fragment_bases(reads: ProjectedReads, window_start: int, positions: np.ndarray,
                   over: tuple | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(site, codes, qualities)``, in site order, of the A/C/G/T bases the fragments show
    at each window position (``site`` indexes ``positions``): where both mates of a fragment
    cover it, only the better-quality base (two reads of one molecule are one observation;
    samtools and bcftools count them once too). A key that more than two reads over a
    position hold is two fragments with the same ends: all of them count. ``over``: as for
    :func:`counts_at_sites`."""
    site, row, col = reads_over(reads, window_start, positions) if over is None else over
    codes, quality = reads.codes[row, col], reads.quality[row, col]
    base = codes < N_CODE
    site, row, codes, quality = site[base], row[base], codes[base], quality[base]
    if reads.mate_key is not None and len(row) > 1:
        key = reads.mate_key[row]
        order = np.lexsort((key, site))
        k, st = key[order], site[order]
        same = (k[1:] == k[:-1]) & (st[1:] == st[:-1]) & (k[1:] >= 0)  # i and i + 1: mates
        if same.any():
            alone = same.copy()  # not part of a run of three or more equal keys
            alone[1:] &= ~same[:-1]
            alone[:-1] &= ~same[1:]
            first = np.flatnonzero(alone)
            q = quality[order]
            worse = np.where(q[first] >= q[first + 1], first + 1, first)
            keep = np.ones(len(row), bool)
            keep[order[worse]] = False
            site, codes, quality = site[keep], codes[keep], quality[keep]
    order = np.argsort(site, kind="stable")
    return site[order], codes[order], quality[order]


def spanning_depth(reads: ProjectedReads, window_start: int, position: int, repeat: int,
                   margin: int = 2) -> int:
    """Reads covering ``[position - margin, position + repeat + margin]``: those that can
    show whether an indel anchored at ``position`` (sliding ``repeat`` bases) is there."""
    lo = window_start + position - margin
    hi = window_start + position + repeat + margin + 1
    return int(np.count_nonzero((reads.starts <= lo) & (reads.ends >= hi)))


def base_counts(reads: ProjectedReads, window_start: int, length: int,
                rows: np.ndarray | None = None) -> np.ndarray:
    """``(length, 6)`` raw counts of A C G T N DEL per window position (unweighted), over
    the reads ``rows`` (all where None): complete where no other read reaches."""
    if reads.num_reads == 0:
        return np.zeros((length, 6), np.int64)
    codes = reads.codes if rows is None else reads.codes[rows]
    starts = reads.starts if rows is None else reads.starts[rows]
    cols = np.arange(codes.shape[1])
    index = (starts - window_start)[:, None] + cols[None, :]
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
