"""Allele resolution: turn per-position calls into VCF alleles from the reads' evidence.

SNP ALTs come from the base counts; indel ALTs from the reads' inserted sequences and deletion
lengths, left-normalised against the reference so equivalent placements in a repeat collapse
into one allele (and ``bcftools norm`` finds nothing to change).
"""

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from dvcall.reader import DELETION, ProjectedReads

BASES = "ACGT"


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

    @property
    def sort_key(self):
        return (self.pos, self.ref, tuple(self.alts))


def left_normalize_deletion(ref: str, anchor: int, length: int) -> tuple[int, str, str]:
    """Deletion of ``ref[anchor+1 : anchor+1+length]`` -> leftmost (pos, REF, ALT)."""
    while anchor > 0 and ref[anchor] == ref[anchor + length] and ref[anchor] != "N":
        anchor -= 1
    return anchor, ref[anchor : anchor + length + 1], ref[anchor]


def left_normalize_insertion(ref: str, anchor: int, inserted: str) -> tuple[int, str, str]:
    """Insertion of ``inserted`` after ``ref[anchor]`` -> leftmost (pos, REF, ALT)."""
    while anchor > 0 and inserted[-1] == ref[anchor] and ref[anchor] != "N":
        inserted = ref[anchor] + inserted[:-1]
        anchor -= 1
    return anchor, ref[anchor], ref[anchor] + inserted


def counts_at(reads: ProjectedReads, window_start: int, position: int) -> np.ndarray:
    """Raw counts of A C G T N DEL at one window position (for the few called sites)."""
    col = position + window_start - reads.starts
    ok = (col >= 0) & (col < reads.codes.shape[1])
    codes = reads.codes[np.flatnonzero(ok), col[ok]].astype(np.int64)
    return np.bincount(codes[codes <= DELETION], minlength=6)[:6]


def spanning_depth(reads: ProjectedReads, window_start: int, position: int, repeat: int,
                   margin: int = 2) -> int:
    """Reads covering ``[position - margin, position + repeat + margin]``: those that can
    show whether an indel anchored at ``position`` (sliding ``repeat`` bases) is there."""
    lo = window_start + position - margin
    hi = window_start + position + repeat + margin + 1
    return int(np.count_nonzero((reads.starts <= lo) & (reads.ends >= hi)))


def base_counts(reads: ProjectedReads, window_start: int, length: int) -> np.ndarray:
    """``(length, 6)`` raw counts of A C G T N DEL per window position (unweighted)."""
    if reads.num_reads == 0:
        return np.zeros((length, 6), np.int64)
    cols = np.arange(reads.codes.shape[1])
    index = (reads.starts - window_start)[:, None] + cols[None, :]
    codes = reads.codes.astype(np.int64)
    ok = (index >= 0) & (index < length) & (codes <= DELETION)
    flat = index[ok] * 6 + codes[ok]
    return np.bincount(flat, minlength=length * 6).reshape(length, 6)


# Clean bases: what a SNP's binomial test counts (see clean_snp_p_ref).
CLEAN_BASE_QUALITY = 20
CLEAN_MAPQ = 20
CLEAN_END_MARGIN = 2  # bases from either end of the read's alignment
# A clean base shows one given wrong base with this chance (Q20 spread over three bases).
CLEAN_ALT_ERROR = 0.01 / 3
# SNPs per base of a germline genome (about 1 in 1,000 in humans).
SNP_PRIOR = 1e-3
# No SNP from the test within this many bases of any read's indel: reads aligned across an
# indel in a homopolymer show runs of clean-looking mismatches there.
CLEAN_INDEL_MARGIN = 10


