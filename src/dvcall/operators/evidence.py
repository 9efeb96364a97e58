"""Per-position evidence features: what a real caller needs beyond the seed's 4-base pileup.

The seed's input has no reference and no indel evidence, so it cannot tell a variant from the
reference. When a data dict carries the optional keys below, the pipeline builds ``(L, C)``
features from one scatter-add of all per-read channels (see :func:`scatter_rows`):

=================  ==========  ===========================================================
key                shape       meaning
=================  ==========  ===========================================================
reference          (L,)        reference base codes 0..3 = A C G T, 4 = N
deletions          (R, W)      1 where the read has a deletion at that reference position
insertions         (R, W)      1 where the read has an insertion right after that position
deletion_starts    (R, W)      1 where a deletion of the read starts right after that position
soft_clips         (R, W)      1 on the aligned base next to a soft clip
read_flags         (R, W)      the three above packed in one array (bits 1, 2, 4); wins
                               over them
flag_counts        (L, 3)      per position, the reads with an insertion, a deletion start
                               and a soft clip there (the caller's form: counted on the host
                               from its few events, no per-base array); wins over all four
strand             (R,)        1 for a read on the reverse strand
mapping_quality    (R,)        Phred MAPQ of the read
read_mask          (R,)        1 for a real read, 0 for padding added by bucketing
expected_depth     ()          the sample's mean depth (else: the mean over covered positions)
repeat_span        (L,)        bases right of a position an indel there can slide (1: none)
soft_clipped       (R,)        1 for a read with a soft clip (per-allele evidence only)
read_indels        (R,)        the read's insertions + deletions (per-allele evidence only)
read_insertion     (R,)        window position of the read's insertion anchor, -1 for none
                               (per-allele evidence only)
=================  ==========  ===========================================================

A pipeline built with ``allele_evidence`` appends the per-allele read evidence of
:mod:`dvcall.operators.allele_evidence` at candidate positions to these features.

Missing keys take neutral defaults (no indels, forward strand, MAPQ 60, every read real), so
a seed-style dict still runs through an evidence model.
"""

import jax
import jax.numpy as jnp
import numpy as np

from dvcall.encoding import DELETION, DELETION_START_FLAG, INSERTION_FLAG, NO_BASE, SOFT_CLIP_FLAG
from dvcall.operators.allele_evidence import allele_features
from dvcall.operators.pileup import COUNT_EPS, DifferentiablePileup, scatter_codes, scatter_rows

# The data keys of the table above: the pipeline hands exactly these to position_evidence.
EVIDENCE_KEYS = ("reference", "deletions", "insertions", "deletion_starts", "soft_clips",
                 "read_flags", "flag_counts",
                 "strand", "mapping_quality", "read_mask", "expected_depth", "repeat_span",
                 "soft_clipped", "read_indels", "read_insertion")

FEATURE_NAMES = (
    "ref_A", "ref_C", "ref_G", "ref_T",
    "pileup_A", "pileup_C", "pileup_G", "pileup_T",
    "ref_fraction", "alt1_fraction", "alt2_fraction",
    "deletion_fraction", "insertion_fraction", "deletion_start_fraction", "soft_clip_fraction",
    "log_depth", "relative_depth", "covered",
    "mean_mapq", "mean_base_weight",
    "alt_forward_fraction", "forward_fraction", "snp_hom_vs_het_llr",
    "spanning_fraction", "indel_spanning_fraction", "indel_hom_vs_het_llr",
    "log_indel_reads",
)
NUM_FEATURES = len(FEATURE_NAMES)
# Bumped whenever a feature's meaning changes, so a model trained on other features is refused.
FEATURE_SET = 6
DEFAULT_MAPQ = 60.0


def _evidence_inputs(data: dict, reads: jax.Array) -> dict:
    rows, width = reads.shape[-3], reads.shape[-2]
    zeros_rw = jnp.zeros((rows, width), jnp.float32)

    def get(key, default):
        value = data.get(key)
        return default if value is None else jnp.asarray(value, jnp.float32)

    return {
        "deletions": get("deletions", zeros_rw),
        "insertions": get("insertions", zeros_rw),
        "deletion_starts": get("deletion_starts", zeros_rw),
        "soft_clips": get("soft_clips", zeros_rw),
        "strand": get("strand", jnp.zeros((rows,), jnp.float32)),
        "mapping_quality": get("mapping_quality", jnp.full((rows,), DEFAULT_MAPQ, jnp.float32)),
        "read_mask": get("read_mask", jnp.ones((rows,), jnp.float32)),
        "soft_clipped": get("soft_clipped", jnp.zeros((rows,), jnp.float32)),
        "read_indels": get("read_indels", jnp.zeros((rows,), jnp.float32)),
        "read_insertion": get("read_insertion", jnp.full((rows,), -1.0, jnp.float32)),
    }


