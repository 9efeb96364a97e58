"""Local realignment: reads that end near an indel count for the haplotype they carry, however
the aligner wrote them (CIGAR indel, mismatches at the end, soft clip); and the repeat spans
it relies on."""

import numpy as np
import pysam
from hypothesis import given, settings
from hypothesis import strategies as st

from dvcall.encoding import BASE_CODE
from dvcall.features.indels import normalize_indels
from dvcall.features.projection import project
from dvcall.features.realign import (
    _clear_deleted_bases,
    _Group,
    aligned_query_index,
    realign_indels,
)
from dvcall.features.repeats import MAX_REPEAT_UNIT, repeat_span

RNG = np.random.default_rng(7)
LEFT = "".join(RNG.choice(list("ACGT"), 119)) + "A"
RIGHT = "".join(RNG.choice(list("ACT"), 120))  # no G: the repeat below ends cleanly
REF = LEFT + "GGGG" + RIGHT  # anchor: the last base of LEFT (window position 119)
ALT = LEFT + "GGGGGG" + RIGHT  # hom insertion of GG in the G run
ANCHOR = len(LEFT) - 1


def _read(hap: str, start: int, length: int, cigar: list[tuple[int, int]]):
    return start, cigar, hap[start : start + length], bytes([30] * length)


def _reads():
    reads = [
        # three reads with the insertion in their CIGAR (placed at the run's end, as bwa may)
        _read(ALT, 60, 100, [(0, 64), (1, 2), (0, 34)]),
        _read(ALT, 80, 100, [(0, 44), (1, 2), (0, 54)]),
        _read(ALT, 90, 100, [(0, 34), (1, 2), (0, 64)]),
        # alt reads ending just past the run: all M (mismatches at the end) or soft-clipped
        _read(ALT, 30, 97, [(0, 97)]),
        _read(ALT, 31, 97, [(0, 94), (4, 3)]),
        # alt read whose start is soft-clipped up to the run: anchored on its right side
        (ANCHOR + 1, [(4, 5), (0, 60)], ALT[ANCHOR - 3 : ANCHOR + 62], bytes([30] * 65)),
        # a reference read that spans everything, and one that ends inside the run
        _read(REF, 50, 120, [(0, 120)]),
        _read(REF, 30, 92, [(0, 92)]),
    ]
    return reads


def _project(reads):
    """(start, cigar, sequence, qualities) tuples -> ProjectedReads (forward strand, MAPQ 60)."""
    return project(np.array([r[0] for r in reads]), [r[1] for r in reads],
                   [r[2] for r in reads], [r[3] for r in reads],
                   np.zeros(len(reads), np.uint8), np.full(len(reads), 60, np.uint8))


def _realign(reads, ref):
    """The caller's steps: project, left-normalise the indels, realign around them."""
    projected = _project(reads)
    evidence = normalize_indels(projected, ref, 0)
    ref_codes = BASE_CODE[np.frombuffer(ref.encode(), np.uint8)]
    return evidence, realign_indels(projected, evidence, ref, 0, repeat_span(ref_codes))


def test_reads_near_an_insertion_are_assigned_to_the_haplotype_they_carry():
    reads = _reads()
    evidence, support = _realign(reads, REF)
    assert {a for a in evidence.anchor.tolist()} == {ANCHOR}
    assert support.allele_reads == {(ANCHOR, "A", "AGG"): 6}
    assert support.depths(ANCHOR) == (1, 6)  # the read ending inside the run counts for none
    assert support.alt.sum() == 6 and support.ref.sum() == 1


def test_single_read_indels_are_not_candidates():
    reads = _reads()[:1] + _reads()[6:]
    support = _realign(reads, REF)[1]
    assert support.allele_reads == {} and support.depths(ANCHOR) is None


