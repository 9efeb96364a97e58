"""BAM/CRAM regions -> read tensors in reference coordinates (pysam + numpy, no per-base loop).

Each read is projected through its CIGAR onto the reference: row ``j`` of read ``i`` holds the
base (code 0..3, 4 = N or below ``min_baseq``), ``DELETION`` or ``NO_BASE`` (N-skip) at
reference position ``start_i + j``. Insertions are flagged on their anchor base (the reference
base before them) and kept as events with their sequence, deletions likewise with their length,
for the allele resolver. The projection of all reads of a chunk is a handful of numpy ops over
the concatenated CIGARs.
"""

from dataclasses import dataclass
from zlib import crc32

import numpy as np
import pysam
from numpy.lib.stride_tricks import sliding_window_view

from dvcall.bam_decoder import REFERENCE_OPS, BamDecoder, DecodedReads, ranges
from dvcall.shapes import width_bucket

DELETION = 5
NO_BASE = 6
DEFAULT_BASEQ = 30  # for reads stored without base qualities
BASE_CODE = np.full(256, 4, dtype=np.int8)  # ASCII -> 0..3 for ACGT (either case), else 4
for _i, _b in enumerate(b"ACGT"):
    BASE_CODE[_b] = _i
    BASE_CODE[ord(chr(_b).lower())] = _i
CODE_LETTERS = np.frombuffer(b"ACGTN", np.uint8)  # base code -> letter (N for code 4)

# CIGAR op (M I D N S H P = X, then ops the spec does not define) -> consumes reference /
# consumes query / aligns a base
_REF = REFERENCE_OPS
_QUERY = np.zeros(16, bool)
_QUERY[[0, 1, 4, 7, 8]] = True
_ALIGNED = np.zeros(16, bool)
_ALIGNED[[0, 7, 8]] = True
SKIP_FLAGS = 0x4 | 0x100 | 0x200 | 0x400 | 0x800  # unmapped, secondary, QC-fail, dup, supp.


@dataclass
class ReadFilter:
    min_mapq: int = 1
    min_baseq: int = 0
    max_depth: int = 1000


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

    @property
    def num_reads(self) -> int:
        return len(self.starts)


def _keep_by_depth(starts: np.ndarray, ends: np.ndarray, names, max_depth: int):
    """Deterministic downsampling: keep a read when a hash of its name falls under
    ``max_depth / depth`` at its start, so mates and reruns make the same choice.
    ``names()`` gives the reads' names (called only when some position is too deep)."""
    if len(starts) == 0:
        return np.ones(0, bool)
    lo = starts.min()
    diff = np.zeros(ends.max() - lo + 2, np.int64)
    np.add.at(diff, starts - lo, 1)
    np.add.at(diff, ends - lo, -1)
    depth = np.cumsum(diff)[starts - lo]
    if depth.max() <= max_depth:
        return np.ones(len(starts), bool)
    hashes = np.array([crc32(n.encode()) for n in names()], np.float64) / 2.0**32
    return hashes < max_depth / np.maximum(depth, 1)


@dataclass
class Records:
    """The usable reads of a region as read from the file (downsampled where too deep),
    before projection: per-read fields and the concatenated CIGARs, bases and qualities.
    Reading and projecting are separate stages so each can be timed (``--timings``)."""

    starts: np.ndarray  # (R,) int64
    strand: np.ndarray  # (R,) uint8
    mapq: np.ndarray  # (R,) uint8
    cigar_ops: tuple  # (ops, lengths, ops per read), all reads' CIGARs concatenated
    query_codes: np.ndarray  # (Q,) int8 base codes of all reads, concatenated
    query_quals: np.ndarray  # (Q,) uint8
    query_lengths: np.ndarray  # (R,) int64

    @property
    def num_reads(self) -> int:
        return len(self.starts)

    def take(self, idx: np.ndarray) -> "Records":
        """The records at rows ``idx`` (sorted)."""
        ops, lengths, per_read = self.cigar_ops
        first_op = np.cumsum(per_read) - per_read
        op_sel = ranges(first_op[idx], per_read[idx])
        first_base = np.cumsum(self.query_lengths) - self.query_lengths
        base_sel = ranges(first_base[idx], self.query_lengths[idx])
        return Records(self.starts[idx], self.strand[idx], self.mapq[idx],
                       (ops[op_sel], lengths[op_sel], per_read[idx]),
                       self.query_codes[base_sel], self.query_quals[base_sel],
                       self.query_lengths[idx])


