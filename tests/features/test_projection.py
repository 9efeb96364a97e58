"""The CIGAR projection against pysam's own get_aligned_pairs, on random reads and CIGARs."""

import numpy as np
import pysam
from hypothesis import given, settings
from hypothesis import strategies as st

from dvcall.encoding import DELETION, NO_BASE
from dvcall.features.projection import project

OPS = {"M": 0, "I": 1, "D": 2, "N": 3, "S": 4, "=": 7, "X": 8}


@st.composite
def random_read(draw):
    body = draw(st.lists(st.tuples(st.sampled_from("MIDN=X"), st.integers(1, 12)),
                         min_size=1, max_size=8))
    body = [("M", draw(st.integers(1, 20)))] + body + [("M", draw(st.integers(1, 20)))]
    if draw(st.booleans()):
        body = [("S", draw(st.integers(1, 10)))] + body
    if draw(st.booleans()):
        body = body + [("S", draw(st.integers(1, 10)))]
    cigar = [(OPS[op], n) for op, n in body]
    query_len = sum(n for op, n in cigar if op in (0, 1, 4, 7, 8))
    seq = "".join(draw(st.lists(st.sampled_from("ACGTN"), min_size=query_len,
                                max_size=query_len)))
    quals = draw(st.lists(st.integers(0, 60), min_size=query_len, max_size=query_len))
    start = draw(st.integers(0, 500))
    return start, cigar, seq, quals


def as_segment(start, cigar, seq, quals, header):
    seg = pysam.AlignedSegment(header)
    seg.query_name = "r"
    seg.reference_id = 0
    seg.reference_start = start
    seg.cigartuples = cigar
    seg.query_sequence = seq
    seg.query_qualities = pysam.qualitystring_to_array("".join(chr(q + 33) for q in quals))
    return seg


@settings(max_examples=60, deadline=None)
@given(st.lists(random_read(), min_size=1, max_size=6))
def test_projection_matches_get_aligned_pairs(reads):
    header = pysam.AlignmentHeader.from_dict({"SQ": [{"SN": "c", "LN": 10_000}]})
    starts = np.array([r[0] for r in reads])
    projected = project(starts, [r[1] for r in reads], [r[2] for r in reads],
                        [bytes(r[3]) for r in reads], np.zeros(len(reads), np.uint8),
                        np.full(len(reads), 60, np.uint8))
    for i, (start, cigar, seq, quals) in enumerate(reads):
        seg = as_segment(start, cigar, seq, quals, header)
        expected = np.full(projected.codes.shape[1], NO_BASE)
        expected_q = np.zeros(projected.codes.shape[1], int)
        for q, p in seg.get_aligned_pairs():
            if p is None:
                continue
            col = p - start
            if q is None:
                if seg.cigartuples and _op_at(seg, p) == 2:
                    expected[col] = DELETION
                continue
            expected[col] = "ACGTN".index(seq[q])
            expected_q[col] = quals[q]
        np.testing.assert_array_equal(projected.codes[i], expected)
        aligned = expected < 4
        np.testing.assert_array_equal(projected.quality[i][aligned], expected_q[aligned])
        # insertions are anchored on the reference base before them
        ins_cols = sorted(int(a - start) for a, r in zip(projected.ins_anchor, projected.ins_read)
                          if r == i)
        expected_ins, ref_at = [], 0
        for op, n in cigar:
            if op == 1 and ref_at > 0:
                expected_ins.append(ref_at - 1)
            ref_at += n if op in (0, 2, 3, 7, 8) else 0
        assert ins_cols == expected_ins
        span = ref_at
        clips = set()
        if cigar[0][0] == 4:
            clips.add(0)
        if cigar[-1][0] == 4:
            clips.add(span - 1)
        assert sorted(clips) == sorted(set(projected.clip_col[projected.clip_read == i].tolist()))
    # events: one per I / D op that follows at least one reference base
    n_ins = sum(1 for r in reads for j, (op, _) in enumerate(r[1]) if op == 1)
    assert len(projected.ins_seq) == n_ins
    assert (projected.codes == DELETION).sum() == sum(n for r in reads for op, n in r[1]
                                                      if op == 2)


def _op_at(seg, ref_pos):
    """CIGAR op covering a reference position (D or N both give q=None in aligned pairs)."""
    pos = seg.reference_start
    for op, n in seg.cigartuples:
        if op in (0, 2, 3, 7, 8):
            if pos <= ref_pos < pos + n:
                return op
            pos += n
    return None


def test_bases_at_counts_a_fragment_once_where_its_mates_overlap():
    """Two mates over one base show it once, the better-quality base kept; a read of
    another fragment still counts."""
    from dvcall.features.counts import bases_at

    seq = "ACGTACGTAC" * 3
    reads = project(np.array([0, 5, 8]), [[(0, 20)], [(0, 20)], [(0, 20)]],
                    [seq[:20], seq[5:25].replace("A", "C"), seq[8:28]],
                    [bytes([20] * 20), bytes([35] * 20), bytes([30] * 20)],
                    np.zeros(3, np.uint8), np.full(3, 60, np.uint8))
    reads.mate_key = np.array([7, 7, -1])
    codes, quality = bases_at(reads, 0, 10)  # A (Q20) and its mate's C (Q35); A (Q30)
    assert sorted(zip(codes.tolist(), quality.tolist())) == [(0, 30), (1, 35)]
    reads.mate_key = None
    assert len(bases_at(reads, 0, 10)[0]) == 3