def test_aligned_query_index_matches_get_aligned_pairs():
    header = pysam.AlignmentHeader.from_dict({"SQ": [{"SN": "c", "LN": 10_000}]})
    reads = _reads()
    projected = _project(reads)
    key = projected.block_read.astype(np.int64) * (1 << 32) + projected.block_col
    rows = np.arange(len(reads))
    for position in range(20, 260, 7):
        got = aligned_query_index(projected, key, rows, position)
        for i, (start, cigar, seq, _) in enumerate(reads):
            seg = pysam.AlignedSegment(header)
            seg.reference_start, seg.cigartuples, seg.query_sequence = start, cigar, seq
            pairs = {p: q for q, p in seg.get_aligned_pairs(matches_only=True)}
            expected = pairs.get(position, -1)
            if expected >= 0:
                expected += int(projected.query_start[i])
            assert got[i] == expected, (i, position)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=80), st.integers(1, 4))
def test_repeat_span_matches_a_direct_scan(codes, alphabet):
    ref = np.array([c % (alphabet + 1) if alphabet < 4 else c for c in codes], np.int8)
    length = len(ref)
    expected = np.ones(length, np.int32)
    for p in range(length):
        for unit in range(1, MAX_REPEAT_UNIT + 1):
            j = min(p + 1 + unit, length - 1)
            run = 0
            while j < length and j >= unit and ref[j] == ref[j - unit] and ref[j] < 4:
                run, j = run + 1, j + 1
            if run:
                expected[p] = max(expected[p], unit + run)
    np.testing.assert_array_equal(repeat_span(ref), expected)


def test_a_read_whose_aligner_misplaced_the_deletion_at_its_start_counts_for_the_deletion():
    # a hom deletion of TAG after ...TATA (bwa's placement in a simulated set): one read starts
    # two bases early in the TA repeat, and bwa wrote it as 4M1D... from the wrong offset
    context = "GCTAAAGTGTATATAGGACCAGGTAAGACCTTCGGA"
    ref = LEFT[:100] + context + RIGHT[:100]
    anchor = 100 + 12  # the A before TAG (left-normalised)
    alt = ref[: anchor + 1] + ref[anchor + 4 :]
    reads = [_read(alt, s, 60, [(0, anchor + 1 - s), (2, 3), (0, 59 - anchor + s)])
             for s in (70, 80, 95)]
    early = anchor - 3  # the read's true start on the alt haplotype
    reads.append((anchor - 1, [(0, 4), (2, 1), (0, 56)], alt[early : early + 60], bytes([30] * 60)))
    support = _realign(reads, ref)[1]
    assert support.depths(anchor) == (0, 4)


def test_genotype_from_realigned_counts_keeps_the_models_variant_probability():
    from dvcall.postprocess.genotypes import with_read_likelihood

    sure_hom = np.array([0.1, 0.01, 0.89])  # the model leans hom-alt: it sees CIGAR counts
    for ref_reads, alt_reads, expected in [(0, 9, "hom"), (1, 8, "het"), (1, 12, "hom"),
                                           (4, 5, "het"), (0, 3, "hom")]:
        gp = with_read_likelihood(sure_hom, ref_reads, alt_reads)
        assert gp[0] == sure_hom[0] and np.isclose(gp.sum(), 1.0)
        assert ("hom" if gp[2] > gp[1] else "het") == expected, (ref_reads, alt_reads)
    # hundreds of reads do not overflow
    assert np.isfinite(with_read_likelihood(sure_hom, 0, 2000)).all()


def test_snp_genotype_follows_the_reads_where_the_model_leans_hom():
    from dvcall.postprocess.records import resolve_snp

    sure_hom = np.array([0.0, 0.05, 0.95])
    ref = "ACGTACGTAC"
    for ref_reads, alt_reads, genotype in [(2, 12, (0, 1)), (1, 8, (0, 1)), (0, 7, (1, 1)),
                                           (0, 30, (1, 1))]:
        counts = np.zeros(6, np.int64)
        counts[1], counts[0] = ref_reads, alt_reads  # REF C, ALT A
        bases = np.array([1] * ref_reads + [0] * alt_reads), np.full(ref_reads + alt_reads, 30)
        call = resolve_snp("chr1", ref, 1, 100, counts, bases, 1e-6, sure_hom)
        assert (call.alts, call.genotype) == (["A"], genotype), (ref_reads, alt_reads)
        assert call.allele_depths == [ref_reads, alt_reads] and call.pos == 101