def clean_base_counts(reads: ProjectedReads, window_start: int, positions: np.ndarray
                      ) -> np.ndarray:
    """``(M, 4)`` counts of A C G T at window ``positions`` over clean bases only: base
    quality >= CLEAN_BASE_QUALITY, MAPQ >= CLEAN_MAPQ, >= CLEAN_END_MARGIN bases inside the
    read's aligned ends (a misplaced read end shows mismatches, however good its bases)."""
    positions = np.asarray(positions, np.int64)
    counts = np.zeros((len(positions), 4), np.int64)
    if reads.num_reads == 0 or len(positions) == 0:
        return counts
    order = np.argsort(reads.starts, kind="stable")
    starts, ends = reads.starts[order], reads.ends[order]
    at = positions + window_start
    longest = int((ends - starts).max())
    lo = np.searchsorted(starts, at - longest + 1)
    hi = np.searchsorted(starts, at, side="right")
    per_site = hi - lo  # reads starting early enough: site i takes sorted reads lo[i]..hi[i]
    site = np.repeat(np.arange(len(positions)), per_site)
    first = np.cumsum(per_site) - per_site
    row = order[np.arange(len(site)) - first[site] + lo[site]]
    q = at[site]
    col = q - reads.starts[row]
    ok = ((q >= reads.starts[row] + CLEAN_END_MARGIN) & (q < reads.ends[row] - CLEAN_END_MARGIN)
          & (reads.mapq[row] >= CLEAN_MAPQ) & (col < reads.codes.shape[1]))
    site, row, col = site[ok], row[ok], col[ok]
    codes = reads.codes[row, col].astype(np.int64)
    ok = (codes < 4) & (reads.quality[row, col] >= CLEAN_BASE_QUALITY)
    np.add.at(counts, (site[ok], codes[ok]), 1)
    return counts


def clean_snp_p_ref(counts: np.ndarray, ref_index: np.ndarray) -> np.ndarray:
    """``(M,)`` P(no SNP) from clean base counts: the binomial likelihood of the commonest
    other base's reads under a het (half the reads) against under sequencing error
    (CLEAN_ALT_ERROR), with SNP_PRIOR. 4 such reads in 22 give P(ref) 0.30, 3 in 22 0.99,
    4 in 60 1.0: depth counts, unlike a fixed number of reads."""
    counts = np.asarray(counts, np.float64)
    rows = np.arange(len(counts))
    ref_reads = counts[rows, ref_index]
    others = counts.copy()
    others[rows, ref_index] = -1
    alt_reads = others.max(axis=1)
    llr = (alt_reads * np.log(0.5 / CLEAN_ALT_ERROR)
           + ref_reads * np.log(0.5 / (1 - 3 * CLEAN_ALT_ERROR)))
    log_odds = llr + np.log(SNP_PRIOR / (1 - SNP_PRIOR))
    return 1.0 / (1.0 + np.exp(np.clip(log_odds, -700, 700)))


def near_indel_evidence(evidence: "IndelEvidence", positions: np.ndarray,
                        margin: int = CLEAN_INDEL_MARGIN) -> np.ndarray:
    """``(M,)`` bool: within ``margin`` bases of any read's indel (its REF span)."""
    positions = np.asarray(positions, np.int64)
    if len(evidence.anchor) == 0 or len(positions) == 0:
        return np.zeros(len(positions), bool)
    span = np.array([len(ref) for ref, _ in evidence.alleles], np.int64)
    lo, hi = evidence.anchor - margin, evidence.anchor + span - 1 + margin
    return ((positions[:, None] >= lo[None, :]) & (positions[:, None] <= hi[None, :])).any(1)


def phred(p_error: float, cap: float) -> float:
    return float(min(-10.0 * np.log10(max(p_error, 1e-30)), cap))


def _genotype(gp: np.ndarray) -> tuple[str, float]:
    """'het' or 'hom' from (hom-ref, het, hom-alt) probabilities, with P(chosen)."""
    het, hom = float(gp[1]), float(gp[2])
    total = max(het + hom, 1e-12)
    return ("hom", hom / total) if hom > het else ("het", het / total)


