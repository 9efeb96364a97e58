"""QUAL, GQ and het vs hom-alt from the model's probabilities and the reads' allele counts."""

import functools

import numpy as np

from dvcall.postprocess.thresholds import (
    GQ_CAP,
    HET_PRIOR,
    QUAL_CALIBRATION,
    READ_ERROR,
)


def phred(p_error, cap: float):
    """-10 log10 of an error chance, at most ``cap`` (a float; elementwise on arrays)."""
    value = np.minimum(-10.0 * np.log10(np.maximum(p_error, 1e-30)), cap)
    return float(value) if np.ndim(value) == 0 else value


def calibrated_p_ref(prob_ref, kind: str, calibration: dict | None = None):
    """The model's P(ref) calibrated for the variant kind (``calibration``, the model file's,
    else QUAL_CALIBRATION: its log-odds of a variant scaled and shifted); elementwise on
    arrays. P(ref) 1 stays 1."""
    a, b = (calibration or QUAL_CALIBRATION)[kind]
    p = np.clip(np.asarray(prob_ref, np.float64), 1e-300, 1.0)
    with np.errstate(divide="ignore"):
        log_odds = a * (np.log1p(-p) - np.log(p)) + b
    return 1.0 / (1.0 + np.exp(np.minimum(log_odds, 700.0)))


def with_read_noise(p_ref, alt_reads, depth, rate: float, trained_rate: float, prior: float):
    """A calibrated P(ref) with this BAM's noise in place of the noise the model was
    trained under: the odds against the variant are the model's plus the change in the odds
    that sequencing noise made the ``alt_reads`` of ``depth`` (each read shows the allele
    with chance ``rate``, against ``trained_rate``; a het shows it in half), at the ``prior``
    chance of such a variant. Only a noisier BAM moves it, and only where noise could
    explain the reads: a few reads of many, not a hom or a well-read het. Indels use the
    chunk's lone-indel rate, SNPs its clean bases' rate of one given wrong base. Elementwise
    on arrays of ``p_ref``, ``alt_reads`` and ``depth``."""
    if rate <= trained_rate:
        return p_ref
    p = np.asarray(p_ref, np.float64)
    k = np.asarray(alt_reads, np.float64)
    n = np.maximum(np.asarray(depth, np.float64), k)

    def noise_odds(e: float) -> np.ndarray:
        log_ratio = k * np.log(e / 0.5) + (n - k) * np.log((1 - e) / 0.5)
        return np.exp(np.minimum(log_ratio + np.log((1 - prior) / prior), 700.0))

    odds = p / np.maximum(1.0 - p, 1e-300) + noise_odds(rate) - noise_odds(trained_rate)
    value = np.where(k > 0, odds / (1.0 + odds), p)
    return float(value) if value.ndim == 0 else value


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
    return with_hom_log_ratio(gp, llr)


def _site_sums(site: np.ndarray, first: np.ndarray, first_terms: np.ndarray,
               second: np.ndarray, second_terms: np.ndarray, sites: int) -> np.ndarray:
    """Per site, the sum of ``first_terms`` where ``first`` plus that of ``second_terms``
    where ``second`` (elementwise masks over the sites' bases)."""
    return (np.bincount(site[first], first_terms[first], sites)
            + np.bincount(site[second], second_terms[second], sites))


def snp_hom_log_ratio(site: np.ndarray, codes: np.ndarray, quality: np.ndarray,
                      ref_index: np.ndarray, alt_index: np.ndarray, read_error: float
                      ) -> np.ndarray:
    """Per SNP site, log P(bases | hom-alt) - log P(bases | het) from each read's base and
    its quality (``site``: each base's index into ``ref_index`` and ``alt_index``): a base of
    quality q is wrong with chance 10^(-q/10), and a hom-alt shows the reference with at
    least ``read_error`` (paralogs, mismapped reads). A reference base of quality 2 is
    nearly as likely an error on a hom-alt as a read of a het; one of quality 40 is not.
    Bases of other alleles count for neither."""
    error = np.minimum(10.0 ** (-np.asarray(quality, np.float64) / 10.0), 0.75)
    ref_on_hom = np.maximum(error / 3.0, read_error)
    alt_on_hom = 1.0 - np.maximum(error, read_error)
    on_het = 0.5 * (1.0 - error) + 0.5 * error / 3.0
    return _site_sums(site, codes == alt_index[site], np.log(alt_on_hom / on_het),
                      codes == ref_index[site], np.log(ref_on_hom / on_het), len(ref_index))


def second_alt_log_ratio(site: np.ndarray, codes: np.ndarray, quality: np.ndarray,
                         first_index: np.ndarray, second_index: np.ndarray, noise: float
                         ) -> np.ndarray:
    """Per hom-alt SNP site, log P(bases | GT 1/2) - log P(bases | GT 1/1) where its second
    allele is ``second_index`` (bases by ``site`` as in :func:`snp_hom_log_ratio`): on a 1/1
    a base of the second allele is an error (chance its quality's over three wrong bases, at
    least this BAM's clean-base ``noise`` of one given wrong base), on a 1/2 half the reads
    carry it. Two Q2 bases of a second allele are nearly as likely errors as a second
    haplotype; two Q40 bases are not."""
    error = np.minimum(10.0 ** (-np.asarray(quality, np.float64) / 10.0), 0.75)
    wrong = np.maximum(error / 3.0, noise)
    on_two = 0.5 * (1.0 - error) + 0.5 * error / 3.0
    return _site_sums(site, codes == second_index[site], np.log(on_two / wrong),
                      codes == first_index[site], np.log(on_two / (1.0 - wrong)),
                      len(first_index))


