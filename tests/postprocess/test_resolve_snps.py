"""SNP records resolved for a chunk's sites at once are those of each site alone."""

import numpy as np

from dvcall.postprocess.records import resolve_snp, resolve_snps

REF = "ACCTNACTACGTACG"


def _site(reads: dict[int, list[int]]):
    """Raw counts (A C G T N DEL) and (codes, qualities) of reads showing ``reads``: base
    code -> the qualities of its reads."""
    counts = np.zeros(6, np.int64)
    codes, quality = [], []
    for code, quals in reads.items():
        counts[code] += len(quals)
        codes += [code] * len(quals)
        quality += quals
    return counts, (np.array(codes, np.int8), np.array(quality, np.uint8))


SITES = [  # window position (REF base), reads by base code, P(ref), genotype probabilities
    (1, {1: [35] * 9, 0: [30] * 6}, 1e-4, [0.0, 0.9, 0.1]),  # C: het C>A
    (2, {0: [35] * 5, 2: [35] * 3}, 1e-6, [0.0, 0.05, 0.95]),  # C: hom A and G, GT 1/2
    (3, {3: [35] * 8, 1: [30]}, 0.2, [0.0, 0.6, 0.4]),  # T: one read of C
    (4, {0: [35] * 5}, 1e-3, [0.0, 0.5, 0.5]),  # N: no record
    (5, {0: [35] * 7}, 0.01, [0.0, 0.5, 0.5]),  # A: no other base, no record
    (6, {1: [2], 0: [35] * 5}, 1e-5, [0.0, 0.9, 0.1]),  # C: a Q2 reference base, hom-alt
    (7, {1: [20] * 3, 2: [20] * 3, 3: [25] * 4}, 0.3, [0.0, 0.7, 0.3]),  # T: C and G tie
]


def test_sites_resolved_together_are_the_sites_resolved_alone():
    noise = (3e-3, 1e-3)
    positions = np.array([p for p, _, _, _ in SITES])
    counts, site, codes, quality, alone = [], [], [], [], []
    for i, (p, reads, prob_ref, gp) in enumerate(SITES):
        site_counts, (site_codes, site_quality) = _site(reads)
        counts.append(site_counts)
        site += [i] * len(site_codes)
        codes.append(site_codes)
        quality.append(site_quality)
        alone.append(resolve_snp("chr1", REF, p, 100, site_counts, (site_codes, site_quality),
                                 prob_ref, np.array(gp), noise=noise))
    together = resolve_snps(
        "chr1", REF, positions, 100, np.array(counts),
        (np.array(site), np.concatenate(codes), np.concatenate(quality)),
        np.array([prob_ref for _, _, prob_ref, _ in SITES]),
        np.array([gp for _, _, _, gp in SITES]), noise=noise)
    expected = [call for call in alone if call is not None]
    assert [c.pos for c in expected] == [101, 102, 103, 106, 107]
    assert together == expected
    by_pos = {c.pos: c for c in together}
    assert (by_pos[102].alts, by_pos[102].genotype) == (["A", "G"], (1, 2))
    assert by_pos[106].genotype == (1, 1)
    assert by_pos[107].alts == ["G"]  # three reads of C and of G: the higher base first
    for call in together:  # GQ never states more than QUAL
        assert call.gq <= call.qual + 0.5 and call.pl[0] == round(call.qual)
