"""SNPs the clean bases settle: a het whose reads show its alternative base in only 4 of 24
(the classifier, trained on few such hets, leaves it as reference) is called from a binomial
test over clean bases against the BAM's measured noise; the same reads with a low MAPQ, or
too few of them, are not."""

import numpy as np
import pysam
import pytest
from click.testing import CliRunner

import dvcall.postprocess.resolve as resolve
from dvcall.cli import main
from dvcall.encoding import BASE_CODE
from dvcall.features.indels import IndelEvidence
from dvcall.features.projection import project
from dvcall.postprocess.snp_rules import (
    clean_base_counts,
    clean_error_rate,
    clean_error_rates,
    clean_snp_p_ref,
    indel_explains_base,
    indels_near,
    shifted_indel_bases,
)
from dvcall.postprocess.thresholds import (
    CLEAN_ALT_ERROR,
    CLEAN_END_MARGIN,
    CLEAN_PRIOR_BASES,
    CLEAN_QUALITY_BINS,
    SNP_PRIOR,
)

# A het of testdata with no other variant within 300 bp: 20 reference reads, 16 alternative.
CONTIG, POS, REF, ALT = "chr1", 30849, "C", "A"


def test_clean_counts_leave_out_read_ends_low_base_quality_and_low_mapq():
    ref = "ACGT" * 30
    alt = ref[:60] + "T" + ref[61:]  # ref[60] is A
    m = CLEAN_END_MARGIN
    # 50-base reads: 0, 1 inside; 2 has position 60 m bases from its start, 3 one base less;
    # 4 has it at Q10; 5 at MAPQ 5; 6 has it m bases from its end, 7 one base less
    starts = np.array([20, 30, 60 - m, 60 - m + 1, 25, 30, 60 - 49 + m, 60 - 49 + m - 1])
    quals = [bytes([30] * 50) for _ in starts]
    quals[4] = bytes(10 if i == 60 - 25 else 30 for i in range(50))
    mapq = np.array([60, 60, 60, 60, 60, 5, 60, 60], np.uint8)
    reads = project(starts, [[(0, 50)]] * len(starts), [alt[s:s + 50] for s in starts],
                    quals, np.zeros(len(starts), np.uint8), mapq)
    counts = clean_base_counts(reads, 0, np.array([60, 61])).sum(axis=2)
    assert counts[0].tolist() == [0, 0, 0, 4]  # T from reads 0, 1, 2, 6
    assert counts[1].tolist() == [0, 5, 0, 0]  # C from reads 0-4 (6 is now too near its end)


def test_clean_counts_agree_with_a_read_by_read_count(testdata):
    from dvcall.features.projection import project_records
    from dvcall.io.alignments import AlignmentSource, ReadFilter

    source = AlignmentSource(pysam.AlignmentFile(str(testdata / "reads.bam")))
    reads = project_records(source.records("chr1", 30000, 33000, ReadFilter()), ReadFilter())
    positions = np.arange(0, 3000, 13)
    expected = np.zeros((len(positions), 4, len(CLEAN_QUALITY_BINS)), np.int64)
    for i, at in enumerate((positions + 30000).tolist()):
        for r in range(reads.num_reads):
            start, end = int(reads.starts[r]), int(reads.ends[r])
            if start + CLEAN_END_MARGIN <= at < end - CLEAN_END_MARGIN and reads.mapq[r] >= 20:
                code, quality = reads.codes[r, at - start], int(reads.quality[r, at - start])
                if code < 4 and quality >= 20:
                    expected[i, code, sum(quality >= q for q in CLEAN_QUALITY_BINS) - 1] += 1
    assert expected.sum() > 1000 and (expected.sum(axis=(0, 1)) > 0).sum() >= 3
    assert np.array_equal(clean_base_counts(reads, 30000, positions), expected)


def _noisy_reads(error: float, seed: int = 5):
    """60 reads of 50 bases over a random 400-base reference (a hom-alt SNP at 200), each
    base wrong with chance ``error``; the first read's wrong bases at Q10, one read MAPQ 5."""
    rng = np.random.default_rng(seed)
    ref = "".join(rng.choice(list("ACGT"), 400))
    starts = np.arange(0, 300, 5)
    seqs, quals = [], []
    for s in starts:
        bases = list(ref[s:s + 50])
        if s <= 200 < s + 50:
            bases[200 - s] = "ACGT"[("ACGT".index(ref[200]) + 1) % 4]
        q = [30] * 50
        for i in np.flatnonzero(rng.random(50) < error):
            bases[i] = "ACGT"[("ACGT".index(bases[i]) + int(rng.integers(1, 4))) % 4]
            q[i] = 10 if s == 0 else 30
        seqs.append("".join(bases))
        quals.append(bytes(q))
    mapq = np.full(len(starts), 60, np.uint8)
    mapq[7] = 5
    reads = project(starts, [[(0, 50)]] * len(starts), seqs, quals,
                    np.zeros(len(starts), np.uint8), mapq)
    return reads, BASE_CODE[np.frombuffer(ref.encode(), np.uint8)]