def resolve_snp(contig: str, ref: str, p: int, window_start: int, counts: np.ndarray,
                prob_ref: float, gp: np.ndarray) -> Call | None:
    """A SNP record at window position ``p`` from its raw ``counts`` (A C G T N DEL)."""
    ref_base = ref[p]
    if ref_base not in BASES:
        return None
    ref_index = BASES.index(ref_base)
    alt_counts = [(int(counts[b]), b) for b in range(4) if b != ref_index]
    alt_counts.sort(reverse=True)
    if alt_counts[0][0] == 0:
        return None
    depth = int(counts[:4].sum() + counts[DELETION])
    gp = with_read_likelihood(gp, int(counts[ref_index]), alt_counts[0][0], SNP_READ_ERROR)
    zygosity, p_gt = _genotype(gp)
    alts = [BASES[alt_counts[0][1]]]
    if zygosity == "het":
        genotype = (0, 1)
    elif alt_counts[1][0] >= max(2, 0.2 * depth):
        alts.append(BASES[alt_counts[1][1]])
        genotype = (1, 2)
    else:
        genotype = (1, 1)
    ad = [int(counts[ref_index])] + [int(counts[BASES.index(a)]) for a in alts]
    return Call(contig, window_start + p, ref_base, alts, phred(prob_ref, 100.0), genotype,
                int(round(phred(1.0 - p_gt, 99.0))), depth, ad, "SNP")


# Chance a read is realigned to the wrong one of two haplotypes. Measured on the default
# model's training sets d, e, f (10-20x): 4 reference reads in 5,444 at hom-alt indels.
READ_ERROR = 4 / 5444
# Chance a read shows the reference base at a hom-alt SNP (sequencing error or a read from a
# paralog; MAPQ >= 1, any base quality). Measured on training sets a, b, e (15-30x): 44
# reference bases in 18,161.
SNP_READ_ERROR = 44 / 18161
# An indel is not called where realignment gave this many reads, none of them its own.
MIN_REALIGNED_AGAINST = 4
# Share of het among non-reference genotypes: germline genomes have about 1.5-2 hets per
# hom-alt (the simulator draws 60:40).
HET_PRIOR = 0.6


def with_read_likelihood(gp: np.ndarray, ref_reads: int, alt_reads: int,
                         read_error: float = READ_ERROR) -> np.ndarray:
    """Genotype probabilities (hom-ref, het, hom-alt) where the reads for each allele are
    known: P(variant) stays the model's, and het against hom-alt is the binomial likelihood
    of the counts (a hom-alt shows the reference in a ``read_error`` share of reads) times
    HET_PRIOR. For indels the model's own split sees only CIGAR counts, in which a read that
    ends inside the repeat supports neither allele, and was sure of hom-alt at hets with one
    reference read in 8-13 (held-out set at 15x: 27 -> 23 indel errors; multiplying both, as
    before, gave 27). For SNPs it called hom-alt at 15x hets with 1-3 reference reads of Q38."""
    llr = alt_reads * np.log((1 - read_error) / 0.5) + ref_reads * np.log(read_error / 0.5)
    variant = float(gp[1]) + float(gp[2])
    # in log space: e^llr can overflow with hundreds of reads
    log_het, log_hom = np.log(HET_PRIOR), np.log(1.0 - HET_PRIOR) + llr
    top = max(log_het, log_hom)
    scale = variant / (np.exp(log_het - top) + np.exp(log_hom - top))
    return np.array([gp[0], np.exp(log_het - top) * scale, np.exp(log_hom - top) * scale])


@dataclass
class IndelEvidence:
    """Every indel event of a chunk's reads, left-normalised against the reference."""

    anchor: np.ndarray  # (E,) window position of the normalised anchor (VCF POS - 1)
    read: np.ndarray  # (E,) read row
    is_deletion: np.ndarray  # (E,) bool
    alleles: list[tuple[str, str]]  # (REF, ALT) per event


