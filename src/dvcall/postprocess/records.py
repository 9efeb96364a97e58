"""Records from called positions: SNP alleles from the base counts, indel alleles from the
reads' left-normalised indels (and realignment), with genotype, QUAL, GQ and depths."""

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from dvcall.encoding import BASES
from dvcall.features.counts import site_depth
from dvcall.features.indels import IndelEvidence, trim_shared_suffix
from dvcall.postprocess.genotypes import (
    calibrated_p_ref,
    genotype_qualities,
    phred,
    phred_likelihoods,
    pl_from_log10,
    quality_of_genotype,
    second_alt_log_ratio,
    snp_hom_log_ratio,
    split_log10_likelihoods,
    with_hom_log_ratio,
    with_read_likelihood,
    with_read_noise,
    zygosity,
)
from dvcall.postprocess.thresholds import (
    CLEAN_ALT_ERROR,
    INDEL_PRIOR,
    MIN_REALIGNED_AGAINST,
    QUAL_CAP,
    READ_ERROR,
    SECOND_ALT_MIN_READS,
    SECOND_ALT_MIN_SHARE,
    SECOND_ALT_PRIOR,
    SNP_ONE_READ,
    SNP_PRIOR,
    SNP_READ_ERROR,
)


@dataclass
class Call:
    contig: str
    pos: int  # 0-based
    ref: str
    alts: list[str]
    qual: float
    genotype: tuple[int, int]
    gq: int
    depth: int
    allele_depths: list[int]
    kind: str  # "SNP" or "INDEL"
    filters: list[str] = field(default_factory=list)
    pl: list[int] = field(default_factory=list)  # Number=G, VCF order

    @property
    def read_error(self) -> float:
        """The chance a read shows another allele than its own, for read likelihoods."""
        return SNP_READ_ERROR if self.kind == "SNP" else READ_ERROR

    def set_likelihoods(self, split: tuple[float, float] | None = None) -> "Call":
        """PL and GQ from QUAL, GT and the allele depths (see
        :func:`dvcall.postprocess.genotypes.phred_likelihoods`)."""
        self.pl = phred_likelihoods(self.qual, self.genotype, self.allele_depths,
                                    self.read_error, split)
        self.gq = quality_of_genotype(self.pl, self.genotype, len(self.allele_depths))
        return self

    def as_haploid(self) -> "Call":
        """The record on a one-copy contig: its best-supported ALT alone, GT 1."""
        best = 1 + int(np.argmax(self.allele_depths[1:]))
        self.alts = [self.alts[best - 1]]
        self.allele_depths = [self.allele_depths[0], self.allele_depths[best]]
        ref, alt = trim_shared_suffix(self.ref, self.alts[0])  # a 1/2 record's padding
        self.ref, self.alts, self.genotype = ref, [alt], (1,)
        return self.set_likelihoods()

    @property
    def sort_key(self):
        return (self.pos, self.ref, tuple(self.alts))


def is_second_alt(reads: int, depth: int) -> bool:
    """Whether a hom-alt indel's second allele, seen in ``reads`` of ``depth``, is real (the
    record becomes GT 1/2) rather than errors or a misspelt copy."""
    return reads >= max(SECOND_ALT_MIN_READS, SECOND_ALT_MIN_SHARE * depth)


def resolve_snp(contig: str, ref: str, p: int, window_start: int, counts: np.ndarray,
                bases: tuple[np.ndarray, np.ndarray], prob_ref: float, gp: np.ndarray,
                calibration: dict | None = None,
                noise: tuple[float, float] | None = None) -> Call | None:
    """:func:`resolve_snps` at one window position ``p``, its ``bases`` the reads' codes and
    qualities there."""
    codes, quality = bases
    calls = resolve_snps(contig, ref, np.array([p]), window_start, np.asarray(counts)[None],
                         (np.zeros(len(codes), np.int64), np.asarray(codes),
                          np.asarray(quality)), np.array([prob_ref]), np.asarray(gp)[None],
                         calibration, noise)
    return calls[0] if calls else None


_ACGT_INDEX = np.full(256, -1, np.int64)  # an upper-case reference letter -> its BASES index
_ACGT_INDEX[np.frombuffer(BASES.encode(), np.uint8)] = np.arange(4)