def test_a_low_quality_reference_base_does_not_make_a_hom_alt_snp_het():
    """Five Q35 reads of A and one of the reference C: het if the C is Q35, hom-alt if it is
    Q2 (a base wrong two times in three), whatever the model leans to."""
    from dvcall.postprocess.records import resolve_snp

    counts = np.array([5, 1, 0, 0, 0, 0])
    for model_split in (np.array([0.0, 0.9, 0.1]), np.array([0.0, 0.1, 0.9])):
        for ref_quality, genotype in ((35, (0, 1)), (2, (1, 1))):
            bases = np.array([1, 0, 0, 0, 0, 0]), np.array([ref_quality] + [35] * 5)
            call = resolve_snp("chr1", "ACGTACGTAC", 1, 100, counts, bases, 1e-6, model_split)
            assert call.genotype == genotype, (model_split, ref_quality)


def test_a_second_alt_allele_in_low_quality_bases_stays_errors():
    """A hom-alt A (five Q35 reads, REF C) with two reads of G: GT 1/2 if the Gs are Q35,
    1/1 if they are Q2 (each wrong two times in three). One Q35 G of eight reads is 1/1."""
    from dvcall.postprocess.records import resolve_snp

    sure_hom = np.array([0.0, 0.05, 0.95])
    for g_quality, alts, genotype in ((35, ["A", "G"], (1, 2)), (2, ["A"], (1, 1))):
        counts = np.array([5, 0, 2, 0, 0, 0])
        bases = np.array([0] * 5 + [2, 2]), np.array([35] * 5 + [g_quality] * 2)
        call = resolve_snp("chr1", "ACGTACGTAC", 1, 100, counts, bases, 1e-6, sure_hom,
                           noise=(1e-4, 1e-4))
        assert (call.alts, call.genotype) == (alts, genotype), g_quality
        assert call.allele_depths == [0, 5, 2][: len(alts) + 1]
    counts = np.array([7, 0, 1, 0, 0, 0])
    bases = np.array([0] * 7 + [2]), np.full(8, 35)
    call = resolve_snp("chr1", "ACGTACGTAC", 1, 100, counts, bases, 1e-6, sure_hom)
    assert (call.alts, call.genotype) == (["A"], (1, 1))


def _with_deletions(ref: str, start: int, length: int, deletions: list[tuple[int, int]]):
    """A read of ``length`` bases from ``start`` of the haplotype that lacks the reference
    bases ``[at, at + n)`` for each ``(at, n)`` of ``deletions``, with them in its CIGAR."""
    cigar, sequence, position = [], "", start
    for at, n in sorted(deletions):
        if at <= position or len(sequence) >= length:
            continue
        take = min(at - position, length - len(sequence))
        cigar.append((0, take))
        sequence += ref[position : position + take]
        position += take
        if len(sequence) < length:
            cigar.append((2, n))
            position += n
    take = length - len(sequence)
    cigar.append((0, take))
    sequence += ref[position : position + take]
    return start, cigar, sequence, bytes([30] * length)


def test_a_read_with_only_a_nearby_indel_counts_against_the_other():
    """A hom 2-base deletion (TAC -> T) and, 8 bases on, a het one in an A run: the reads of
    the haplotype with only the first lack two bases there too, and against a haplotype with
    only the second (realigned apart) they fit it better than the reference."""
    rng = np.random.default_rng(11)
    left = "".join(rng.choice(list("CGT"), 150)) + "T"
    middle = "".join(rng.choice(list("CGT"), 8)) + "C"
    right = "G" + "".join(rng.choice(list("CGT"), 150))
    ref = left + "AC" + middle + "A" * 16 + right
    first, second = len(left), len(left) + 2 + len(middle)  # the first deleted bases
    both = [_with_deletions(ref, s, 100, [(first, 2), (second, 2)]) for s in range(80, 140, 10)]
    one = [_with_deletions(ref, s, 100, [(first, 2)]) for s in range(85, 145, 10)]
    evidence, support = _realign(both + one, ref)
    assert support.allele_reads == {(first - 1, "TAC", "T"): 12,
                                    (second - 1, "CAA", "C"): 6}
    assert support.depths(first - 1) == (0, 12)
    assert support.depths(second - 1) == (6, 6)