def reference_one_hot(reference: jax.Array | None, reference_length: int) -> jax.Array:
    """``(L, 4)`` one-hot of reference codes; N (code 4) and a missing reference are zeros."""
    if reference is None:
        return jnp.zeros((reference_length, 4), jnp.float32)
    reference = jnp.asarray(reference)
    if reference.ndim == 2:
        return reference.astype(jnp.float32)
    return jax.nn.one_hot(reference, 4, dtype=jnp.float32)


# (flags, 3): which of insertion, deletion start, soft clip each packed value 0..7 holds
# (numpy: a jnp constant would start JAX's backend and compile an op at import)
_FLAG_BITS = np.array([[(f & bit) > 0 for bit in (INSERTION_FLAG, DELETION_START_FLAG,
                                                  SOFT_CLIP_FLAG)] for f in range(8)],
                      np.float32)


def _read_flags(data: dict, ev: dict) -> jax.Array:
    """``(R, W)`` int32 flag bits, from ``read_flags`` or else the three separate arrays."""
    if data.get("read_flags") is not None:
        return jnp.asarray(data["read_flags"]).astype(jnp.int32) & 7
    return ((ev["insertions"] > 0).astype(jnp.int32) * INSERTION_FLAG
            + (ev["deletion_starts"] > 0) * DELETION_START_FLAG
            + (ev["soft_clips"] > 0) * SOFT_CLIP_FLAG)


def _flag_counts(data: dict, ev: dict, codes: jax.Array, mask: jax.Array,
                 positions: jax.Array, length: int) -> jax.Array:
    """``(L, 3)`` reads with an insertion, a deletion start, a soft clip at each position:
    ``flag_counts`` as given, else counted from the per-base flags of real bases."""
    if data.get("flag_counts") is not None:
        return jnp.asarray(data["flag_counts"], jnp.float32)
    flags = jnp.where(codes <= DELETION, _read_flags(data, ev), 8)
    per_value = scatter_codes(flags, jnp.broadcast_to(mask[:, None], codes.shape), positions,
                              length, 8)
    return per_value @ _FLAG_BITS


def _code_counts(codes: jax.Array, weights: jax.Array, mask: jax.Array, reverse: jax.Array,
                 positions: jax.Array, length: int) -> tuple[jax.Array, jax.Array]:
    """``(weighted (L, 6, 2), unweighted (L, 6, 2))`` sums over the reads of each (code 0-5,
    strand) at each position: quality-weighted and plain counts from one scatter of
    two-value rows (two scalar scatters cost twice the index work and the zeroing)."""
    width = codes.shape[-1]
    index = positions.astype(jnp.int32)[:, None] + jnp.arange(width, dtype=jnp.int32)[None, :]
    inside = (index >= 0) & (index < length) & (codes >= 0) & (codes <= DELETION)
    flat = jnp.where(inside, (index * 6 + codes) * 2 + reverse[:, None].astype(jnp.int32),
                     length * 12)
    rows = jnp.stack([weights * mask[:, None], jnp.broadcast_to(mask[:, None], codes.shape)],
                     -1)
    sums = jnp.zeros((length * 12, 2), jnp.float32).at[flat.reshape(-1)].add(
        rows.reshape(-1, 2).astype(jnp.float32), mode="drop")
    sums = sums.reshape(length, 6, 2, 2)
    return sums[..., 0], sums[..., 1]


def _codes_from_one_hot(reads: jax.Array, deletions: jax.Array) -> jax.Array:
    """Integer codes for one-hot/soft reads: the likeliest base, DELETION or NO_BASE."""
    codes = jnp.where(jnp.sum(reads, -1) > 0, jnp.argmax(reads, -1), NO_BASE)
    return jnp.where(deletions > 0, DELETION, codes)


def _read_ends(codes: jax.Array, positions: jax.Array) -> jax.Array:
    """Reference end (exclusive) of each read's aligned part."""
    width = codes.shape[-1]
    last = width - 1 - jnp.argmax((codes != NO_BASE)[:, ::-1], axis=1)
    return positions + last + 1