def normalize_indels(reads: ProjectedReads, ref: str, window_start: int) -> IndelEvidence:
    """Left-normalise each read's indels, so one indel placed anywhere in a repeat by the
    aligner counts as one allele at one anchor (the one ``bcftools norm`` would report)."""
    anchors, rows, is_del, alleles = [], [], [], []
    for anchor, length, row in zip(reads.del_anchor.tolist(), reads.del_length.tolist(),
                                   reads.del_read.tolist()):
        local = anchor - window_start
        if local < 1 or local + length + 1 >= len(ref):
            continue
        pos, ref_allele, alt = left_normalize_deletion(ref, local, int(length))
        anchors.append(pos), rows.append(row), is_del.append(True)
        alleles.append((ref_allele, alt))
    for anchor, inserted, row in zip(reads.ins_anchor.tolist(), reads.ins_seq,
                                     reads.ins_read.tolist()):
        local = anchor - window_start
        inserted = inserted.upper()
        if local < 1 or local >= len(ref) or "N" in inserted:
            continue
        pos, ref_allele, alt = left_normalize_insertion(ref, local, inserted)
        anchors.append(pos), rows.append(row), is_del.append(False)
        alleles.append((ref_allele, alt))
    return IndelEvidence(np.asarray(anchors, np.int64), np.asarray(rows, np.int64),
                         np.asarray(is_del, bool), alleles)


def indel_cells(reads: ProjectedReads, evidence: IndelEvidence, window_start: int
                ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((rows, cols) of insertions, (rows, cols) of deletion starts)``: the read and column
    of each event's normalised anchor, for the model input's flag counts."""
    col = evidence.anchor + window_start - reads.starts[evidence.read]
    ok = (col >= 0) & (col < reads.codes.shape[1])
    return tuple((evidence.read[ok & kind], col[ok & kind])
                 for kind in (~evidence.is_deletion, evidence.is_deletion))


def resolve_indels(contig: str, ref: str, run: tuple[int, int], window_start: int,
                   evidence: IndelEvidence, counts_at, spanning_at, prob_ref: float,
                   gp: np.ndarray, realigned=None) -> list[Call]:
    """Indel calls for a run of window positions ``[a, b]`` called as indel;
    ``counts_at(position)`` gives the raw counts at a window position, ``spanning_at`` the
    reads that span the indel's repeat there (the REF depth counts only those).
    ``realigned`` (a :class:`dvcall.realign.RealignedSupport`), where it has the anchor,
    gives the allele depths instead of the CIGARs."""
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
    depth = int(counts[:4].sum() + counts[DELETION])
    at_site = sum(n for (p, _, _), n in ranked if p == pos)
    realigned_depths = None if realigned is None else realigned.depths(pos)
    if realigned_depths is not None:
        if realigned_depths[1] == 0 and realigned_depths[0] >= MIN_REALIGNED_AGAINST:
            return []  # the reads' CIGARs show it, but every read realigned carries another
        gp = with_read_likelihood(gp, *realigned_depths)
    zygosity, p_gt = _genotype(gp)
    qual, gq = phred(prob_ref, 100.0), int(round(phred(1.0 - p_gt, 99.0)))
    genotype = (0, 1) if zygosity == "het" else (1, 1)
    alts, ads = [alt], [alt_depth]
    if zygosity == "hom" and len(ranked) > 1:
        (pos2, ref2, alt2), depth2 = ranked[1]
        if pos2 == pos and depth2 >= max(2, 0.2 * depth):
            # one record with two ALTs: extend both to the longer REF
            longest = ref_allele if len(ref_allele) >= len(ref2) else ref2
            alts = [alt + longest[len(ref_allele):], alt2 + longest[len(ref2):]]
            ref_allele, ads, genotype = longest, [alt_depth, depth2], (1, 2)
    ref_depth = max(spanning_at(pos) - at_site, 0)
    if realigned_depths is not None:
        ref_depth = realigned_depths[0]
    return [Call(contig, window_start + pos, ref_allele, alts, qual, genotype, gq, depth,
                 [ref_depth] + ads, "INDEL")]


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``[start, end]`` of consecutive True stretches (gaps of one allowed)."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 2)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    return list(zip(starts.tolist(), ends.tolist()))
