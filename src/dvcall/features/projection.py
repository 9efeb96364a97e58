"""Reads projected onto the reference (numpy, no per-base loop).

Each read is projected through its CIGAR onto the reference: row ``j`` of read ``i`` holds the
base (code 0..3, 4 = N or below ``min_baseq``), ``DELETION`` or ``NO_BASE`` (N-skip) at
reference position ``start_i + j``. Insertions are flagged on their anchor base (the reference
base before them) and kept as events with their sequence, deletions likewise with their length,
for the allele resolver. The projection of all reads of a chunk is a handful of numpy ops over
the concatenated CIGARs.
"""

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dvcall.encoding import (
    ALIGNED_OPS,
    CIGAR_DELETION,
    CIGAR_INSERTION,
    CIGAR_SOFT_CLIP,
    CODE_LETTERS,
    DELETION,
    N_CODE,
    NO_BASE,
    QUERY_OPS,
    REFERENCE_OPS,
)
from dvcall.features.shapes import width_bucket
from dvcall.io.alignments import ReadFilter, Records, records_from_lists
from dvcall.io.bam_decoder import ranges


@dataclass
class ProjectedReads:
    """Reads of one chunk projected onto the reference (unpadded)."""

    codes: np.ndarray  # (R, W) int8
    quality: np.ndarray  # (R, W) uint8
    starts: np.ndarray  # (R,) int64 reference start (0-based)
    ends: np.ndarray  # (R,) int64 reference end (exclusive)
    strand: np.ndarray  # (R,) uint8, 1 = reverse
    mapq: np.ndarray  # (R,) uint8
    # indel events for the allele resolver
    ins_anchor: np.ndarray  # (I,) reference position of the base before the insertion
    ins_seq: list[str]
    ins_read: np.ndarray  # (I,)
    del_anchor: np.ndarray  # (D,) reference position of the base before the deletion
    del_length: np.ndarray  # (D,)
    del_read: np.ndarray  # (D,)
    # the aligned base next to each soft clip: read row and column
    clip_read: np.ndarray
    clip_col: np.ndarray
    # the reads as sequenced (soft clips and inserted bases included), for local realignment
    query_codes: np.ndarray | None = None  # (Q,) int8, all reads concatenated
    query_quals: np.ndarray | None = None  # (Q,) uint8
    query_start: np.ndarray | None = None  # (R,) index of each read's first base
    query_length: np.ndarray | None = None  # (R,)
    # aligned (M/=/X) blocks in read order: read row, first column, first query index, length
    block_read: np.ndarray | None = None
    block_col: np.ndarray | None = None
    block_query: np.ndarray | None = None
    block_length: np.ndarray | None = None
    # the two mates of one fragment share a key (-1: no mate here): io.alignments.mate_keys
    mate_key: np.ndarray | None = None
    ins_query: np.ndarray | None = None  # (I,) query index of each insertion's first base

    @property
    def num_reads(self) -> int:
        return len(self.starts)


def project_records(records: Records, read_filter: ReadFilter) -> ProjectedReads:
    return _project(records, read_filter.min_baseq)


def project(starts: np.ndarray, cigars: list, seqs: list[str], quals: list,
            strand: np.ndarray, mapq: np.ndarray, min_baseq: int = 0) -> ProjectedReads:
    """Project reads given as Python values (CIGAR tuples, sequences, quality bytes)."""
    return _project(records_from_lists(starts, cigars, seqs, quals, strand, mapq), min_baseq)


