"""Differentiable pileup: scatter-add read evidence onto the reference, then a tempered softmax.

Reads arrive in reference coordinates: row ``j`` of read ``i`` is the base aligned to reference
position ``positions[i] + j`` (the BAM reader projects CIGARs this way; the seed's synthetic reads
are already so). Every per-base quantity -- weighted base one-hots, deletions, insertions,
coverage -- is summed per position with one ``segment``-style scatter-add, so the cost is one pass
over ``(reads, width)`` and nothing of shape ``(length, reads)`` is ever built.

The distribution is ``softmax(log(counts + eps) / temperature)``. At ``temperature == 1`` that is
exactly the allele fractions; lower temperatures sharpen towards the majority base, higher ones
flatten. (A softmax of raw counts would saturate at 30x and erase a het's 50/50 signal.)
"""

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import nnx

COUNT_EPS = 1e-3


@dataclass(frozen=True)
class PileupConfig:
    use_quality_weights: bool = True
    initial_temperature: float = 1.0


def phred_to_correct_probability(quality: jax.Array) -> jax.Array:
    """P(base call is right) for a Phred score; the weight a base carries in the pileup."""
    return 1.0 - jnp.power(10.0, -jnp.maximum(quality.astype(jnp.float32), 0.0) / 10.0)


def scatter_rows(values: jax.Array, positions: jax.Array, reference_length: int) -> jax.Array:
    """Sum ``values[i, j, :]`` into ``out[positions[i] + j, :]``; rows off the reference drop.

    ``values`` is ``(R, W, K)``, ``positions`` ``(R,)``; returns ``(reference_length, K)``.
    """
    width = values.shape[-2]
    index = positions.astype(jnp.int32)[:, None] + jnp.arange(width, dtype=jnp.int32)[None, :]
    inside = (index >= 0) & (index < reference_length)
    index = jnp.where(inside, index, reference_length)
    out = jnp.zeros((reference_length, values.shape[-1]), values.dtype)
    return out.at[index.reshape(-1)].add(values.reshape(-1, values.shape[-1]), mode="drop")


class DifferentiablePileup(nnx.Module):
    def __init__(self, config: PileupConfig | None = None):
        self.config = config or PileupConfig()
        self.temperature = nnx.Param(jnp.asarray(self.config.initial_temperature, jnp.float32))

    def base_weights(self, quality: jax.Array) -> jax.Array:
        """Per-base weight of a read base in the counts (quality weighting is optional)."""
        if self.config.use_quality_weights:
            return phred_to_correct_probability(quality)
        return jnp.ones_like(quality, dtype=jnp.float32)

    def distribution(self, counts: jax.Array) -> jax.Array:
        """Tempered per-position base distribution from ``(L, 4)`` weighted counts."""
        temperature = jnp.maximum(self.temperature[...], 1e-3)
        return jax.nn.softmax(jnp.log(counts + COUNT_EPS) / temperature, axis=-1)

    def __call__(
        self,
        filtered_reads: jax.Array,
        positions: jax.Array,
        quality: jax.Array,
        reference_length: int,
    ) -> jax.Array:
        """Return the ``(reference_length, 4)`` pileup distribution of one sample."""
        values = filtered_reads * self.base_weights(quality)[..., None]
        return self.distribution(scatter_rows(values, positions, reference_length))
