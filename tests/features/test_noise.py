"""The indel noise a chunk's reads show where no indel looks real, against a count by hand."""

import numpy as np

from dvcall.features.indels import normalize_indels
from dvcall.features.noise import INDEL_PRIOR_BASES, indel_noise_events, indel_noise_rate
from dvcall.features.projection import project

RNG = np.random.default_rng(3)
REF = "".join(RNG.choice(list("ACGT"), 400))


def _reads(specs):
    """(start, cigar) per read, bases from REF with any inserted bases as 'T'."""
    starts, cigars, seqs = [], [], []
    for start, cigar in specs:
        seq, at = [], start
        for op, n in cigar:
            if op == 0:
                seq.append(REF[at : at + n])
                at += n
            elif op == 1:
                seq.append("T" * n)
            else:
                at += n
        starts.append(start), cigars.append(cigar), seqs.append("".join(seq))
    return project(np.array(starts), cigars, seqs, [bytes([30] * len(s)) for s in seqs],
                   np.zeros(len(seqs), np.uint8), np.full(len(seqs), 60, np.uint8))


def test_lone_indels_count_and_a_real_one_does_not():
    plain = [(s, [(0, 100)]) for s in range(0, 300, 20)]  # 15 reads without indels
    lone = [(10, [(0, 50), (2, 1), (0, 50)]),  # a 1-base deletion in one read
            (200, [(0, 30), (1, 2), (0, 70)])]  # a 2-base insertion in one read
    real = [(s, [(0, 150 - s), (2, 3), (0, 100 - 150 + s)]) for s in (100, 110, 120)]
    reads = _reads(plain + lone + real)
    evidence = normalize_indels(reads, REF, 0)
    events, bases = indel_noise_events(reads, evidence, 0, len(REF))
    assert events == 2  # the three reads' deletion looks real (>= 2 reads, >= 20% of depth)
    assert bases == float((reads.ends - reads.starts).sum())
    assert indel_noise_rate(reads, evidence, 0, len(REF)) == (2 + 1) / (bases + INDEL_PRIOR_BASES)


def test_a_chunk_of_reads_without_indels_keeps_the_prior_rate():
    reads = _reads([(s, [(0, 100)]) for s in range(0, 300, 50)])
    evidence = normalize_indels(reads, REF, 0)
    assert indel_noise_rate(reads, evidence, 0, len(REF)) == 1 / (600 + INDEL_PRIOR_BASES)
