"""A chunk's records from the model's per-position probabilities."""

import numpy as np

from dvcall.features.chunk import PreparedChunk
from dvcall.features.counts import (
    counts_at,
    counts_at_sites,
    fragment_bases,
    reads_over,
    spanning_depth,
)
from dvcall.features.noise import indel_noise_rate
from dvcall.io.ploidy import Ploidy
from dvcall.io.regions import FLANK, Chunk
from dvcall.model.classes import INDEL, REF, SNP
from dvcall.postprocess.records import Call, resolve_indels, resolve_snps, runs
from dvcall.postprocess.snp_rules import (
    clean_error_rates,
    drop_snps_in_deleted_bases,
    with_clean_snps,
)
from dvcall.postprocess.thresholds import (
    EMIT_P_REF,
    INDEL_NOISE_TRAINED,
    PASS_QUAL,
    SNP_NOISE_TRAINED,
)


def resolve_chunk(chunk: Chunk, prepared: PreparedChunk, probs: np.ndarray,
                  genotypes: np.ndarray, ploidy: Ploidy | None = None,
                  calibration: dict | None = None, trained_indel_noise: float | None = None,
                  trained_snp_noise: float | None = None) -> list[Call]:
    """Calls with POS inside the chunk from the model's per-position probabilities; on
    one-copy positions (``ploidy``) with one ALT and GT 1. ``calibration``: the model's QUAL
    calibration, ``trained_indel_noise`` and ``trained_snp_noise`` the indel and clean-base
    noise of its training BAMs (None: the shipped model's)."""
    ref_text = prepared.ref_text

    def counts(position: int) -> np.ndarray:
        return counts_at(prepared.reads, chunk.window_start, position)

    def spanning(position: int) -> int:
        repeat = int(prepared.data["repeat_span"][position])
        return spanning_depth(prepared.reads, chunk.window_start, position, repeat)

    p_ref = probs[:, REF]
    # the likelier variant class (SNP on a tie)
    variant_class = np.where(probs[:, INDEL] > probs[:, SNP], INDEL, SNP)
    called = p_ref < EMIT_P_REF
    calls: list[Call] = []
    inside = slice(FLANK, FLANK + chunk.end - chunk.start)
    alt_error, alt_error_by_quality = clean_error_rates(
        prepared.reads, chunk.window_start, np.asarray(prepared.data["reference"][: len(p_ref)]))
    p_snp, snp_genotypes = with_clean_snps(chunk, prepared, p_ref, variant_class, genotypes,
                                           alt_error_by_quality, calibration)
    snp_noise = (alt_error, SNP_NOISE_TRAINED if trained_snp_noise is None else trained_snp_noise)
    is_snp = (p_snp < EMIT_P_REF) & ((variant_class == SNP) | (p_snp < p_ref))
    snp_positions = np.flatnonzero(is_snp[inside]) + FLANK
    over = reads_over(prepared.reads, chunk.window_start, snp_positions)
    calls.extend(resolve_snps(
        chunk.contig, ref_text, snp_positions, chunk.window_start,
        counts_at_sites(prepared.reads, chunk.window_start, snp_positions, over),
        fragment_bases(prepared.reads, chunk.window_start, snp_positions, over),
        p_snp[snp_positions], snp_genotypes[snp_positions], calibration, snp_noise))
    noise = (indel_noise_rate(prepared.reads, prepared.indels, chunk.window_start,
                              len(ref_text)),
             INDEL_NOISE_TRAINED if trained_indel_noise is None else trained_indel_noise)
    for a, b in runs(called & (variant_class == INDEL)):
        if b < FLANK - 2 or a > FLANK + (chunk.end - chunk.start) + 2:
            continue
        best = a + int(np.argmin(p_ref[a : b + 1]))
        calls.extend(resolve_indels(chunk.contig, ref_text, (a, b), chunk.window_start,
                                    prepared.indels, counts, spanning, float(p_ref[best]),
                                    genotypes[best], prepared.realigned, calibration, noise))
    unique = {}
    for call in drop_snps_in_deleted_bases(calls):
        if chunk.start <= call.pos < chunk.end:
            key = call.sort_key
            if key not in unique or unique[key].qual < call.qual:
                unique[key] = call
    result = sorted(unique.values(), key=lambda c: c.sort_key)
    for call in result:
        call.filters = ["PASS"] if call.qual >= PASS_QUAL[call.kind] else ["LowQual"]
    if ploidy is not None and ploidy.haploid:
        result = [c.as_haploid() if ploidy.copies_at(c.contig, c.pos) == 1 else c
                  for c in result]
    return result
