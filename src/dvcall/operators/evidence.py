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
strand             (R,)        1 for a read on the reverse strand
mapping_quality    (R,)        Phred MAPQ of the read
read_mask          (R,)        1 for a real read, 0 for padding added by bucketing
expected_depth     ()          the sample's mean depth (else: the mean over covered positions)
=================  ==========  ===========================================================

Missing keys take neutral defaults (no indels, forward strand, MAPQ 60, every read real), so
a seed-style dict still runs through an evidence model.
"""

import jax
import jax.numpy as jnp

from dvcall.operators.pileup import COUNT_EPS, DifferentiablePileup, scatter_rows

FEATURE_NAMES = (
    "ref_A", "ref_C", "ref_G", "ref_T",
    "pileup_A", "pileup_C", "pileup_G", "pileup_T",
    "ref_fraction", "alt1_fraction", "alt2_fraction",
    "deletion_fraction", "insertion_fraction", "deletion_start_fraction",
    "log_depth", "relative_depth", "covered",
    "mean_mapq", "mean_baseq",
    "alt_forward_fraction", "forward_fraction",
)
NUM_FEATURES = len(FEATURE_NAMES)
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
        "strand": get("strand", jnp.zeros((rows,), jnp.float32)),
        "mapping_quality": get("mapping_quality", jnp.full((rows,), DEFAULT_MAPQ, jnp.float32)),
        "read_mask": get("read_mask", jnp.ones((rows,), jnp.float32)),
    }


def reference_one_hot(reference: jax.Array | None, reference_length: int) -> jax.Array:
    """``(L, 4)`` one-hot of reference codes; N (code 4) and a missing reference are zeros."""
    if reference is None:
        return jnp.zeros((reference_length, 4), jnp.float32)
    reference = jnp.asarray(reference)
    if reference.ndim == 2:
        return reference.astype(jnp.float32)
    return jax.nn.one_hot(reference, 4, dtype=jnp.float32)


def position_features(
    pileup: DifferentiablePileup,
    reads: jax.Array,
    filtered_reads: jax.Array,
    positions: jax.Array,
    quality: jax.Array,
    data: dict,
    reference_length: int,
) -> tuple[jax.Array, jax.Array]:
    """Return ``(pileup_distribution (L, 4), features (L, NUM_FEATURES))`` of one sample."""
    ev = _evidence_inputs(data, reads)
    mask = ev["read_mask"][:, None]
    reverse = ev["strand"][:, None, None]
    weighted = filtered_reads * pileup.base_weights(quality)[..., None] * mask[..., None]
    occupied = (jnp.sum(reads, axis=-1) > 0).astype(jnp.float32)
    occupancy = jnp.maximum(occupied, ev["deletions"]) * mask
    channels = jnp.concatenate(
        [
            weighted * (1.0 - reverse),
            weighted * reverse,
            (ev["deletions"] * mask)[..., None],
            (ev["insertions"] * mask)[..., None],
            (ev["deletion_starts"] * mask)[..., None],
            occupancy[..., None],
            (occupancy * ev["mapping_quality"][:, None] / DEFAULT_MAPQ)[..., None],
            (occupied * mask * quality.astype(jnp.float32) / 40.0)[..., None],
        ],
        axis=-1,
    )
    sums = scatter_rows(channels, positions, reference_length)
    forward, backward = sums[:, 0:4], sums[:, 4:8]
    deletions, insertions, deletion_starts, coverage, mapq_sum, baseq_sum = (
        sums[:, k] for k in range(8, 14)
    )

    counts = forward + backward
    distribution = pileup.distribution(counts)
    ref = reference_one_hot(data.get("reference"), reference_length)

    base_total = jnp.sum(counts, axis=-1) + COUNT_EPS
    fractions = counts / base_total[:, None]
    ref_fraction = jnp.sum(fractions * ref, axis=-1)
    alt_sorted = jnp.sort(fractions * (1.0 - ref), axis=-1)
    depth = coverage + COUNT_EPS
    covered = (coverage > 0.5).astype(jnp.float32)
    if data.get("expected_depth") is not None:
        mean_depth = jnp.asarray(data["expected_depth"], jnp.float32)
    else:
        mean_depth = jnp.sum(coverage) / jnp.maximum(jnp.sum(covered), 1.0)
    alt_forward = jnp.sum(forward * (1.0 - ref), axis=-1)
    alt_backward = jnp.sum(backward * (1.0 - ref), axis=-1)
    features = jnp.concatenate(
        [
            ref,
            distribution,
            jnp.stack(
                [
                    ref_fraction,
                    alt_sorted[:, -1],
                    alt_sorted[:, -2],
                    deletions / depth,
                    insertions / depth,
                    deletion_starts / depth,
                    jnp.log1p(coverage) / 4.0,
                    jnp.minimum(coverage / (mean_depth + 1.0), 4.0),
                    covered,
                    mapq_sum / depth,
                    baseq_sum / depth,
                    (alt_forward + 0.5) / (alt_forward + alt_backward + 1.0),
                    (jnp.sum(forward, -1) + 0.5) / (base_total + 1.0),
                ],
                axis=-1,
            ),
        ],
        axis=-1,
    )
    return distribution, features
