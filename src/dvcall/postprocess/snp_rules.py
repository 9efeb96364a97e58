"""Rules on SNP records beyond the model: the clean-base binomial test, and no SNP on bases
the deletion calls remove from both haplotypes."""

import numpy as np

from dvcall.encoding import BASES, N_CODE
from dvcall.features.chunk import PreparedChunk
from dvcall.features.counts import reads_over
from dvcall.features.indels import IndelEvidence, trim_shared_suffix
from dvcall.features.noise import looks_like_variant
from dvcall.features.projection import ProjectedReads
from dvcall.features.repeats import repeat_start
from dvcall.io.bam_decoder import ranges
from dvcall.io.regions import FLANK, Chunk
from dvcall.model.classes import SNP
from dvcall.postprocess.genotypes import calibrated_p_ref
from dvcall.postprocess.records import Call
from dvcall.postprocess.thresholds import (
    CLEAN_ALT_ERROR,
    CLEAN_BASE_QUALITY,
    CLEAN_END_MARGIN,
    CLEAN_ERROR_SPAN,
    CLEAN_INDEL_MARGIN,
    CLEAN_MAPQ,
    CLEAN_MAX_P_REF,
    CLEAN_PRIOR_BASES,
    CLEAN_QUALITY_BINS,
    PASS_QUAL,
    SNP_PRIOR,
)