def test_clean_error_rate_agrees_with_a_read_by_read_count():
    reads, reference = _noisy_reads(0.01)
    depth, wrong = np.zeros(400, int), np.zeros(400, int)
    width = reads.codes.shape[1]
    for r in range(reads.num_reads):
        start = int(reads.starts[r])
        for col in range(CLEAN_END_MARGIN, 50 - CLEAN_END_MARGIN):
            at = start + col
            if at >= width and reads.mapq[r] >= 20 and reads.quality[r, col] >= 20:
                depth[at] += 1
                wrong[at] += int(reads.codes[r, col] != reference[at])
    variant_like = (wrong >= 2) & (wrong >= 0.2 * depth)
    assert variant_like[200] and variant_like.sum() < 5  # the SNP, not the noise
    errors, bases = wrong[~variant_like].sum(), depth[~variant_like].sum()
    assert errors > 10
    expected = (errors + CLEAN_PRIOR_BASES * 3 * CLEAN_ALT_ERROR) / (bases + CLEAN_PRIOR_BASES)
    assert clean_error_rate(reads, 0, reference) == pytest.approx(expected / 3)


def test_clean_error_rates_by_quality_agree_with_a_read_by_read_count():
    """Reads whose bases alternate Q22 and Q38, every wrong base at Q22: the Q20-24 bin's
    rate is its own count's, the Q35-39 bin (no error seen) keeps one error's worth of the
    pooled rate, and two Q38 reads of an alternative base weigh more than two Q22 ones."""
    rng = np.random.default_rng(3)
    ref = "".join(rng.choice(list("ACGT"), 400))
    starts = np.arange(0, 300, 4)
    seqs, quals = [], []
    for s in starts:
        bases, q = list(ref[s:s + 50]), [22 if i % 2 else 38 for i in range(50)]
        for i in range(1, 50, 2):
            if rng.random() < 0.03:
                bases[i] = "ACGT"[("ACGT".index(bases[i]) + int(rng.integers(1, 4))) % 4]
        seqs.append("".join(bases))
        quals.append(bytes(q))
    reads = project(starts, [[(0, 50)]] * len(starts), seqs, quals,
                    np.zeros(len(starts), np.uint8), np.full(len(starts), 60, np.uint8))
    reference = BASE_CODE[np.frombuffer(ref.encode(), np.uint8)]
    width = reads.codes.shape[1]
    depth, wrong = np.zeros((400, 2), int), np.zeros((400, 2), int)
    for r in range(reads.num_reads):
        start = int(reads.starts[r])
        for col in range(CLEAN_END_MARGIN, 50 - CLEAN_END_MARGIN):
            if start + col >= width:
                high = int(reads.quality[r, col] >= 35)
                depth[start + col, high] += 1
                wrong[start + col, high] += int(reads.codes[r, col] != reference[start + col])
    all_wrong, all_depth = wrong.sum(1), depth.sum(1)
    quiet = ~((all_wrong >= 2) & (all_wrong >= 0.2 * all_depth))
    errors, bases = wrong[quiet].sum(0), depth[quiet].sum(0)
    assert errors[0] > 20 and errors[1] == 0 and bases[1] > 1000
    pooled, rates = clean_error_rates(reads, 0, reference)
    assert pooled == clean_error_rate(reads, 0, reference)
    prior_bases = 1 / (3 * pooled)
    assert rates[0] == pytest.approx((errors[0] + 1) / (bases[0] + prior_bases) / 3)
    assert rates[3] == pytest.approx(1 / (bases[1] + prior_bases) / 3)
    assert rates[3] < pooled < rates[0]
    counts = np.zeros((2, 4, len(CLEAN_QUALITY_BINS)))
    counts[:, 0, 0], counts[:, 0, 3] = 10, 10  # REF A, at Q22 and Q38
    counts[0, 1, 0], counts[1, 1, 3] = 2, 2  # two C reads at Q22 / at Q38
    low, high = clean_snp_p_ref(counts, np.zeros(2, int), rates)
    assert high < low