def test_two_reads_of_an_insertion_spelled_two_ways_make_one_candidate():
    """An aligner put one read's GG insertion two bases late (with the two bases between as
    mismatches): each spelling is in one CIGAR only, too few for a candidate alone, but
    together they are, and realignment gives both reads to the true haplotype."""
    rng = np.random.default_rng(5)
    ref = "".join(rng.choice(list("ACT"), 300))  # no G: the insertion cannot slide
    at = 150  # the insertion's anchor
    hap = ref[: at + 1] + "GG" + ref[at + 1 :]
    reads = [_read(hap, 60, 140, [(0, at + 1 - 60), (1, 2), (0, 140 - (at + 1 - 60) - 2)]),
             _read(hap, 90, 120, [(0, at + 3 - 90), (1, 2), (0, 120 - (at + 3 - 90) - 2)]),
             _read(ref, 70, 140, [(0, 140)]), _read(ref, 100, 140, [(0, 140)])]
    evidence, support = _realign(reads, ref)
    assert len(set(evidence.alleles)) == 2  # two spellings, one read each
    true_allele = (at, ref[at], ref[at] + "GG")
    assert support.allele_reads[true_allele] == 2
    assert support.depths(at) == (2, 2)
    assert sum(support.allele_reads.values()) == 2


def test_a_read_of_a_haplotype_with_three_nearby_indels_fits_one():
    """Het 2-base deletions at 150 and 190 on one haplotype, a hom one at 230 on both: the
    three groups' spans overlap. A read of the first haplotype that stops before 230 fits
    one with the first two deletions, with or without the third, so it says nothing of the
    third: the hom deletion keeps no reference reads."""
    rng = np.random.default_rng(3)
    ref = "".join(rng.choice(list("ACGT"), 400))
    both = [(151, 2), (191, 2), (231, 2)]
    reads = [_with_deletions(ref, s, 100, both) for s in range(100, 140, 8)]  # stop before
    reads += [_with_deletions(ref, s, 100, both) for s in range(150, 200, 10)]
    reads += [_with_deletions(ref, s, 100, [(231, 2)]) for s in range(140, 200, 6)]
    evidence, support = _realign(reads, ref)
    anchors = sorted({int(a) for a in evidence.anchor})
    assert len(anchors) == 3
    hom = anchors[-1]
    ref_reads, alt_reads = support.depths(hom)
    assert ref_reads == 0 and alt_reads >= 15


def test_indels_in_one_repeat_compete_for_the_reads():
    """A 2-base insertion in an ACC repeat and the 1-base deletion one unit along (a few reads'
    CIGARs) are both candidates: reads carrying the insertion match the deletion's haplotype
    better than the reference, so realigned alone the deletion would take them all."""
    left = "".join(RNG.choice(list("GT"), 120))
    right = "G" + "".join(RNG.choice(list("GT"), 119))
    ref = left + "ACC" * 8 + right
    ins_at = len(left) + 3 * 3 + 1  # after the C of the fourth unit's "AC"
    alt = ref[: ins_at + 1] + "CA" + ref[ins_at + 1 :]
    del_at = len(left) + 3 * 5  # two reads' CIGARs: a 1-base deletion after this base
    reads = []
    for start in (30, 45, 60, 75):  # the insertion in the CIGAR
        reads.append(_read(alt, start, 140, [(0, ins_at + 1 - start), (1, 2),
                                             (0, 140 - (ins_at + 1 - start) - 2)]))
    for start in (40, 70):  # the same sequence written as a deletion in the repeat
        n = del_at + 1 - start
        reads.append((start, [(0, n), (2, 1), (0, 140 - n)], alt[start : start + 140],
                      bytes([30] * 140)))
    evidence, support = _realign(reads, ref)
    realigned = {(a, r, al): n for (a, r, al), n in support.allele_reads.items()}
    insertions = {k: n for k, n in realigned.items() if len(k[2]) > len(k[1])}
    deletions = {k: n for k, n in realigned.items() if len(k[1]) > len(k[2])}
    assert deletions and sum(deletions.values()) == 0, realigned
    assert sum(insertions.values()) == 6, realigned


