"""Windowed variant classifier over per-position features.

The seed classifies each position with an MLP on the flattened ``(window, channels)`` context.
A dense layer on a flattened window *is* a 1-D convolution with ``kernel = window``, so we run
it as one; every position is classified at once without building ``(L, window, channels)``
copies. Optional extra dense layers and a genotype head (hom-ref / het / hom-alt) serve the
real caller; the defaults reproduce the seed's classifier.
"""

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from flax import nnx


@dataclass(frozen=True)
class VariantClassifierConfig:
    num_classes: int = 3
    hidden_dim: int = 64
    input_window: int = 11
    dropout_rate: float = 0.1
    in_channels: int = 4
    num_genotypes: int = 0
    extra_layers: int = 0


class VariantClassifier(nnx.Module):
    def __init__(self, config: VariantClassifierConfig | None = None, *, rngs: nnx.Rngs):
        self.config = config = config or VariantClassifierConfig()
        if config.input_window < 1:
            raise ValueError("input_window must be >= 1")
        self.window = nnx.Conv(
            config.in_channels,
            config.hidden_dim,
            kernel_size=(config.input_window,),
            padding="SAME",
            rngs=rngs,
        )
        # Built in eval mode (no dropout) so inference is deterministic until train_mode().
        self.dropout = nnx.Dropout(config.dropout_rate, deterministic=True, rngs=rngs)
        self.hidden = nnx.List(
            [nnx.Linear(config.hidden_dim, config.hidden_dim, rngs=rngs)
             for _ in range(config.extra_layers)]
        )
        self.output = nnx.Linear(config.hidden_dim, config.num_classes, rngs=rngs)
        self.genotype = (
            nnx.Linear(config.hidden_dim, config.num_genotypes, rngs=rngs)
            if config.num_genotypes > 0
            else None
        )

    def heads(self, features: jax.Array) -> tuple[jax.Array, jax.Array | None]:
        """``(class_logits, genotype_logits or None)`` for ``(..., L, channels)`` features."""
        lead = features.shape[:-2]
        x = features.reshape((-1,) + features.shape[-2:]).astype(jnp.float32)
        x = self.dropout(jax.nn.relu(self.window(x)))
        for layer in self.hidden:
            x = self.dropout(jax.nn.relu(layer(x)))
        logits = self.output(x).reshape(lead + (x.shape[1], -1))
        if self.genotype is None:
            return logits, None
        return logits, self.genotype(x).reshape(lead + (x.shape[1], -1))

    def heads_at(self, features: jax.Array, index: jax.Array
                 ) -> tuple[jax.Array, jax.Array | None]:
        """The same heads at positions ``index`` (K,) of ``(L, channels)`` features only.

        Gathers each position's window and applies the convolution kernel as the dense layer
        it is; identical to ``heads(features)[..., index, :]`` at a fraction of the cost when
        few positions need a decision.
        """
        window = self.config.input_window
        offsets = jnp.arange(window) - (window - 1) // 2  # 'SAME' padding, as nnx.Conv
        at = index[:, None] + offsets[None, :]
        inside = (at >= 0) & (at < features.shape[0])
        windows = jnp.where(inside[..., None], features[jnp.clip(at, 0, features.shape[0] - 1)],
                            0.0).astype(jnp.float32)
        x = jnp.einsum("kwc,wch->kh", windows, self.window.kernel[...]) + self.window.bias[...]
        x = self.dropout(jax.nn.relu(x))
        for layer in self.hidden:
            x = self.dropout(jax.nn.relu(layer(x)))
        logits = self.output(x)
        return logits, (None if self.genotype is None else self.genotype(x))

    def __call__(self, features: jax.Array) -> jax.Array:
        return self.heads(features)[0]