def test_clean_error_rate_follows_the_reads_noise():
    quiet = clean_error_rate(_noisy_reads(0.001)[0], 0, _noisy_reads(0.001)[1])
    noisy = clean_error_rate(_noisy_reads(0.03)[0], 0, _noisy_reads(0.03)[1])
    assert quiet < CLEAN_ALT_ERROR / 3 < CLEAN_ALT_ERROR < noisy
    assert noisy == pytest.approx(0.03 / 3, rel=0.3)
    # 5 reads in 30 of one other base: a het at the quiet rate, noise at the noisy one
    counts = np.array([[25, 5, 0, 0]])
    assert clean_snp_p_ref(counts, np.zeros(1, int), quiet)[0] < 0.01
    assert clean_snp_p_ref(counts, np.zeros(1, int), noisy)[0] > 0.95


def test_clean_p_ref_weighs_the_alternative_reads_against_depth():
    counts = np.array([[17, 5, 0, 0], [19, 3, 0, 0], [56, 4, 0, 0], [10, 3, 0, 0],
                       [0, 0, 0, 0]])
    p_ref = clean_snp_p_ref(counts, np.zeros(5, int))  # at the stated Q20 rate
    assert p_ref[0] < 0.01 and p_ref[3] < 0.5  # 5 of 22, 3 of 13
    assert p_ref[1] > 0.95 and p_ref[2] > 0.999  # 3 of 22, 4 of 60
    assert p_ref[4] == pytest.approx(1 - SNP_PRIOR)  # no reads: the prior


def test_positions_near_any_reads_indel_are_flagged():
    evidence = IndelEvidence(np.array([100]), np.array([0]), np.array([True]), [("ACGT", "A")])
    near = indels_near(evidence, np.array([89, 90, 103, 113, 114]), margin=10).any(1)
    assert near.tolist() == [False, True, True, True, False]
    # by default only the bases the read's indel anchors or deletes
    near = indels_near(evidence, np.array([99, 100, 103, 104])).any(1)
    assert near.tolist() == [False, True, True, False]


def test_shifted_indel_bases_are_the_haplotype_read_from_either_side():
    ref = "ACGTACGTAC"
    # CC inserted after ref[5]: a read held left of it shows C there, one held right G
    assert shifted_indel_bases(ref, 5, "C", "CGG", 5) == {"C", "G"}
    # TA deleted after ref[2]: held left, ref[3] shows ref[5]; held right, ref[1]
    assert shifted_indel_bases(ref, 2, "GTA", "G", 3) == {"C"}
    assert shifted_indel_bases(ref, 2, "GTA", "G", 4) == {"G"}
    assert shifted_indel_bases(ref, 2, "GTA", "G", 2) == {"G", "A"}


def test_only_an_indel_whose_haplotype_shows_the_base_explains_it():
    ref = "ACGTACGTAC"
    evidence = IndelEvidence(np.array([2, 5]), np.array([0, 1]), np.array([True, False]),
                             [("GTA", "G"), ("C", "CGG")])
    positions, bases = np.array([3, 3, 5, 5, 8]), BASE_CODE[np.frombuffer(b"CTGTG", np.uint8)]
    assert indel_explains_base(evidence, ref, positions, bases).tolist() == [
        0, -1, 1, -1, -1]  # position 8: no indel near


def _skewed_het(tmp_path, keep: int, alt_mapq: int | None = None, testdata=None,
                deletion: tuple[int, int] | None = None, alt_mismatch: int | None = None):
    """testdata's reads around the het with all but ``keep`` alternative reads (the ones
    whose base is clean first) dropped, pair and all; ``deletion`` ``(first deleted base,
    length)``, 0-based: one reference read over the site aligned with that deletion;
    ``alt_mismatch``: a 0-based position where the kept alternative reads get another base."""
    bam = pysam.AlignmentFile(str(testdata / "reads.bam"))
    alt = []
    for column in bam.pileup(CONTIG, POS - 1, POS, truncate=True, min_base_quality=0):
        for read in column.pileups:
            if read.is_del:
                continue
            a, q = read.alignment, read.query_position
            if a.query_sequence[q] == ALT:
                inner = (q - a.query_alignment_start >= CLEAN_END_MARGIN
                         and a.query_alignment_end - 1 - q >= CLEAN_END_MARGIN)
                alt.append((not inner, a.query_name))
    alt.sort()
    kept, dropped = {n for _, n in alt[:keep]}, {n for _, n in alt[keep:]}
    path = tmp_path / f"skewed{keep}-{deletion}-{alt_mismatch}.bam"
    with pysam.AlignmentFile(str(path), "wb", template=bam) as out:
        for read in bam.fetch(CONTIG, POS - 2000, POS + 2000):
            if read.query_name in dropped:
                continue
            if deletion is not None and _covers(read, *deletion):
                first, length = deletion
                held = first - read.reference_start
                read.cigartuples = [(0, held), (2, length), (0, read.query_length - held)]
                deletion = None
            if alt_mapq is not None and read.query_name in kept:
                read.mapping_quality = alt_mapq
            if alt_mismatch is not None and read.query_name in kept:
                at = alt_mismatch - read.reference_start  # the reads are ungapped here
                if 0 <= at < read.query_length:
                    seq, qual = read.query_sequence, read.query_qualities
                    other = "ACGT"[("ACGT".index(seq[at]) + 1) % 4]
                    read.query_sequence = seq[:at] + other + seq[at + 1:]
                    read.query_qualities = qual
            out.write(read)
    pysam.index(str(path))
    return path