def records_from_lists(starts, cigars: list, seqs: list[str], quals: list, strand,
                       mapq) -> Records:
    """Records from per-read Python values (CIGAR tuples, sequence strings, quality bytes)."""
    n = len(starts)
    return Records(np.asarray(starts, np.int64), np.asarray(strand, np.uint8),
                   np.asarray(mapq, np.uint8), _flatten_cigars(cigars),
                   BASE_CODE[np.frombuffer("".join(seqs).encode(), np.uint8)],
                   np.frombuffer(b"".join(quals), np.uint8).copy(),
                   np.fromiter((len(s) for s in seqs), np.int64, n))


class AlignmentSource:
    """One process's reader of a BAM/CRAM, giving regions as :class:`Records`. A BAM with a
    ``.bai`` beside it is decoded by :mod:`dvcall.bam_decoder` (no Python object per read);
    CRAM and the rest go through pysam. Both give the same records."""

    def __init__(self, bam: pysam.AlignmentFile, decode: bool = True):
        self.bam = bam
        self.decoder = BamDecoder.open(bam) if decode else None

    def records(self, contig: str, start: int, end: int, read_filter: ReadFilter) -> Records:
        """Every usable read overlapping ``[start, end)``, downsampled to ``max_depth``."""
        start = max(start, 0)

        def decode(names: bool = False) -> DecodedReads:
            decoded = None
            if self.decoder is not None:
                decoded = self.decoder.decode(contig, start, end, SKIP_FLAGS,
                                              read_filter.min_mapq, DEFAULT_BASEQ, names)
            return decoded if decoded is not None else _fetch(self.bam, contig, start, end,
                                                              read_filter, names)

        decoded = decode()
        records = Records(decoded.starts, ((decoded.flags & 0x10) > 0).astype(np.uint8),
                          decoded.mapq, (decoded.cigar_ops, decoded.cigar_lengths,
                                         decoded.ops_per_read),
                          decoded.codes, decoded.quals, decoded.query_lengths)
        # names are only needed to downsample, which is rare: a second pass
        keep = _keep_by_depth(records.starts,
                              records.starts + _reference_spans(records.cigar_ops),
                              lambda: decode(names=True).names, read_filter.max_depth)
        return records if keep.all() else records.take(np.flatnonzero(keep))

    def close(self) -> None:
        if self.decoder is not None:
            self.decoder.close()
        self.bam.close()


def project_records(records: Records, read_filter: ReadFilter) -> ProjectedReads:
    return _project(records, read_filter.min_baseq)


def _fetch(bam, contig, start, end, read_filter, names=False) -> DecodedReads:
    """The pysam path: one pass over the records, keeping only the fields the projection
    needs (each attribute costs a conversion per read)."""
    starts, flags, mapqs, cigars, seqs, quals, read_names = [], [], [], [], [], [], []
    min_mapq = read_filter.min_mapq
    for read in bam.fetch(contig, start, end):
        flag = read.flag
        mapq = read.mapping_quality
        if flag & SKIP_FLAGS or mapq < min_mapq:
            continue
        cigar = read.cigartuples
        seq = read.query_sequence
        if not cigar or not seq:
            continue
        qual = read.query_qualities
        starts.append(read.reference_start)
        flags.append(flag)
        mapqs.append(mapq)
        cigars.append(cigar)
        seqs.append(seq)
        quals.append(qual if qual is not None else bytes([DEFAULT_BASEQ]) * len(seq))
        if names:
            read_names.append(read.query_name)
    records = records_from_lists(starts, cigars, seqs, quals, np.zeros(len(starts)), mapqs)
    ops, lengths, per_read = records.cigar_ops
    return DecodedReads(records.starts, np.asarray(flags, np.uint16), records.mapq, ops,
                        lengths, per_read, records.query_codes, records.query_quals,
                        records.query_lengths, read_names)