def test_an_indel_deep_inside_a_repeat_is_compared_over_flank_on_both_sides():
    """A 4-base insertion after the T of a TTAAA unit, 40 bases into the repeat; two reads'
    CIGARs write the 1-base deletion of that T instead. Compared over fewer bases than the
    repeat's left part, reads with the insertion match the deletion equally well."""
    from dvcall.features.repeats import repeat_start

    left = "".join(RNG.choice(list("GC"), 120))
    right = "G" + "".join(RNG.choice(list("GC"), 119))
    ref = left + "TTAAA" * 10 + right
    ins_at = len(left) + 5 * 8  # the first T of the ninth unit
    alt = ref[: ins_at + 1] + "TAAA" + ref[ins_at + 1 :]
    codes = BASE_CODE[np.frombuffer(ref.encode(), np.uint8)]
    assert repeat_start(codes, ins_at - 1) == len(left)
    assert repeat_start(BASE_CODE[np.frombuffer(b"GACTGA", np.uint8)], 3) == 3  # no repeat
    reads = [_read(alt, start, 140, [(0, ins_at + 1 - start), (1, 4),
                                     (0, 140 - (ins_at + 1 - start) - 4)])
             for start in (40, 55, 70, 85)]
    for start in (45, 75):
        n = ins_at + 1 - start
        reads.append((start, [(0, n), (2, 1), (0, 140 - n)], alt[start : start + 140],
                      bytes([30] * 140)))
    _, support = _realign(reads, ref)
    assert support.allele_reads[(ins_at, "T", "TTAAA")] == 6, support.allele_reads


def test_an_indel_no_realigned_read_carries_is_not_called():
    from dvcall.features.indels import IndelEvidence
    from dvcall.features.realign import RealignedSupport
    from dvcall.postprocess.records import resolve_indels

    ref = "ACGTACGTACGGCGCGTTACGATCGA"
    anchor = 10  # CGCG -> C (the deletion of GCG), shown by two reads' CIGARs
    evidence = IndelEvidence(np.array([anchor, anchor]), np.array([0, 1]),
                             np.array([True, True]), [("CGCG", "C")] * 2)
    counts = np.array([0, 12, 0, 0, 0, 0])
    for alt_reads, called in [(0, False), (3, True)]:
        support = RealignedSupport(np.zeros(len(ref)), np.zeros(len(ref)),
                                   {(anchor, "CGCG", "C"): alt_reads})
        support.ref[anchor], support.alt[anchor] = 12, alt_reads
        calls = resolve_indels("chr1", ref, (anchor, anchor + 1), 0, evidence,
                               lambda p: counts, lambda p: 12, 0.2, np.array([0.2, 0.7, 0.1]),
                               support)
        assert bool(calls) == called
        if called:
            assert (calls[0].pos, calls[0].ref, calls[0].alts) == (anchor, "CGCG", ["C"])


def test_reads_carrying_two_nearby_indels_count_for_both():
    """A hom insertion of CG after a T and, on one haplotype, a deletion of CG three bases on
    (a simulated set's pair): reads of that haplotype match neither indel's haplotype alone."""
    left = "".join(RNG.choice(list("ACGT"), 120))
    ref = left + "TATACGACC" + "".join(RNG.choice(list("ACGT"), 120))
    a = len(left)  # the insertion's anchor; the deletion's is a + 3
    ins_only = ref[: a + 1] + "CG" + ref[a + 1 :]
    both = ref[: a + 1] + "CG" + ref[a + 1 : a + 4] + ref[a + 6 :]
    reads = []
    for start in (40, 55, 70, 85):
        n = a + 1 - start
        reads.append(_read(ins_only, start, 100, [(0, n), (1, 2), (0, 98 - n)]))
        reads.append(_read(both, start + 5, 100, [(0, n - 5), (1, 2), (0, 3), (2, 2),
                                                  (0, 95 - n)]))
    _, support = _realign(reads, ref)
    assert support.allele_reads == {(a, "T", "TCG"): 8, (a + 3, "ACG", "A"): 4}
    assert support.depths(a) == (0, 8) and support.depths(a + 3) == (4, 4)