def _span_sums(ends: jax.Array, positions: jax.Array, values: jax.Array, length: int):
    """Per-position sum of a per-read value over each read's aligned span, by a difference
    array (two scatters of R values and a cumulative sum, instead of one of R x W)."""
    start = jnp.clip(positions, 0, length)
    end = jnp.clip(ends, 0, length)
    diff = jnp.zeros((length + 1,) + values.shape[1:], jnp.float32)
    diff = diff.at[start].add(values).at[end].add(-values)
    return jnp.cumsum(diff, axis=0)[:length]


def _spanning_reads(ends: jax.Array, mask: jax.Array, span_cover: jax.Array,
                    repeat: jax.Array, margin: int = 2) -> jax.Array:
    """Reads that cover ``[p - margin, p + repeat[p] + margin]``, i.e. that can tell an indel
    anchored at ``p`` from the reference however the aligner placed it: the reads covering
    ``p - margin`` less those ending before the far side (reads are longer than repeats)."""
    length = span_cover.shape[0]
    ended = jnp.cumsum(jnp.zeros(length + 1).at[jnp.clip(ends, 0, length)].add(mask))
    index = jnp.arange(length)
    near = jnp.clip(index - margin, 0, length - 1)
    far = jnp.clip(index + repeat + margin, 0, length)
    return jnp.maximum(span_cover[near] - (ended[far] - ended[near]), 0.0)


