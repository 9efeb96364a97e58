"""gVCF content: reference blocks between a chunk's variant records, and variant records with
the unobserved allele ``<*>``.

A reference position's PLs are the Phred likelihoods of a het and of a hom-alt genotype
against hom-ref, and its GQ the Phred posterior of a variant (at most 99). Where the model
classified the position (a candidate: P(ref) < 1) they come from the model's P(ref) and its
genotype head; elsewhere from the bases: each base that matches the reference favours
hom-ref by its quality, each other base (or deletion) favours a variant, as if it were the
alternative allele (so the confidence is never overstated), and GQ weighs them with the
genome's priors (SNP_PRIOR, HET_PRIOR), as the model's P(ref) does. Consecutive positions form
one block while their GQ stays in one band (``band`` wide, as DeepVariant's
``--gvcf_gq_binsize``) and coverage neither starts nor stops; a block states its least GQ and
PLs, its mean depth (DP) and its least (MIN_DP). Without reads GQ, DP and PL are 0. On a
one-copy contig a block has GT 0 and two PLs.
"""

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dvcall.encoding import DELETION, N_CODE
from dvcall.features.chunk import PreparedChunk
from dvcall.io.regions import FLANK, Chunk
from dvcall.model.classes import HET, HOM_ALT, REF
from dvcall.postprocess.genotypes import (
    calibrated_p_ref,
    genotypes_of,
    read_log10_likelihoods,
)
from dvcall.postprocess.records import Call
from dvcall.postprocess.thresholds import GQ_CAP, HET_PRIOR, SNP_PRIOR

UNOBSERVED = "<*>"
_MAX_BASEQ = 60
_E = 10.0 ** (-np.arange(_MAX_BASEQ + 1) / 10.0)
_E[0] = 0.75  # a Q0 base says nothing: as likely any base
# 10 log10 of P(base | hom-ref) / P(base | het), P(base | hom-ref) / P(base | hom-alt), for a
# base that matches the reference and for one that does not (taken to be the ALT)
_HET_REF = 10 * np.log10((1 - _E) / (0.5 * (1 - _E) + _E / 6))
_HET_ALT = 10 * np.log10((_E / 3) / (0.5 * (1 - _E) + _E / 6))
_HOM_REF = 10 * np.log10((1 - _E) / (_E / 3))
_HOM_ALT = -_HOM_REF
_NOMINAL_Q = 20  # matching bases of this quality or more count as this quality


@dataclass
class Blocks:
    """A chunk's reference blocks, as arrays: block ``i`` covers ``[starts[i], ends[i])``."""

    contig: str
    starts: np.ndarray
    ends: np.ndarray
    refs: list[str]  # the reference base at each start
    gq: np.ndarray
    depth: np.ndarray  # mean depth, rounded
    min_depth: np.ndarray
    het_pl: np.ndarray  # the block's least PL of a het (unused on one copy)
    hom_pl: np.ndarray  # ... of a hom-alt (of the ALT on one copy)
    copies: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)