def _flatten_cigars(cigars: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ops, lengths, ops per read) of many reads' CIGAR tuples, concatenated."""
    n = len(cigars)
    op_counts = np.fromiter(map(len, cigars), np.int64, n)
    flat = np.fromiter((x for c in cigars for pair in c for x in pair), np.int64,
                       2 * int(op_counts.sum())).reshape(-1, 2)
    return flat[:, 0], flat[:, 1], op_counts


def _reference_spans(cigar_ops) -> np.ndarray:
    """Reference bases each read covers (its aligned end minus its start)."""
    ops, lens, op_counts = cigar_ops
    read_of_op = np.repeat(np.arange(len(op_counts)), op_counts)
    return np.bincount(read_of_op, weights=lens * _REF[ops],
                       minlength=len(op_counts)).astype(np.int64)


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

    ref_len = lens * _REF[ops]
    q_len = lens * _QUERY[ops]
    ref_off = offsets(ref_len)
    q_off = offsets(q_len)
    spans = np.bincount(read_of_op, weights=ref_len, minlength=n).astype(np.int64)
    width = width_bucket(int(spans.max()))

    seq_lens = records.query_lengths
    seq_start = np.cumsum(seq_lens) - seq_lens
    all_codes = sequenced_codes = records.query_codes
    all_quals = records.query_quals
    if min_baseq > 0:
        all_codes = np.where(all_quals < min_baseq, 4, all_codes).astype(np.int8)

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
    simple = (op_counts == 1) & _ALIGNED[ops[op_first]]
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
    read, col, q0, within = expand(_ALIGNED[ops] & ~simple[read_of_op])
    qi = q0 + within
    codes[read, col] = all_codes[qi]
    quality[read, col] = all_quals[qi]

    is_del = ops == 2
    read, col, q0, _ = expand(is_del)
    codes[read, col] = DELETION
    # a deletion carries the quality of the query base before it (after it, at a read's start)
    quality[read, col] = all_quals[np.maximum(q0 - 1, seq_start[read])]

    ins_ops = np.flatnonzero((ops == 1) & (ref_off > 0))
    ins_read = read_of_op[ins_ops]
    ins_anchor_col = ref_off[ins_ops] - 1
    q0 = seq_start[ins_read] + q_off[ins_ops]
    ins_lengths = lens[ins_ops]
    inserted = CODE_LETTERS[sequenced_codes[ranges(q0, ins_lengths)]].tobytes().decode()
    ends = np.cumsum(ins_lengths).tolist()
    ins_seq = [inserted[e - k : e] for e, k in zip(ends, ins_lengths.tolist())]

    clip_ops = np.flatnonzero(ops == 4)
    clip_read = read_of_op[clip_ops]
    clip_col = np.clip(np.minimum(ref_off[clip_ops], spans[clip_read] - 1), 0, width - 1)

    del_ops = np.flatnonzero(is_del & (ref_off > 0))
    blocks = np.flatnonzero(_ALIGNED[ops])
    return ProjectedReads(
        codes=codes, quality=quality, starts=starts, ends=starts + spans, strand=strand, mapq=mapq,
        ins_anchor=starts[ins_read] + ins_anchor_col, ins_seq=ins_seq, ins_read=ins_read,
        del_anchor=starts[read_of_op[del_ops]] + ref_off[del_ops] - 1,
        del_length=lens[del_ops], del_read=read_of_op[del_ops],
        clip_read=clip_read, clip_col=clip_col,
        query_codes=all_codes, query_quals=all_quals, query_start=seq_start,
        query_length=seq_lens, block_read=read_of_op[blocks], block_col=ref_off[blocks],
        block_query=seq_start[read_of_op[blocks]] + q_off[blocks], block_length=lens[blocks],
    )