def resolve_snps(contig: str, ref: str, positions: np.ndarray, window_start: int,
                 counts: np.ndarray, bases: tuple[np.ndarray, np.ndarray, np.ndarray],
                 prob_ref: np.ndarray, gp: np.ndarray, calibration: dict | None = None,
                 noise: tuple[float, float] | None = None) -> list[Call]:
    """SNP records at window ``positions`` (in their order; none where the reference is not
    A/C/G/T or no read shows another base) from their raw ``counts`` (``(M, 6)``: A C G T N
    DEL), ``bases`` (``(site, code, quality)`` of the reads' bases there, ``site`` indexing
    ``positions``: het against hom-alt weighs each read by its quality), the model's
    ``prob_ref`` (M,) and genotype probabilities ``gp`` (M, 3). ``noise``: (the chunk's
    clean-base rate of one given wrong base, the one the model was trained under), for
    :func:`with_read_noise`."""
    positions = np.asarray(positions, np.int64)
    sites = len(positions)
    if sites == 0:
        return []
    site, codes, quality = bases
    counts = np.asarray(counts, np.int64)
    ref_index = _ACGT_INDEX[np.frombuffer(ref.encode(), np.uint8)[positions]]
    rows = np.arange(sites)
    # the alternative alleles by reads, the higher base first among equals
    alt = counts[:, :4].copy()
    known = np.flatnonzero(ref_index >= 0)
    alt[known, ref_index[known]] = -1
    first = 3 - np.argmax(alt[:, ::-1], axis=1)
    first_reads = alt[rows, first]
    alt[rows, first] = -1
    second = 3 - np.argmax(alt[:, ::-1], axis=1)
    second_reads = alt[rows, second]
    depth = site_depth(counts)
    gp = with_hom_log_ratio(gp, snp_hom_log_ratio(site, codes, quality, ref_index, first,
                                                  SNP_READ_ERROR))
    hom = gp[:, 2] > gp[:, 1]  # zygosity: het on a tie
    two = hom & (second_reads > 0) & (second_alt_log_ratio(
        site, codes, quality, first, second, CLEAN_ALT_ERROR if noise is None else noise[0])
        > -np.log(SECOND_ALT_PRIOR))
    p_ref = np.where(first_reads == 1, calibrated_p_ref(prob_ref, SNP_ONE_READ, calibration),
                     calibrated_p_ref(prob_ref, "SNP", calibration))
    if noise is not None:
        p_ref = with_read_noise(p_ref, first_reads, depth, *noise, SNP_PRIOR)
    qual = phred(p_ref, QUAL_CAP)
    # PL and GQ of the one-ALT records from the split (Call.set_likelihoods, in one pass)
    called = np.where(hom, 2, 1)
    pl = pl_from_log10(split_log10_likelihoods(gp[:, 1], gp[:, 2]), called, qual)
    gq = genotype_qualities(pl, called)
    calls = []
    for i in np.flatnonzero((ref_index >= 0) & (first_reads > 0)).tolist():
        ref_base, alt_base = BASES[ref_index[i]], BASES[first[i]]
        ad = [int(counts[i, ref_index[i]]), int(first_reads[i])]
        call = Call(contig, window_start + int(positions[i]), ref_base, [alt_base],
                    float(qual[i]), (1, 1) if hom[i] else (0, 1), int(gq[i]), int(depth[i]),
                    ad, "SNP", pl=pl[i].tolist())
        if two[i]:
            call.alts.append(BASES[second[i]])
            call.allele_depths.append(int(second_reads[i]))
            call.genotype = (1, 2)
            call.set_likelihoods((float(gp[i, 1]), float(gp[i, 2])))
        calls.append(call)
    return calls


def resolve_indels(contig: str, ref: str, run: tuple[int, int], window_start: int,
                   evidence: IndelEvidence, counts_at, spanning_at, prob_ref: float,
                   gp: np.ndarray, realigned=None, calibration: dict | None = None,
                   noise: tuple[float, float] | None = None) -> list[Call]:
    """Indel calls for a run of window positions ``[a, b]`` called as indel;
    ``counts_at(position)`` gives the raw counts at a window position, ``spanning_at`` the
    reads that span the indel's repeat there (the REF depth counts only those).
    ``realigned`` (a :class:`dvcall.features.realign.RealignedSupport`), where it has the anchor,
    gives the allele depths instead of the CIGARs. ``noise``: (the chunk's indel noise rate,
    the one the model was trained under), for :func:`with_read_noise`."""
    a, b = run
    sel = np.flatnonzero((evidence.anchor >= a - 1) & (evidence.anchor <= b + 1))
    support: Counter = Counter((int(evidence.anchor[i]), *evidence.alleles[i]) for i in sel)
    if realigned is not None:
        for key in support:
            if key in realigned.allele_reads:
                support[key] = max(realigned.allele_reads[key], 1)
    if not support:
        return []
    ranked = support.most_common()
    (pos, ref_allele, alt), alt_depth = ranked[0]
    if ref_allele[0] == "N":
        return []
    counts = counts_at(pos)
    depth = int(site_depth(counts))
    at_site = sum(n for (p, _, _), n in ranked if p == pos)
    realigned_depths = None if realigned is None else realigned.depths(pos)
    if realigned_depths is not None:
        if realigned_depths[1] == 0 and realigned_depths[0] >= MIN_REALIGNED_AGAINST:
            return []  # the reads' CIGARs show it, but every read realigned carries another
        gp = with_read_likelihood(gp, *realigned_depths)
    kind, _ = zygosity(gp)
    genotype = (0, 1) if kind == "het" else (1, 1)
    alts, ads = [alt], [alt_depth]
    if kind == "hom" and len(ranked) > 1:
        (pos2, ref2, alt2), depth2 = ranked[1]
        if pos2 == pos and is_second_alt(depth2, depth):
            # one record with two ALTs: extend both to the longer REF
            longest = ref_allele if len(ref_allele) >= len(ref2) else ref2
            alts = [alt + longest[len(ref_allele):], alt2 + longest[len(ref2):]]
            ref_allele, ads, genotype = longest, [alt_depth, depth2], (1, 2)
    ref_depth = max(spanning_at(pos) - at_site, 0)
    if realigned_depths is not None:
        ref_depth = realigned_depths[0]
    # the reads over the site: those the anchor's bases show, or more where realignment
    # gave alleles to reads whose bases there are masked or deleted
    depth = max(depth, ref_depth + sum(ads))
    p_ref = float(calibrated_p_ref(prob_ref, "INDEL", calibration))
    if noise is not None:
        # every read over the anchor could show noise, not only those spanning the repeat
        p_ref = with_read_noise(p_ref, ads[0], depth, *noise, INDEL_PRIOR)
    call = Call(contig, window_start + pos, ref_allele, alts, phred(p_ref, QUAL_CAP),
                genotype, 0, depth, [ref_depth] + ads, "INDEL")
    return [call.set_likelihoods((float(gp[1]), float(gp[2])))]


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``[start, end]`` of consecutive True stretches (gaps of one allowed)."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 2)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    return list(zip(starts.tolist(), ends.tolist()))