def test_a_weak_rival_spelling_does_not_make_a_hom_deletion_het():
    """A hom deletion in a C run that a few reads' CIGARs spell one base longer (set B's
    chr1:344717): those reads count neither for nor against it. A rival with a real
    haplotype's share of the reads still counts against it."""
    left = "".join(RNG.choice(list("AGT"), 119)) + "A"
    right = "".join(RNG.choice(list("AGT"), 120))
    ref = left + "C" * 12 + "TCCT" + "A" + right
    at = len(left) + 12  # the T: deleting TCC here is the hom allele, TCCT the rival
    short = ref[:at] + ref[at + 3 :]
    long = ref[:at] + ref[at + 4 :]

    def reads(hap, size, starts):
        return [(s, [(0, at - s), (2, size), (0, 140 - (at - s))],
                 hap[s : s + 140], bytes([30] * 140)) for s in starts]

    for rivals, against in [(2, 0), (6, 6)]:
        _, support = _realign(reads(short, 3, range(30, 90, 5)) +
                              reads(long, 4, range(35, 35 + 8 * rivals, 8)), ref)
        (anchor,) = {a for a, r, al in support.allele_reads if len(r) - len(al) == 3}
        assert support.allele_reads[(anchor, ref[anchor : anchor + 4], ref[anchor])] == 12
        assert support.depths(anchor) == (against, 12), support.allele_reads


def test_mismatches_an_indel_haplotype_explains_are_masked_and_a_true_snp_is_kept():
    # a read aligned end to end (no insertion in its CIGAR) past the GG insertion: its last
    # bases land two columns off and mismatch the reference there
    snp_at = ANCHOR + 15  # on the insertion's haplotype, past the run
    carrier = ALT[:snp_at] + "G" + ALT[snp_at + 1:]  # RIGHT has no G: a mismatch anywhere
    reads = _reads() + [_read(carrier, 40, 100, [(0, 100)])]
    projected = _project(reads)
    evidence = normalize_indels(projected, REF, 0)
    ref_codes = BASE_CODE[np.frombuffer(REF.encode(), np.uint8)]
    support = realign_indels(projected, evidence, REF, 0, repeat_span(ref_codes))
    before = projected.codes.copy()
    support.mask_explained(projected)

    def mismatches(codes, row):
        start, cols = int(projected.starts[row]), np.arange(codes.shape[1])
        inside = (start + cols < len(REF)) & (codes[row] < 4)
        return set((start + cols[inside & (codes[row] != ref_codes[np.minimum(
            start + cols, len(REF) - 1)])]).tolist())

    last = len(reads) - 1
    shifted = mismatches(before, last)
    assert len(shifted) >= 3  # the shift shows as mismatches before masking
    # after it, only the carrier's own base mismatches (where its CIGAR puts it)
    assert mismatches(projected.codes, last) == {snp_at}
    masked = set(zip(*np.nonzero(before != projected.codes)))
    assert {int(r) for r, _ in masked} <= {3, 4, last}  # only reads aligned without the insertion
    assert (projected.codes[before != projected.codes] == 4).all()