def with_hom_log_ratio(gp: np.ndarray, llr) -> np.ndarray:
    """Genotype probabilities with P(variant) the model's and het against hom-alt from the
    reads' log-likelihood ratio ``llr`` (hom-alt over het) times HET_PRIOR; ``gp`` (3,) with
    one ``llr``, or (M, 3) with M."""
    gp = np.asarray(gp, np.float64)
    variant = gp[..., 1] + gp[..., 2]
    # in log space: e^llr can overflow with hundreds of reads
    log_het, log_hom = np.log(HET_PRIOR), np.log(1.0 - HET_PRIOR) + np.asarray(llr, np.float64)
    top = np.maximum(log_het, log_hom)
    scale = variant / (np.exp(log_het - top) + np.exp(log_hom - top))
    return np.stack([gp[..., 0], np.exp(log_het - top) * scale,
                     np.exp(log_hom - top) * scale], axis=-1)


@functools.cache
def genotypes_of(ploidy: int, alleles: int) -> tuple[tuple[int, ...], ...]:
    """Every genotype of ``alleles`` alleles in VCF order (the order of a Number=G field)."""
    if ploidy == 1:
        return tuple((a,) for a in range(alleles))
    return tuple((j, k) for k in range(alleles) for j in range(k + 1))


@functools.cache
def _copies(ploidy: int, alleles: int) -> np.ndarray:
    """``(genotypes, alleles)``: each genotype's share of copies of each allele."""
    return np.array([[g.count(a) / ploidy for a in range(alleles)]
                     for g in genotypes_of(ploidy, alleles)])


def read_log10_likelihoods(allele_depths: list[int], ploidy: int, error: float) -> np.ndarray:
    """log10 P(reads | genotype) for every genotype (VCF order): a read shows an allele of the
    genotype in proportion to its copies, and any other allele with chance ``error``."""
    depths = np.asarray(allele_depths, np.float64)
    share = _copies(ploidy, len(depths))
    p = share * (1.0 - error) + (1.0 - share) * error / max(len(depths) - 1, 1)
    return np.log10(p) @ depths


def phred_likelihoods(qual: float, genotype: tuple[int, ...], allele_depths: list[int],
                      error: float, split: tuple[float, float] | None = None) -> list[int]:
    """PL (Number=G) of a variant record, in VCF order: 0 for GT; for hom-ref the record's
    QUAL (-10 log10 P(no variant)); for every other genotype its Phred likelihood relative to
    GT, from ``split`` (P(het), P(hom-alt) given a variant: the caller's own split) for one
    ALT on two copies, else from the reads (:func:`read_log10_likelihoods`). No entry is
    below GT's, so GT is always the likeliest genotype stated."""
    ploidy = len(genotype)
    order = genotypes_of(ploidy, len(allele_depths))
    called = order.index(tuple(sorted(genotype)))
    if split is not None and ploidy == 2 and len(allele_depths) == 2:
        log10 = split_log10_likelihoods(np.array([split[0]]), np.array([split[1]]))
    else:
        log10 = read_log10_likelihoods(allele_depths, ploidy, error)[None, :]
    return pl_from_log10(log10, np.array([called]), np.array([qual]))[0].tolist()


def split_log10_likelihoods(het: np.ndarray, hom: np.ndarray) -> np.ndarray:
    """``(M, 3)`` log10 likelihoods of hom-ref, het and hom-alt (VCF order, one ALT, two
    copies) from the caller's split P(het), P(hom-alt) given a variant; hom-ref's entry is
    replaced by QUAL in :func:`pl_from_log10`."""
    total = np.maximum(het + hom, 1e-300)
    split = np.stack([np.ones_like(total), het / total, hom / total], axis=-1)
    return np.log10(np.maximum(split, 1e-300))


def pl_from_log10(log10: np.ndarray, called: np.ndarray, qual: np.ndarray) -> np.ndarray:
    """``(M, G)`` PL of M records from their genotypes' log10 likelihoods (``(M, G)``), the
    index of GT among them and QUAL (the hom-ref entry): relative to GT, never below 0."""
    rows = np.arange(len(called))
    pl = np.maximum(0.0, np.rint(-10.0 * (log10 - log10[rows, called][:, None])))
    pl = pl.astype(np.int64)
    pl[rows, called] = 0
    pl[:, 0] = np.rint(np.asarray(qual, np.float64)).astype(np.int64)
    return pl


def quality_of_genotype(pl: list[int], genotype: tuple[int, ...], alleles: int) -> int:
    """GQ: the smallest PL of any genotype other than GT, capped at GQ_CAP (so never above
    the hom-ref entry, which is QUAL)."""
    called = genotypes_of(len(genotype), alleles).index(tuple(sorted(genotype)))
    return int(genotype_qualities(np.array([pl]), np.array([called]))[0])


def genotype_qualities(pl: np.ndarray, called: np.ndarray) -> np.ndarray:
    """GQ of M records (:func:`quality_of_genotype`) from their ``(M, G)`` PL."""
    if pl.shape[1] < 2:
        return np.zeros(len(pl), np.int64)
    others = pl.astype(np.float64)
    others[np.arange(len(called)), called] = np.inf
    return np.minimum(others.min(axis=1), GQ_CAP).astype(np.int64)
