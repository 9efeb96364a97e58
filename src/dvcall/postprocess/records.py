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
    phred,
    phred_likelihoods,
    quality_of_genotype,
    second_alt_log_ratio,
    snp_hom_log_ratio,
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
    """A SNP record at window position ``p`` from its raw ``counts`` (A C G T N DEL) and
    ``bases`` (the reads' base codes and qualities there: het against hom-alt weighs each
    read by its quality). ``noise``: (the chunk's clean-base rate of one given wrong base,
    the one the model was trained under), for :func:`with_read_noise`."""
    ref_base = ref[p]
    if ref_base not in BASES:
        return None
    ref_index = BASES.index(ref_base)
    alt_counts = [(int(counts[b]), b) for b in range(4) if b != ref_index]
    alt_counts.sort(reverse=True)
    if alt_counts[0][0] == 0:
        return None
    depth = int(site_depth(counts))
    gp = with_hom_log_ratio(gp, snp_hom_log_ratio(*bases, ref_index, alt_counts[0][1],
                                                  SNP_READ_ERROR))
    kind, _ = zygosity(gp)
    alts = [BASES[alt_counts[0][1]]]
    if kind == "het":
        genotype = (0, 1)
    elif alt_counts[1][0] > 0 and second_alt_log_ratio(
            *bases, alt_counts[0][1], alt_counts[1][1],
            CLEAN_ALT_ERROR if noise is None else noise[0]) > -np.log(SECOND_ALT_PRIOR):
        alts.append(BASES[alt_counts[1][1]])
        genotype = (1, 2)
    else:
        genotype = (1, 1)
    ad = [int(counts[ref_index])] + [int(counts[BASES.index(a)]) for a in alts]
    one_read = alt_counts[0][0] == 1
    p_ref = float(calibrated_p_ref(prob_ref, SNP_ONE_READ if one_read else "SNP", calibration))
    if noise is not None:
        p_ref = with_read_noise(p_ref, alt_counts[0][0], depth, *noise, SNP_PRIOR)
    return Call(contig, window_start + p, ref_base, alts, phred(p_ref, QUAL_CAP), genotype, 0,
                depth, ad, "SNP").set_likelihoods((float(gp[1]), float(gp[2])))


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
    p_ref = float(calibrated_p_ref(prob_ref, "INDEL", calibration))
    if noise is not None:
        # every read over the anchor could show noise, not only those spanning the repeat
        p_ref = with_read_noise(p_ref, ads[0], max(depth, ref_depth + sum(ads)), *noise,
                                INDEL_PRIOR)
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