def _realigned_carrier_reads(carrier: str, lengths: tuple[int, int]):
    """Reads of ``carrier`` (the GG insertion's haplotype with a SNP): four with the
    insertion in their CIGAR at the run's end, two aligned end to end from 40 and 42 (of
    ``lengths``), and two reference reads; projected and realigned."""
    reads = [_read(carrier, s, 100, [(0, ANCHOR + 5 - s), (1, 2), (0, 93 - ANCHOR + s)])
             for s in (50, 60, 70, 80)]
    reads += [_read(carrier, s, n, [(0, n)]) for s, n in zip((40, 42), lengths)]
    reads += [_read(REF, s, 120, [(0, 120)]) for s in (45, 55)]
    projected = _project(reads)
    evidence = normalize_indels(projected, REF, 0)
    ref_codes = BASE_CODE[np.frombuffer(REF.encode(), np.uint8)]
    return projected, realign_indels(projected, evidence, REF, 0, repeat_span(ref_codes))


def test_a_snp_beside_an_insertion_rides_on_its_haplotype_and_its_shifted_copies_are_masked():
    # the GG insertion's haplotype carries a SNP three bases past the G run; four reads have
    # the insertion in their CIGAR (the SNP on its own column), two are aligned end to end
    # past it (their SNP base lands two columns right of where it belongs)
    snp_alt = ANCHOR + 1 + 6 + 3  # on the insertion's haplotype
    snp_ref = snp_alt - 2  # the SNP's reference position
    carrier = ALT[:snp_alt] + "G" + ALT[snp_alt + 1:]  # RIGHT has no G
    projected, support = _realigned_carrier_reads(carrier, (95, 95))
    assert support.allele_reads == {(ANCHOR, "A", "AGG"): 6}
    assert support.depths(ANCHOR) == (2, 6)
    support.mask_explained(projected)
    g = BASE_CODE[ord("G")]

    def column(row, position):
        return projected.codes[row, position - int(projected.starts[row])]

    assert [int(column(r, snp_ref)) for r in range(4)] == [g] * 4  # kept where it belongs
    assert [int(column(r, snp_alt)) for r in (4, 5)] == [4, 4]  # its shifted copies are N


def test_a_shifted_base_that_matches_the_reference_is_masked_where_the_snp_belongs():
    """A read of the insertion's haplotype aligned end to end shows, past the run, the base
    two positions back. Where that equals the reference base at a hom SNP of the haplotype,
    its CIGAR makes it a reference read of the SNP; realigned, it shows the SNP's base
    there, so that base is masked. A base the shift leaves the same in both views (a G of
    the run, in reads whose CIGAR puts the insertion at the run's end) is kept."""
    q = next(p for p in range(ANCHOR + 9, len(REF)) if REF[p - 2] == REF[p])
    snp = next(b for b in "ACT" if b != REF[q])  # RIGHT stays free of G
    carrier = ALT[: q + 2] + snp + ALT[q + 3 :]  # the SNP at reference position q
    projected, support = _realigned_carrier_reads(carrier, (q + 8 - 40, q + 8 - 42))
    assert support.allele_reads == {(ANCHOR, "A", "AGG"): 6}
    before = projected.codes.copy()
    support.mask_explained(projected)

    def column(codes, row, position):
        return int(codes[row, position - int(projected.starts[row])])

    ref_base, snp_base = (int(BASE_CODE[ord(b)]) for b in (REF[q], snp))
    assert [column(before, r, q) for r in (4, 5)] == [ref_base] * 2  # a reference read...
    assert [column(projected.codes, r, q) for r in (4, 5)] == [4, 4]  # ... no more
    assert [column(projected.codes, r, q) for r in range(4)] == [snp_base] * 4
    masked_rows = {int(r) for r in np.nonzero(before != projected.codes)[0]}
    assert masked_rows == {4, 5}  # the run's Gs of the reads with the insertion are kept


def test_the_snp_pass_takes_no_snp_on_the_bases_a_candidate_deletion_removes():
    """A 3-base deletion anchored at 10 clears 11-13 only: its anchor and the base after it
    keep their SNPs, and an insertion clears nothing."""
    snp_alt = np.full(30, 2, np.int8)
    group = _Group([(5, 10, "ACGT", "A"), (3, 20, "G", "GTT")], [0, 1], [10, 21], 0, 30)
    _clear_deleted_bases(snp_alt, [group])
    assert np.flatnonzero(snp_alt < 0).tolist() == [11, 12, 13]