def _clean_columns(reads: ProjectedReads, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[first, end)`` of the projection columns whose bases can be clean in each read of
    ``row``: CLEAN_END_MARGIN bases inside its aligned ends, and none in a read of MAPQ below
    CLEAN_MAPQ (an empty range)."""
    span = reads.ends[row] - reads.starts[row]
    end = np.where(reads.mapq[row] >= CLEAN_MAPQ, span - CLEAN_END_MARGIN, 0)
    return np.full(np.shape(row), CLEAN_END_MARGIN), end


def _clean_base(codes: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """bool, elementwise: an A/C/G/T of base quality >= CLEAN_BASE_QUALITY."""
    return (codes < 4) & (quality >= CLEAN_BASE_QUALITY)


def _clean(reads: ProjectedReads, row: np.ndarray, col: np.ndarray, codes: np.ndarray,
           quality: np.ndarray) -> np.ndarray:
    """bool, elementwise: the base at (``row``, ``col``) of the projected reads (its code
    and quality given, as the caller gathered them) is clean: :func:`_clean_base`, in a
    column :func:`_clean_columns` allows."""
    first, end = _clean_columns(reads, row)
    return (col >= first) & (col < end) & _clean_base(codes, quality)


_BIN_OF_QUALITY = np.searchsorted(np.asarray(CLEAN_QUALITY_BINS), np.arange(256),
                                  side="right") - 1


def quality_bin(quality: np.ndarray) -> np.ndarray:
    """The CLEAN_QUALITY_BINS bin of each clean base quality (elementwise; a table lookup
    for the reads' uint8 qualities)."""
    quality = np.asarray(quality)
    if quality.dtype == np.uint8:
        return _BIN_OF_QUALITY[quality]
    return np.searchsorted(np.asarray(CLEAN_QUALITY_BINS), quality, side="right") - 1


def clean_base_counts(reads: ProjectedReads, window_start: int, positions: np.ndarray
                      ) -> np.ndarray:
    """``(M, 4, B)`` counts of A C G T at window ``positions`` over clean bases only, by
    base-quality bin (CLEAN_QUALITY_BINS): base quality >= CLEAN_BASE_QUALITY, MAPQ >=
    CLEAN_MAPQ, >= CLEAN_END_MARGIN bases inside the read's aligned ends (a misplaced read
    end shows mismatches, however good its bases)."""
    return _count_clean(reads, *reads_over(reads, window_start, positions), len(positions))


def _count_clean(reads: ProjectedReads, site: np.ndarray, row: np.ndarray, col: np.ndarray,
                 sites: int) -> np.ndarray:
    """``(sites, 4, B)``: the clean bases among the reads' bases at (``row``, ``col``), each
    counted for its ``site``, by code and quality bin."""
    counts = np.zeros((sites, 4, len(CLEAN_QUALITY_BINS)), np.int64)
    codes, quality = reads.codes[row, col], reads.quality[row, col]
    ok = _clean(reads, row, col, codes, quality)
    np.add.at(counts, (site[ok], codes[ok].astype(np.int64), quality_bin(quality[ok])), 1)
    return counts


def clean_error_rate(reads: ProjectedReads, window_start: int, reference: np.ndarray
                     ) -> float:
    """The chunk's measured chance that a clean base (as :func:`clean_base_counts` counts
    them) shows one given wrong base (:func:`clean_error_counts`), shrunk towards
    CLEAN_ALT_ERROR by CLEAN_PRIOR_BASES bases, so a chunk of few reads keeps the stated Q20
    rate: sequencers and runs differ by more than tenfold."""
    return clean_error_rates(reads, window_start, reference)[0]


def clean_error_rates(reads: ProjectedReads, window_start: int, reference: np.ndarray
                      ) -> tuple[float, np.ndarray]:
    """``(pooled, (B,) per bin)``: :func:`clean_error_rate`, and the chance of one given
    wrong base per base-quality bin (CLEAN_QUALITY_BINS), each shrunk towards the pooled
    rate by the bases in which that rate expects one error: a bin of few bases, or one with
    no error seen yet, is not taken for error-free."""
    errors, bases = clean_error_counts_by_quality(reads, window_start, reference)
    pooled = ((errors.sum() + CLEAN_PRIOR_BASES * 3 * CLEAN_ALT_ERROR)
              / (bases.sum() + CLEAN_PRIOR_BASES) / 3)
    return float(pooled), (errors + 1.0) / (bases + 1.0 / (3.0 * pooled)) / 3.0


def clean_error_counts(reads: ProjectedReads, window_start: int, reference: np.ndarray
                       ) -> tuple[float, float]:
    """``(mismatches, clean bases)`` of :func:`clean_error_counts_by_quality`, over all
    bins."""
    errors, bases = clean_error_counts_by_quality(reads, window_start, reference)
    return float(errors.sum()), float(bases.sum())


def clean_error_counts_by_quality(reads: ProjectedReads, window_start: int,
                                  reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mismatches, clean bases)`` per base-quality bin (CLEAN_QUALITY_BINS) against the
    reference over positions that do not look like a variant
    (:func:`dvcall.features.noise.looks_like_variant`, counting all mismatches), on the reads
    that start in the chunk's first CLEAN_ERROR_SPAN bases (at full depth: positions a read
    length in)."""
    bins = len(CLEAN_QUALITY_BINS)
    length, width = len(reference), reads.codes.shape[1]
    first = int(reads.starts.min()) if reads.num_reads else 0
    lo, hi = first - window_start + width, first - window_start + CLEAN_ERROR_SPAN
    rows = np.flatnonzero(reads.starts < first + CLEAN_ERROR_SPAN)
    if len(rows) == 0 or hi <= lo:
        return np.zeros(bins), np.zeros(bins)
    # each read's clean columns inside [lo, hi), gathered as flat runs of the projection
    offset = reads.starts[rows] - window_start
    clean_first, clean_end = _clean_columns(reads, rows)
    col_first = np.maximum(clean_first, lo - offset)
    col_end = np.minimum(clean_end, min(hi, length) - offset)
    run = np.maximum(col_end - col_first, 0)
    flat = ranges(rows * width + col_first, run)
    codes, quality = reads.codes.reshape(-1)[flat], reads.quality.reshape(-1)[flat]
    index = flat - np.repeat(rows * width - offset, run)
    ref = np.asarray(reference)[index]
    ok = _clean_base(codes, quality) & (ref < 4)
    index, wrong, quality = index[ok] - lo, codes[ok] != ref[ok], quality[ok]
    depth = np.bincount(index, minlength=hi - lo)
    mismatches = np.bincount(index[wrong], minlength=hi - lo)
    quiet = ~looks_like_variant(mismatches, depth)[index]
    # one count per (bin, wrong or not)
    by_bin = np.bincount(quality_bin(quality[quiet]) * 2 + wrong[quiet],
                         minlength=2 * bins).reshape(bins, 2).astype(np.float64)
    return by_bin[:, 1], by_bin.sum(axis=1)


def clean_snp_p_ref(counts: np.ndarray, ref_index: np.ndarray,
                    alt_error: float | np.ndarray = CLEAN_ALT_ERROR) -> np.ndarray:
    """``(M,)`` P(no SNP) from clean base counts (``(M, 4)``, or ``(M, 4, B)`` by quality bin
    with ``alt_error`` per bin: :func:`clean_error_rates`): the binomial likelihood of the
    commonest other base's reads under a het (half the reads) against under sequencing error
    (``alt_error`` per wrong base: :func:`clean_error_rate`), with SNP_PRIOR. At the stated
    Q20 rate, 5 such reads in 22 give P(ref) 0.004, 3 in 22 0.997, 4 in 60 1.0; at HiSeq
    2500's measured 0.04%, 4 in 22 give 4e-6: depth and noise count, unlike a fixed number
    of reads; by bin, two Q40 reads weigh more than two Q20 ones."""
    counts = np.asarray(counts, np.float64)
    if counts.ndim == 2:
        counts = counts[:, :, None]
    alt_error = np.atleast_1d(np.asarray(alt_error, np.float64))
    rows = np.arange(len(counts))
    ref_reads = counts[rows, ref_index]  # (M, B)
    others = counts.sum(axis=2)
    others[rows, ref_index] = -1
    alt_reads = counts[rows, others.argmax(axis=1)]
    # the commonest of three other bases: under error, three bases' chances to gather reads
    llr = (alt_reads @ np.log(0.5 / alt_error) + ref_reads @ np.log(0.5 / (1 - 3 * alt_error))
           - np.log(3.0) * (alt_reads.sum(axis=1) > 0))
    log_odds = llr + np.log(SNP_PRIOR / (1 - SNP_PRIOR))
    return 1.0 / (1.0 + np.exp(np.clip(log_odds, -700, 700)))


def indels_near(evidence: IndelEvidence, positions: np.ndarray,
                margin: int = CLEAN_INDEL_MARGIN) -> np.ndarray:
    """``(M, E)`` bool: position m lies within ``margin`` bases of event e's REF span."""
    positions = np.asarray(positions, np.int64)
    if len(evidence.anchor) == 0 or len(positions) == 0:
        return np.zeros((len(positions), len(evidence.anchor)), bool)
    span = np.array([len(ref) for ref, _ in evidence.alleles], np.int64)
    lo, hi = evidence.anchor - margin, evidence.anchor + span - 1 + margin
    return (positions[:, None] >= lo[None, :]) & (positions[:, None] <= hi[None, :])


def shifted_indel_bases(ref: str, anchor: int, ref_allele: str, alt_allele: str,
                        position: int) -> set[str]:
    """The bases a read of the haplotype with this indel shows at window ``position`` where
    the aligner placed it without the gap: held by its bases left of the indel (the
    haplotype's base at the same index) or right of it (shifted by the length change)."""
    shift = len(alt_allele) - len(ref_allele)

    def haplotype(i: int) -> str:  # the haplotype's base i, without building it
        if i < anchor:
            return ref[i]
        return alt_allele[i - anchor] if i < anchor + len(alt_allele) else ref[i - shift]

    return {haplotype(i) for i in (position, position + shift)
            if 0 <= i < len(ref) + shift}


def indel_explains_base(evidence: IndelEvidence, ref: str, positions: np.ndarray,
                        bases: np.ndarray, margin: int = CLEAN_INDEL_MARGIN) -> np.ndarray:
    """``(M,)``: the index of a read's indel (in ``evidence``) within ``margin`` bases of
    ``positions[m]`` that would show base code ``bases[m]`` there in a read aligned through
    it without the gap (:func:`shifted_indel_bases`), so that base may be a misplaced read of
    the indel rather than a SNP; -1 where none does (an indel whose haplotype shows another
    base there cannot explain it)."""
    near = indels_near(evidence, positions, margin)
    explained = np.full(len(near), -1, np.int64)
    for m, e in zip(*np.nonzero(near)):
        if explained[m] >= 0:
            continue
        ref_allele, alt_allele = evidence.alleles[e]
        base = BASES[int(bases[m])] if int(bases[m]) < 4 else "N"
        if base in shifted_indel_bases(ref, int(evidence.anchor[e]), ref_allele, alt_allele,
                                       int(positions[m])):
            explained[m] = e
    return explained


def held_read_counts(prepared: PreparedChunk, reference: np.ndarray, window_start: int,
                     position: int, event: int) -> np.ndarray:
    """``(4, B)`` clean base counts at window ``position`` (as :func:`clean_base_counts`) over
    the reads that cannot be misplaced reads of indel ``event``: no indel of their own over
    its repeat, which they cover with the indel's length and CLEAN_END_MARGIN more each side,
    matching the reference there but at ``position``. A read of the indel's haplotype run
    through without the gap shows the haplotype shifted on one side of it, so it mismatches
    somewhere over that span. ``reference``: the window's base codes."""
    reads, evidence = prepared.reads, prepared.indels
    anchor, (ref_allele, alt_allele) = int(evidence.anchor[event]), evidence.alleles[event]
    extra = abs(len(alt_allele) - len(ref_allele)) + CLEAN_END_MARGIN
    lo = repeat_start(reference, anchor) - extra
    hi = anchor + max(len(ref_allele), int(prepared.data["repeat_span"][anchor])) + extra
    _, row, col = reads_over(reads, window_start, np.array([position]))
    held = ((reads.starts[row] <= window_start + max(lo, 0))
            & (reads.ends[row] > window_start + min(hi, len(reference) - 1)))
    own = evidence.read[(evidence.anchor >= lo) & (evidence.anchor <= hi)]
    held &= ~np.isin(row, own)
    row, col = row[held], col[held]
    span = np.arange(max(lo, 0), min(hi, len(reference) - 1) + 1)
    cells = (span[None, :] + window_start - reads.starts[row][:, None]).astype(np.int64)
    codes = reads.codes[row[:, None], cells]
    ref = reference[span][None, :]
    wrong = (codes < 4) & (ref < 4) & (codes != ref) & (span[None, :] != position)
    fits = ~wrong.any(axis=1)
    return _count_clean(reads, np.zeros(int(fits.sum()), np.int64), row[fits], col[fits], 1)[0]


def with_clean_snps(chunk: Chunk, prepared: PreparedChunk, p_ref: np.ndarray,
                     variant_class: np.ndarray, genotypes: np.ndarray, alt_error: np.ndarray,
                     calibration: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(P(ref) for SNPs, genotype probabilities)``: the model's, except where its clean
    bases alone make a SNP more likely than the model does and than CLEAN_MAX_P_REF allows
    (:func:`clean_snp_p_ref`) and no read's indel there explains the alternative base
    (:func:`indel_explains_base`): the classifier saw few hets with skewed allele balance.
    Tested: the model's candidates (P(ref) < 1) where it writes no
    PASS SNP (its P(ref), calibrated by ``calibration``, at least the PASS bound).
    ``alt_error``: the chunk's rate of one given wrong base per base-quality bin
    (:func:`clean_error_rates`)."""
    snp_pass = CLEAN_MAX_P_REF
    reference = np.asarray(prepared.data["reference"][: len(p_ref)])
    own = slice(FLANK, FLANK + chunk.end - chunk.start)  # the chunk's positions, no flanks
    inside = FLANK + np.flatnonzero((p_ref[own] < 1.0) & (reference[own] < N_CODE))
    no_pass = (calibrated_p_ref(p_ref[inside], "SNP", calibration)
               >= 10.0 ** (-PASS_QUAL["SNP"] / 10))
    unsure = inside[no_pass | (variant_class[inside] != SNP)]
    if len(unsure) == 0:
        return p_ref, genotypes
    counts = clean_base_counts(prepared.reads, chunk.window_start, unsure)
    clean = clean_snp_p_ref(counts, reference[unsure], alt_error)
    sure = (clean < snp_pass) & (clean < p_ref[unsure])
    unsure, clean, counts = unsure[sure], clean[sure], counts[sure].sum(axis=2)
    counts[np.arange(len(unsure)), reference[unsure]] = -1
    explained = indel_explains_base(prepared.indels, prepared.ref_text, unsure,
                                    counts.argmax(axis=1))
    for m in np.flatnonzero(explained >= 0):
        # the base still makes a SNP from the reads that cannot be the indel's, misplaced
        held = held_read_counts(prepared, reference, chunk.window_start, int(unsure[m]),
                                int(explained[m]))
        clean[m] = clean_snp_p_ref(held[None], reference[unsure[m : m + 1]], alt_error)[0]
    away = (explained < 0) | ((clean < snp_pass) & (clean < p_ref[unsure]))
    unsure, clean = unsure[away], clean[away]
    if len(unsure) == 0:
        return p_ref, genotypes
    p_snp, snp_genotypes = p_ref.copy(), np.array(genotypes, copy=True)
    p_snp[unsure] = clean
    snp_genotypes[unsure] = np.stack([clean, 1.0 - clean, np.zeros_like(clean)], axis=1)
    return p_snp, snp_genotypes


def drop_snps_in_deleted_bases(calls: list[Call]) -> list[Call]:
    """Calls without the SNPs on bases that the deletion calls remove from both haplotypes
    (a hom-alt deletion, or two het deletions over the base: overlapping deletions cannot
    share a haplotype). Reads that the aligner ran through a deletion's edge show such SNPs."""
    deleted = []  # (first, last) base removed, once per haplotype
    for c in calls:
        if c.kind == "INDEL":
            deleted += [span for a in c.genotype if a > 0
                        and (span := _deleted_bases(c.pos, c.ref, c.alts[a - 1])) is not None]
    return [c for c in calls if c.kind != "SNP"
            or sum(lo <= c.pos <= hi for lo, hi in deleted) < 2]


def _deleted_bases(pos: int, ref: str, alt: str) -> tuple[int, int] | None:
    """``(first, last)`` position an ALT deletes (None unless it only deletes): the REF
    bases left once the shared suffix, then the shared prefix, are trimmed."""
    ref, alt = trim_shared_suffix(ref, alt)
    prefix = 0
    while prefix < min(len(ref), len(alt)) and ref[prefix] == alt[prefix]:
        prefix += 1
    if prefix != len(alt) or prefix == len(ref):
        return None
    return pos + prefix, pos + len(ref) - 1
