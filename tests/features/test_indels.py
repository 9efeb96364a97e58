"""Indel evidence from the reads: insertions misread at low-quality bases count as the
allele the other reads of that insertion show."""

import numpy as np

from dvcall.features.indels import MISREAD_INSERTED_QUALITY, normalize_indels
from dvcall.features.projection import project

RNG = np.random.default_rng(11)
LEFT = "".join(RNG.choice(list("ACGT"), 60)) + "T"
RIGHT = "G" + "".join(RNG.choice(list("ACGT"), 59))
REF = LEFT + RIGHT
INSERTED = "ACACATATC"  # does not end in the anchor base T: no normalising shift
ANCHOR = len(LEFT) - 1


def _insertion_reads(insertions: list[tuple[str, list[int]]]):
    """One read per (inserted sequence, its base qualities), 40 bases either side."""
    starts, cigars, seqs, quals = [], [], [], []
    for inserted, inserted_quals in insertions:
        starts.append(ANCHOR + 1 - 40)
        cigars.append([(0, 40), (1, len(inserted)), (0, 40)])
        seqs.append(LEFT[-40:] + inserted + RIGHT[:40])
        quals.append(bytes([30] * 40 + inserted_quals + [30] * 40))
    n = len(starts)
    return project(np.array(starts), cigars, seqs, quals, np.zeros(n, np.uint8),
                   np.full(n, 60, np.uint8))


def _alleles(reads):
    return sorted(alt for _, alt in normalize_indels(reads, REF, 0).alleles)


def test_low_quality_misreads_of_one_insertion_count_as_that_insertion():
    low = MISREAD_INSERTED_QUALITY - 18
    good = [30] * len(INSERTED)
    reads = _insertion_reads([
        (INSERTED, good),
        ("ACAGATATC", good[:3] + [low] + good[4:]),
        ("ACTCATATC", good[:2] + [low] + good[3:]),
        ("ACACGTATC", good[:4] + [low] + good[5:]),
    ])
    assert _alleles(reads) == ["T" + INSERTED] * 4


def test_a_second_insertion_read_at_good_quality_stays_its_own_allele():
    good = [MISREAD_INSERTED_QUALITY + 10] * len(INSERTED)
    reads = _insertion_reads([(INSERTED, good), (INSERTED, good), ("ACAGATATC", good)])
    assert _alleles(reads) == ["T" + INSERTED, "T" + INSERTED, "TACAGATATC"]


def test_two_reads_disagreeing_keep_the_better_base():
    good = [30] * len(INSERTED)
    reads = _insertion_reads([(INSERTED, good), ("ACAGATATC", good[:3] + [2] + good[4:])])
    assert _alleles(reads) == ["T" + INSERTED] * 2


def test_a_misread_insertion_placed_elsewhere_in_its_repeat_counts_as_the_repeats_allele():
    # one more AC unit in an (AC)5 repeat; the aligner placed the insertion at three places,
    # and one read shows AG, its G at Q2
    left = LEFT[:-1] + "T"
    ref = left + "AC" * 5 + RIGHT
    hap = left + "AC" * 6 + RIGHT
    t = len(left) - 1  # the normalised anchor
    starts, cigars, seqs, quals = [], [], [], []
    for raw, misread in ((t, False), (t, False), (t + 1, False), (t + 2, True)):
        seq = list(hap[raw + 1 - 40 : raw + 1 + 2 + 40])
        q = [30] * len(seq)
        if misread:
            seq[41], q[41] = "G", 2  # the insertion's second base (hap: C)
        starts.append(raw + 1 - 40)
        cigars.append([(0, 40), (1, 2), (0, 40)])
        seqs.append("".join(seq))
        quals.append(bytes(q))
    reads = project(np.array(starts), cigars, seqs, quals, np.zeros(4, np.uint8),
                    np.full(4, 60, np.uint8))
    evidence = normalize_indels(reads, ref, 0)
    assert set(evidence.anchor.tolist()) == {t}
    assert evidence.alleles == [("T", "TAC")] * 4