def _covers(read, first: int, length: int) -> bool:
    """A reference read aligned end to end with 20 bases beside the deletion each side."""
    return (read.cigartuples == [(0, read.query_length)] and not read.is_reverse
            and read.reference_start <= first - 20 and read.reference_end >= first + length + 20
            and read.query_sequence[POS - 1 - read.reference_start] == REF)


def _call_at_site(path, testdata, tmp_path):
    out = tmp_path / "calls.vcf"
    result = CliRunner().invoke(main, ["call", "--bam", str(path), "--ref",
                                       str(testdata / "ref.fa"), "--region",
                                       f"{CONTIG}:{POS - 1000}-{POS + 1000}", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return [r for r in pysam.VariantFile(str(out)) if r.pos == POS]


def test_a_het_with_four_clean_reads_in_24_is_called(testdata, tmp_path, monkeypatch):
    path = _skewed_het(tmp_path, keep=4, testdata=testdata)
    [record] = _call_at_site(path, testdata, tmp_path)
    assert (record.ref, record.alts) == (REF, (ALT,)) and "PASS" in record.filter
    assert record.samples[0]["GT"] == (0, 1) and record.samples[0]["AD"][1] == 4
    # the classifier alone leaves it out: the record above is the clean-base test's doing
    monkeypatch.setattr(resolve, "with_clean_snps",
                        lambda chunk, prepared, p_ref, kind, genotypes, *_: (p_ref, genotypes))
    assert _call_at_site(path, testdata, tmp_path) == []


def test_one_reads_deletion_over_the_het_vetoes_it_only_where_it_may_have_made_it(
        testdata, tmp_path):
    # testdata's chr1:30,843-30,855 is GAAGCGGGGCAAG, the het's C (-> A) at 30,849; a read
    # of the 6-base deletion run through without its gap would show A there, one of the
    # 4-base deletion G. The alternative reads, unless given another mismatch at 30,852,
    # match the reference over the deletion's span: they cannot be its reads.
    for first, length, mismatch, called in ((30846, 4, False, True), (30846, 6, False, True),
                                            (30846, 6, True, False), (30846, 4, True, True)):
        path = _skewed_het(tmp_path, keep=4, testdata=testdata, deletion=(first, length),
                           alt_mismatch=30851 if mismatch else None)
        reads = pysam.AlignmentFile(str(path))
        gaps = [(a[1], b[0]) for r in reads.fetch(CONTIG, first - 1, first + length + 1)
                for a, b in zip(r.get_blocks(), r.get_blocks()[1:])]
        assert gaps == [(first, first + length)]
        records = [r for r in _call_at_site(path, testdata, tmp_path) if "PASS" in r.filter]
        assert (records != []) == called, (first, length, mismatch)


def test_three_clean_reads_make_a_het_at_this_bams_noise_two_do_not(testdata, tmp_path):
    # testdata (art HiSeq 2500) measures ~0.04% clean-base errors: 3 reads of one base in
    # 23 are ~10^4 times likelier from a het than from errors, 2 in 22 are not enough
    [three] = _call_at_site(_skewed_het(tmp_path, keep=3, testdata=testdata), testdata,
                            tmp_path)
    assert three.samples[0]["AD"][1] == 3 and three.samples[0]["GT"] == (0, 1)
    assert three.qual < _call_at_site(_skewed_het(tmp_path, keep=4, testdata=testdata),
                                      testdata, tmp_path)[0].qual
    assert _call_at_site(_skewed_het(tmp_path, keep=2, testdata=testdata),
                         testdata, tmp_path) == []


def test_no_call_from_reads_of_low_mapq(testdata, tmp_path):
    low = _skewed_het(tmp_path, keep=4, alt_mapq=10, testdata=testdata)
    assert [r for r in _call_at_site(low, testdata, tmp_path) if "PASS" in r.filter] == []
