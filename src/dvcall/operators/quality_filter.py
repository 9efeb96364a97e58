"""Soft quality filter: a sigmoid gate on Phred quality with a learnable threshold.

A hard cut (``quality >= 20``) has no gradient; ``sigmoid(quality - threshold)`` keeps the
same behaviour far from the threshold and lets training move the threshold itself.
"""

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import nnx


@dataclass(frozen=True)
class QualityFilterConfig:
    initial_threshold: float = 20.0


class QualityFilter(nnx.Module):
    def __init__(self, config: QualityFilterConfig | None = None):
        self.config = config or QualityFilterConfig()
        self.threshold = nnx.Param(jnp.asarray(self.config.initial_threshold, jnp.float32))

    def retention(self, quality: jax.Array) -> jax.Array:
        """Per-base weight in (0, 1): how much of a base survives the filter.

        Integer (BAM) qualities go through a 256-entry table built from the threshold: the
        same values and gradient, at the cost of a gather instead of a transcendental per base.
        """
        if jnp.issubdtype(quality.dtype, jnp.integer):
            return self.table()[quality.astype(jnp.int32)]
        return jax.nn.sigmoid(quality.astype(jnp.float32) - self.threshold[...])

    def table(self) -> jax.Array:
        """Retention of every integer Phred score 0..255."""
        return jax.nn.sigmoid(jnp.arange(256, dtype=jnp.float32) - self.threshold[...])

    def __call__(self, reads: jax.Array, quality: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Return ``(filtered_reads, filtered_quality)``: both scaled by the retention weight."""
        keep = self.retention(quality)
        return reads * keep[..., None], quality * keep