def top_two(values: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Largest and second-largest of ``(L, 4)`` rows by a 4-input sorting network (XLA's
    CPU sort of many short rows took 20% of the features' time)."""
    a, b, c, d = (values[:, k] for k in range(4))
    high1, low1 = jnp.maximum(a, b), jnp.minimum(a, b)
    high2, low2 = jnp.maximum(c, d), jnp.minimum(c, d)
    return (jnp.maximum(high1, high2),
            jnp.maximum(jnp.minimum(high1, high2), jnp.maximum(low1, low2)))


def position_evidence(
    pileup: DifferentiablePileup,
    reads: jax.Array,
    codes: jax.Array | None,
    weights: jax.Array,
    positions: jax.Array,
    data: dict,
    reference_length: int,
) -> tuple[jax.Array, jax.Array, dict]:
    """Return ``(pileup_distribution (L, 4), features (L, NUM_FEATURES), context)`` of one
    sample; ``context`` holds what :func:`allele_evidence` reuses (the codes, per-code read
    counts, read ends and per-read inputs).

    ``weights`` is each base's filter retention x quality weight (the differentiable part).
    One scatter-add over the reads does the work (quality-weighted and plain counts of each
    base code by strand); indel/clip flags come counted or by a second scatter; per-read
    MAPQ goes by span sums.
    """
    length = reference_length
    ev = _evidence_inputs(data, reads)
    mask = ev["read_mask"]
    reverse = ev["strand"] > 0.5
    if codes is None:  # one-hot or soft reads: scatter the four probabilities
        codes = raw_codes = _codes_from_one_hot(reads, ev["deletions"])
        values = reads * (weights * mask[:, None])[..., None]
        rev = reverse[:, None, None]
        stranded = scatter_rows(jnp.concatenate([jnp.where(rev, 0.0, values),
                                                 jnp.where(rev, values, 0.0)], -1),
                                positions, length)
        forward, backward = stranded[:, :4], stranded[:, 4:]
        per_code = scatter_codes(codes, jnp.broadcast_to(mask[:, None], codes.shape),
                                 positions, length, 6)
    else:  # integer codes: one scatter gives weighted and plain counts per (code, strand)
        raw_codes = codes
        codes = codes.astype(jnp.int32)
        weighted, plain = _code_counts(codes, weights, mask, reverse, positions, length)
        forward, backward = weighted[:, :4, 0], weighted[:, :4, 1]
        per_code = plain.sum(-1)
    insertions, deletion_starts, soft_clips = _flag_counts(
        data, ev, codes, mask, positions, length).T
    deletions = per_code[:, DELETION]
    coverage = per_code[:, :4].sum(-1) + deletions
    ends = _read_ends(codes, positions)
    spans = _span_sums(ends, positions, jnp.stack(
        [mask, mask * ev["mapping_quality"] / DEFAULT_MAPQ], -1), length)
    mean_mapq = spans[:, 1] / (spans[:, 0] + COUNT_EPS)
    repeat = data.get("repeat_span")
    repeat = jnp.ones(length, jnp.int32) if repeat is None else jnp.asarray(repeat, jnp.int32)
    spanning = _spanning_reads(ends, mask, spans[:, 0], repeat)

    counts = forward + backward
    distribution = pileup.distribution(counts)
    ref = reference_one_hot(data.get("reference"), reference_length)

    base_total = jnp.sum(counts, axis=-1) + COUNT_EPS
    fractions = counts / base_total[:, None]
    ref_fraction = jnp.sum(fractions * ref, axis=-1)
    alt1, alt2 = top_two(fractions * (1.0 - ref))
    depth = coverage + COUNT_EPS
    covered = (coverage > 0.5).astype(jnp.float32)
    if data.get("expected_depth") is not None:
        mean_depth = jnp.asarray(data["expected_depth"], jnp.float32)
    else:
        mean_depth = jnp.sum(coverage) / jnp.maximum(jnp.sum(covered), 1.0)
    # log-likelihood ratio hom-alt vs het of the raw read counts (binomial, 2% error): makes
    # "4 clean reference reads rule out hom-alt" one feature instead of a learnt product
    def hom_vs_het(alt_reads, ref_reads):
        return jnp.clip((alt_reads * jnp.log(0.98 / 0.5) + ref_reads * jnp.log(0.02 / 0.5))
                        / 10.0, -5.0, 5.0)

    snp_alt = jnp.max(per_code[:, :4] * (1.0 - ref), axis=-1)
    indel_alt = insertions + deletion_starts
    informative = jnp.maximum(spanning, indel_alt)
    alt_forward = jnp.sum(forward * (1.0 - ref), axis=-1)
    alt_backward = jnp.sum(backward * (1.0 - ref), axis=-1)
    features = jnp.concatenate(
        [
            ref,
            distribution,
            jnp.stack(
                [
                    ref_fraction,
                    alt1,
                    alt2,
                    deletions / depth,
                    insertions / depth,
                    deletion_starts / depth,
                    soft_clips / depth,
                    jnp.log1p(coverage) / 4.0,
                    jnp.minimum(coverage / (mean_depth + 1.0), 4.0),
                    covered,
                    mean_mapq,
                    base_total / depth,
                    (alt_forward + 0.5) / (alt_forward + alt_backward + 1.0),
                    (jnp.sum(forward, -1) + 0.5) / (base_total + 1.0),
                    hom_vs_het(snp_alt, jnp.maximum(coverage - snp_alt, 0.0)),
                    spanning / depth,
                    indel_alt / (informative + COUNT_EPS),
                    hom_vs_het(indel_alt, informative - indel_alt),
                    jnp.log1p(indel_alt) / 4.0,
                ],
                axis=-1,
            ),
        ],
        axis=-1,
    )
    reference = data.get("reference")
    if reference is not None:
        reference = jnp.asarray(reference)
        reference = reference if reference.ndim == 1 else jnp.where(
            reference.sum(-1) > 0, jnp.argmax(reference, -1), 4)
    # the codes as given (int8 from the caller): an int32 copy shared by several consumers
    # was materialised, a pass over every base
    context = {"codes": raw_codes, "per_code": per_code, "ends": ends, "mask": mask,
               "reverse": reverse.astype(jnp.float32), "mapq": ev["mapping_quality"],
               "clipped": ev["soft_clipped"], "indels": ev["read_indels"],
               "insertion_at": ev["read_insertion"].astype(jnp.int32), "reference": reference,
               "indel_reads": insertions + deletion_starts}
    return distribution, features, context


def allele_evidence(context: dict, quality: jax.Array, positions: jax.Array,
                    index: jax.Array) -> jax.Array:
    """``(L, NUM_ALLELE_FEATURES)`` per-allele evidence at the positions ``index`` of one
    sample (:func:`dvcall.operators.allele_evidence.allele_features`), from the context of
    :func:`position_evidence`."""
    c = context
    return allele_features(c["codes"], quality, positions, c["ends"], c["mask"], c["reverse"],
                           c["mapq"], c["clipped"], c["indels"], c["insertion_at"],
                           c["reference"], c["per_code"], c["indel_reads"], index)


CANDIDATE_FRACTION = 0.05
_ALT = FEATURE_NAMES.index("alt1_fraction")
_INDEL = [FEATURE_NAMES.index(n) for n in ("deletion_fraction", "insertion_fraction",
                                           "deletion_start_fraction")]
_CLIP = FEATURE_NAMES.index("soft_clip_fraction")


def candidate_positions(features: jax.Array) -> jax.Array:
    """``(L,)`` bool: positions with non-reference evidence (a base other than the reference,
    an indel or a soft clip in at least 5% of the reads), the only ones worth classifying."""
    indel = jnp.max(features[:, _INDEL], axis=-1)
    return ((features[:, _ALT] >= CANDIDATE_FRACTION) | (indel >= CANDIDATE_FRACTION)
            | (features[:, _CLIP] >= 2 * CANDIDATE_FRACTION))
