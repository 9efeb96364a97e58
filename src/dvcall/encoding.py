"""Shared encodings: base codes, CIGAR op tables and read-flag bits.

The numpy side (reading, features, post-processing) and the JAX side (the operators) both use
these, so a code means the same thing everywhere.
"""

import numpy as np

# Base codes of projected reads and of the reference: 0..3 = A C G T, then:
N_CODE = 4  # N, another IUPAC code, or a base below --min-baseq
DELETION = 5  # the read has a deletion over this reference base
NO_BASE = 6  # the read does not cover this base (before/after it, or an N-skip)
BASES = "ACGT"
BASE_CODE = np.full(256, N_CODE, dtype=np.int8)  # ASCII -> 0..3 for ACGT (either case), else 4
for _i, _b in enumerate(BASES.encode()):
    BASE_CODE[_b] = _i
    BASE_CODE[ord(chr(_b).lower())] = _i
CODE_LETTERS = np.frombuffer(b"ACGTN", np.uint8)  # base code -> letter (N for code 4)
# 4-bit BAM base codes "=ACMGRSVTWYHKDBN" -> base codes
BAM_NIBBLE_CODE = np.full(16, N_CODE, np.int8)
BAM_NIBBLE_CODE[[1, 2, 4, 8]] = [0, 1, 2, 3]

# CIGAR op (M I D N S H P = X, then ops the spec does not define) -> consumes reference /
# consumes query / aligns a base
REFERENCE_OPS = np.zeros(16, bool)
REFERENCE_OPS[[0, 2, 3, 7, 8]] = True
QUERY_OPS = np.zeros(16, bool)
QUERY_OPS[[0, 1, 4, 7, 8]] = True
ALIGNED_OPS = np.zeros(16, bool)
ALIGNED_OPS[[0, 7, 8]] = True
CIGAR_INSERTION, CIGAR_DELETION, CIGAR_SOFT_CLIP = 1, 2, 4

# SAM flags of reads never used: unmapped, secondary, QC-fail, duplicate, supplementary
SKIP_FLAGS = 0x4 | 0x100 | 0x200 | 0x400 | 0x800
REVERSE_FLAG = 0x10
PAIRED_FLAG = 0x1

# Bits of the evidence input's per-base ``read_flags``
INSERTION_FLAG, DELETION_START_FLAG, SOFT_CLIP_FLAG = 1, 2, 4


def read_is_usable(flag: int, mapq: int, min_mapq: int) -> bool:
    """Whether a read counts: a primary, mapped, passing, non-duplicate alignment whose MAPQ
    reaches ``min_mapq`` (the BAM decoder applies the same test to whole arrays)."""
    return not flag & SKIP_FLAGS and mapq >= min_mapq
