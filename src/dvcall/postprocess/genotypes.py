"""QUAL, GQ and het vs hom-alt from the model's probabilities and the reads' allele counts."""

import numpy as np

from dvcall.postprocess.thresholds import GQ_CAP, HET_PRIOR, QUAL_CAP, READ_ERROR


def phred(p_error: float, cap: float) -> float:
    return float(min(-10.0 * np.log10(max(p_error, 1e-30)), cap))


def qual_and_gq(prob_ref: float, p_genotype: float) -> tuple[float, int]:
    """A record's QUAL from P(ref) and GQ from P(its genotype), both Phred and capped."""
    return phred(prob_ref, QUAL_CAP), int(round(phred(1.0 - p_genotype, GQ_CAP)))


def zygosity(gp: np.ndarray) -> tuple[str, float]:
    """'het' or 'hom' from (hom-ref, het, hom-alt) probabilities, with P(chosen)."""
    het, hom = float(gp[1]), float(gp[2])
    total = max(het + hom, 1e-12)
    return ("hom", hom / total) if hom > het else ("het", het / total)


def with_read_likelihood(gp: np.ndarray, ref_reads: int, alt_reads: int,
                         read_error: float = READ_ERROR) -> np.ndarray:
    """Genotype probabilities (hom-ref, het, hom-alt) where the reads for each allele are
    known: P(variant) stays the model's, and het against hom-alt is the binomial likelihood
    of the counts (a hom-alt shows the reference in a ``read_error`` share of reads) times
    HET_PRIOR. The model's own split sees only CIGAR counts, in which a read that ends inside
    an indel's repeat supports neither allele (see docs/decisions.md)."""
    llr = alt_reads * np.log((1 - read_error) / 0.5) + ref_reads * np.log(read_error / 0.5)
    variant = float(gp[1]) + float(gp[2])
    # in log space: e^llr can overflow with hundreds of reads
    log_het, log_hom = np.log(HET_PRIOR), np.log(1.0 - HET_PRIOR) + llr
    top = max(log_het, log_hom)
    scale = variant / (np.exp(log_het - top) + np.exp(log_hom - top))
    return np.array([gp[0], np.exp(log_het - top) * scale, np.exp(log_hom - top) * scale])