def _project(records: Records, min_baseq: int = 0) -> ProjectedReads:
    """Vectorised CIGAR projection of many reads onto reference coordinates."""
    n = records.num_reads
    starts, strand, mapq = records.starts, records.strand, records.mapq
    if n == 0:
        empty = np.zeros((0, 1), np.int8)
        none = np.zeros(0, np.int64)
        return ProjectedReads(empty, empty.astype(np.uint8), none, none, none.astype(np.uint8),
                              none.astype(np.uint8), none, [], none, none, none, none, none,
                              none, none.astype(np.int8), none.astype(np.uint8), none, none,
                              none, none, none, none)
    ops, lens, op_counts = records.cigar_ops
    read_of_op = np.repeat(np.arange(n), op_counts)
    op_first = np.cumsum(op_counts) - op_counts  # index of each read's first op

    def offsets(consumed: np.ndarray) -> np.ndarray:
        """Exclusive cumulative sum of consumed lengths, restarted at each read."""
        c = np.cumsum(consumed)
        before = c - consumed
        return before - (c - consumed)[op_first][read_of_op]

    ref_len = lens * REFERENCE_OPS[ops]
    q_len = lens * QUERY_OPS[ops]
    ref_off = offsets(ref_len)
    q_off = offsets(q_len)
    spans = np.bincount(read_of_op, weights=ref_len, minlength=n).astype(np.int64)
    width = width_bucket(int(spans.max()))

    seq_lens = records.query_lengths
    seq_start = np.cumsum(seq_lens) - seq_lens
    all_codes = sequenced_codes = records.query_codes
    all_quals = records.query_quals
    if min_baseq > 0:
        all_codes = np.where(all_quals < min_baseq, N_CODE, all_codes).astype(np.int8)

    codes = np.full((n, width), NO_BASE, np.int8)
    quality = np.zeros((n, width), np.uint8)

    def expand(mask: np.ndarray):
        """(read, column, query index) of every base covered by the ops in ``mask``."""
        sel = np.flatnonzero(mask)
        lengths = lens[sel]
        total = int(lengths.sum())
        op_idx = np.repeat(sel, lengths)
        within = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        read = read_of_op[op_idx]
        return read, ref_off[op_idx] + within, seq_start[read] + q_off[op_idx], within

    # Most reads align end to end with one M op: copy their bases as whole rows.
    simple = (op_counts == 1) & ALIGNED_OPS[ops[op_first]]
    rows = np.flatnonzero(simple)
    if len(rows):
        longest = int(seq_lens[rows].max())
        # each read's bases are one contiguous slice: gather whole rows of a sliding window
        # view (a row copy each) instead of indexing every base
        first = seq_start[rows]
        row_codes = sliding_window_view(np.concatenate(
            [all_codes, np.full(longest, NO_BASE, np.int8)]), longest)[first]
        row_quals = sliding_window_view(np.concatenate(
            [all_quals, np.zeros(longest, np.uint8)]), longest)[first]
        if (seq_lens[rows] < longest).any():
            inside = np.arange(longest)[None, :] < seq_lens[rows][:, None]
            row_codes = np.where(inside, row_codes, NO_BASE)
            row_quals = np.where(inside, row_quals, 0)
        codes[rows, :longest] = row_codes
        quality[rows, :longest] = row_quals
    read, col, q0, within = expand(ALIGNED_OPS[ops] & ~simple[read_of_op])
    qi = q0 + within
    codes[read, col] = all_codes[qi]
    quality[read, col] = all_quals[qi]

    is_del = ops == CIGAR_DELETION
    read, col, q0, _ = expand(is_del)
    codes[read, col] = DELETION
    # a deletion carries the quality of the query base before it (after it, at a read's start)
    quality[read, col] = all_quals[np.maximum(q0 - 1, seq_start[read])]

    ins_ops = np.flatnonzero((ops == CIGAR_INSERTION) & (ref_off > 0))
    ins_read = read_of_op[ins_ops]
    ins_anchor_col = ref_off[ins_ops] - 1
    q0 = seq_start[ins_read] + q_off[ins_ops]
    ins_lengths = lens[ins_ops]
    inserted = CODE_LETTERS[sequenced_codes[ranges(q0, ins_lengths)]].tobytes().decode()
    ends = np.cumsum(ins_lengths).tolist()
    ins_seq = [inserted[e - k : e] for e, k in zip(ends, ins_lengths.tolist())]

    clip_ops = np.flatnonzero(ops == CIGAR_SOFT_CLIP)
    clip_read = read_of_op[clip_ops]
    clip_col = np.clip(np.minimum(ref_off[clip_ops], spans[clip_read] - 1), 0, width - 1)

    del_ops = np.flatnonzero(is_del & (ref_off > 0))
    blocks = np.flatnonzero(ALIGNED_OPS[ops])
    return ProjectedReads(
        codes=codes, quality=quality, starts=starts, ends=starts + spans, strand=strand, mapq=mapq,
        ins_anchor=starts[ins_read] + ins_anchor_col, ins_seq=ins_seq, ins_read=ins_read,
        del_anchor=starts[read_of_op[del_ops]] + ref_off[del_ops] - 1,
        del_length=lens[del_ops], del_read=read_of_op[del_ops],
        clip_read=clip_read, clip_col=clip_col,
        query_codes=all_codes, query_quals=all_quals, query_start=seq_start,
        query_length=seq_lens, block_read=read_of_op[blocks], block_col=ref_off[blocks],
        block_query=seq_start[read_of_op[blocks]] + q_off[blocks], block_length=lens[blocks],
        mate_key=records.mate_key, ins_query=q0,
    )