def reference_confidence(chunk: Chunk, prepared: PreparedChunk, probs: np.ndarray,
                         genotypes: np.ndarray, copies: np.ndarray,
                         calibration: dict | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(GQ, het PL, hom-alt PL, depth)`` of each position of the chunk (see the module
    docstring)."""
    n = chunk.end - chunk.start
    ref_codes = prepared.data["reference"]
    het, hom, depth = _base_likelihoods(prepared.reads, ref_codes, chunk.window_start + FLANK,
                                        n) if prepared.reads.num_reads else (
        np.zeros(n), np.zeros(n), np.zeros(n, np.int64))
    # P(variant | bases) with the genome's priors, as a Phred GQ
    one = copies == 1
    het_prior = np.where(one, 0.0, SNP_PRIOR * HET_PRIOR)
    hom_prior = np.where(one, SNP_PRIOR, SNP_PRIOR * (1 - HET_PRIOR))
    odds = het_prior * 10 ** (-np.maximum(het, 0) / 10) + hom_prior * 10 ** (
        -np.maximum(hom, 0) / 10)
    gq = -10 * np.log10(np.maximum(odds / (1 + odds), 1e-30))
    inside = slice(FLANK, FLANK + n)
    ran = probs[inside, REF] < 1.0  # the model classified these: its probabilities decide
    if ran.any():
        # calibrated as SNP records' QUAL is
        p_ref = calibrated_p_ref(probs[inside, REF][ran], "SNP", calibration)
        gp = np.maximum(genotypes[inside][ran], 1e-12)
        variant = np.maximum(1.0 - p_ref, 1e-30)
        share = gp[:, HET] / (gp[:, HET] + gp[:, HOM_ALT])
        het[ran] = 10 * np.log10(p_ref / np.maximum(variant * share, 1e-30))
        hom[ran] = 10 * np.log10(p_ref / np.maximum(variant * (1 - share), 1e-30))
        gq[ran] = -10 * np.log10(variant)
    unknown = (ref_codes[inside] >= N_CODE) | (depth == 0)
    het[unknown] = hom[unknown] = gq[unknown] = 0.0
    gq = np.minimum(np.rint(gq), GQ_CAP).astype(np.int64)
    return gq, np.maximum(het, 0.0), np.maximum(hom, 0.0), depth


def _base_likelihoods(reads, ref_codes: np.ndarray, first: int, n: int):
    """``(het PL, hom-alt PL, depth)`` of positions ``first .. first + n`` from the bases,
    without a pass of float work over every base: depth comes from the reads' spans, and only
    the bases that differ from the reference (few) and the matching bases below Q20 are
    visited one by one; every other matching base counts as a Q20 one (a lower bound)."""
    codes = reads.codes
    width = codes.shape[1]
    window_start = first - FLANK
    offset = reads.starts - window_start  # window column of each read's first column
    padded = np.concatenate([ref_codes, np.full(width + 1, N_CODE, np.int8)])
    ref_rows = sliding_window_view(padded, width)[np.clip(offset, 0, len(ref_codes))]
    diff = np.zeros(n + 1, np.int64)
    np.add.at(diff, np.clip(offset - FLANK, 0, n), 1)
    np.add.at(diff, np.clip(reads.ends - first, 0, n), -1)
    depth = np.cumsum(diff[:n])

    # the few bases visited one by one: those that differ, and matching ones below Q20
    rows, cols = np.nonzero((codes <= DELETION) & ((codes != ref_rows)
                                                   | (reads.quality < _NOMINAL_Q)))
    at = offset[rows] - FLANK + cols
    keep = (at >= 0) & (at < n)
    rows, cols, at = rows[keep], cols[keep], at[keep]
    code = codes[rows, cols]
    quality = np.minimum(reads.quality[rows, cols], _MAX_BASEQ)
    differs = code != ref_rows[rows, cols]
    unknown = code == N_CODE  # an N base: no evidence either way
    depth = depth - np.bincount(at[unknown], minlength=n)
    alt = differs & ~unknown
    low = ~differs & ~unknown
    matching = depth - np.bincount(at[alt], minlength=n)
    het = (matching * _HET_REF[_NOMINAL_Q] + np.bincount(at[alt], _HET_ALT[quality[alt]], n)
           + np.bincount(at[low], _HET_REF[quality[low]] - _HET_REF[_NOMINAL_Q], n))
    hom = (matching * _HOM_REF[_NOMINAL_Q] + np.bincount(at[alt], _HOM_ALT[quality[alt]], n)
           + np.bincount(at[low], _HOM_REF[quality[low]] - _HOM_REF[_NOMINAL_Q], n))
    return het, hom, depth


def reference_blocks(chunk: Chunk, ref_text: str, confidence, calls: list[Call],
                     copies: np.ndarray, band: int) -> Blocks:
    """The chunk's positions that no record covers, as blocks (see the module docstring);
    ``copies``: each position's ploidy."""
    gq, het, hom, depth = confidence
    n = chunk.end - chunk.start
    free = np.ones(n, bool)
    for call in calls:
        lo, hi = call.pos - chunk.start, call.pos - chunk.start + len(call.ref)
        free[max(lo, 0) : max(min(hi, n), 0)] = False
    key = np.where(free, gq // band * 4 + (depth > 0) * 2 + (copies == 1), -1)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(key)) + 1])
    ends = np.append(starts[1:], n)
    kept = free[starts]
    starts, ends = starts[kept], ends[kept]
    if len(starts) == 0:
        empty = np.zeros(0, np.int64)
        return Blocks(chunk.contig, empty, empty, [], empty, empty, empty, empty, empty, empty)
    # per block: reduce over [start, end) (reduceat over the starts and the ends between)
    bounds = np.stack([starts, ends], 1).ravel()
    bounds = bounds[bounds < n] if ends[-1] == n else bounds

    def least(values):
        return np.minimum.reduceat(values, bounds)[::2][: len(starts)]

    mean_depth = np.add.reduceat(depth, bounds)[::2][: len(starts)] / (ends - starts)
    window = FLANK + starts
    return Blocks(chunk.contig, chunk.start + starts, chunk.start + ends,
                  [ref_text[w] for w in window.tolist()], least(gq),
                  np.rint(mean_depth).astype(np.int64), least(depth),
                  np.rint(least(het)).astype(np.int64), np.rint(least(hom)).astype(np.int64),
                  copies[starts])


def with_unobserved_allele(call: Call) -> Call:
    """The record as a gVCF states it: ALTs plus ``<*>`` (no read shows it), AD 0 for it,
    and a PL for every genotype: a genotype with ``<*>`` has the PL of the same genotype with
    the reference instead, plus how much less likely the reads make it."""
    ploidy = len(call.genotype)
    alleles = len(call.alts) + 1
    before = genotypes_of(ploidy, alleles)
    after = genotypes_of(ploidy, alleles + 1)
    depths = call.allele_depths + [0]
    log10 = read_log10_likelihoods(depths, ploidy, call.read_error)
    pl = []
    for genotype in after:
        if alleles not in genotype:
            pl.append(call.pl[before.index(genotype)])
            continue
        instead = tuple(sorted(0 if a == alleles else a for a in genotype))
        penalty = 10.0 * (log10[after.index(instead)] - log10[after.index(genotype)])
        pl.append(call.pl[before.index(instead)] + int(max(0, round(penalty))))
    return Call(call.contig, call.pos, call.ref, call.alts + [UNOBSERVED], call.qual,
                call.genotype, call.gq, call.depth, depths, call.kind, call.filters, pl)


def merged_at_one_position(calls: list[Call]) -> list[Call]:
    """The records with records of one POS merged into one (a gVCF has one record per
    position): REF the longest, every ALT extended to it, GT 1/2 of two hets, else the
    likelier record's genotype; PL from the reads."""
    out: list[Call] = []
    for call in calls:
        if out and out[-1].pos == call.pos and out[-1].contig == call.contig:
            out[-1] = _merge(out[-1], call)
        else:
            out.append(call)
    return out


def _merge(a: Call, b: Call) -> Call:
    ref = a.ref if len(a.ref) >= len(b.ref) else b.ref
    alts = ([alt + ref[len(a.ref):] for alt in a.alts]
            + [alt + ref[len(b.ref):] for alt in b.alts])
    depths = ([max(a.allele_depths[0], b.allele_depths[0])] + a.allele_depths[1:]
              + b.allele_depths[1:])
    best, offset = (a, 0) if a.qual >= b.qual else (b, len(a.alts))
    if len(a.genotype) == 2 and 0 in a.genotype and 0 in b.genotype:
        genotype = (1, len(a.alts) + 1)
    else:
        genotype = tuple(sorted(x + offset if x else 0 for x in best.genotype))
    kind = "INDEL" if "INDEL" in (a.kind, b.kind) else "SNP"
    merged = Call(a.contig, a.pos, ref, alts, max(a.qual, b.qual), genotype, 0,
                  max(a.depth, b.depth), depths, kind, list(best.filters))
    return merged.set_likelihoods()
