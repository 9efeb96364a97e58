"""Training: losses, the seed's synthetic data, a batch iterator and an optax-based Trainer."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx


@dataclass(frozen=True)
class TrainingConfig:
    learning_rate: float = 1e-3
    num_epochs: int = 10
    log_every: int = 10
    grad_clip_norm: float | None = 1.0


def cross_entropy_loss(
    logits: jax.Array,
    labels: jax.Array,
    num_classes: int | None = None,
    weights: jax.Array | None = None,
) -> jax.Array:
    """Mean softmax cross-entropy; ``weights`` (same shape as ``labels``) weight positions."""
    num_classes = logits.shape[-1] if num_classes is None else num_classes
    if logits.shape[-1] != num_classes:
        raise ValueError(f"logits have {logits.shape[-1]} classes, expected {num_classes}")
    per_position = optax.softmax_cross_entropy_with_integer_labels(
        logits, jnp.asarray(labels, jnp.int32)
    )
    if weights is None:
        return jnp.mean(per_position)
    weights = jnp.asarray(weights, jnp.float32)
    return jnp.sum(per_position * weights) / jnp.maximum(jnp.sum(weights), 1e-6)


def create_synthetic_training_data(
    num_samples: int,
    reference_length: int = 100,
    num_reads: int = 40,
    read_length: int = 30,
    seed: int = 0,
    variant_rate: float = 0.05,
) -> tuple[dict, dict]:
    """Reads sampled from a random reference with planted SNPs and indel-like dropouts.

    Returns ``(inputs, targets)`` with inputs stacked over samples (``reads`` one-hot
    ``(N, R, W, 4)``, ``positions`` ``(N, R)``, ``quality`` ``(N, R, W)``) and
    ``targets["labels"]`` of shape ``(N, reference_length)``: 0 ref, 1 SNP, 2 indel.
    SNPs are heterozygous (about half the reads carry the alternate base), so the seed's
    reference-free pileup can see them as a mixed column; an indel shows as a run of
    low-quality noise, the way a misaligned indel looks in a pileup with no indel channel.
    """
    rng = np.random.default_rng(seed)
    n, length, width = num_samples, reference_length, read_length
    reference = rng.integers(0, 4, size=(n, length))
    labels = np.zeros((n, length), np.int32)
    draws = rng.random((n, length))
    labels[draws < variant_rate] = 1
    labels[draws < variant_rate / 3] = 2
    sample = reference.copy()
    snp = labels == 1
    sample[snp] = (reference[snp] + rng.integers(1, 4, size=int(snp.sum()))) % 4

    positions = rng.integers(0, max(length - width, 0) + 1, size=(n, num_reads))
    offsets = positions[:, :, None] + np.arange(width)[None, None, :]
    offsets = np.minimum(offsets, length - 1)
    haplotypes = np.stack([reference, sample], axis=1)  # (N, 2, L)
    carrier = rng.integers(0, 2, size=(n, num_reads))
    source = np.take_along_axis(haplotypes, carrier[:, :, None], axis=1)  # (N, R, L)
    bases = np.take_along_axis(source, offsets, axis=2)
    quality = rng.uniform(25.0, 40.0, size=bases.shape)
    errors = rng.random(bases.shape) < 0.01
    bases = np.where(errors, rng.integers(0, 4, size=bases.shape), bases)
    at_indel = np.take_along_axis(
        (labels == 2)[:, None, :].repeat(num_reads, 1), offsets, axis=2
    )
    bases = np.where(at_indel, rng.integers(0, 4, size=bases.shape), bases)
    quality = np.where(at_indel, rng.uniform(2.0, 12.0, size=bases.shape), quality)

    inputs = {
        "reads": jnp.asarray(np.eye(4, dtype=np.float32)[bases]),
        "positions": jnp.asarray(positions, jnp.int32),
        "quality": jnp.asarray(quality, jnp.float32),
    }
    return inputs, {"labels": jnp.asarray(labels)}


def data_iterator(
    inputs: dict,
    targets: dict,
    batch_size: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
) -> Iterator[tuple[dict, dict]]:
    """Yield ``(batch, targets)`` slices of stacked arrays (one sample each by default)."""
    total = int(jnp.shape(next(iter(inputs.values())))[0])
    order = np.random.default_rng(seed).permutation(total) if shuffle else np.arange(total)
    if batch_size is None:
        for i in order:
            yield ({k: v[i] for k, v in inputs.items()}, {k: v[i] for k, v in targets.items()})
        return
    for start in range(0, total, batch_size):
        index = order[start : start + batch_size]
        yield ({k: v[index] for k, v in inputs.items()}, {k: v[index] for k, v in targets.items()})


def make_optimizer(config: TrainingConfig) -> optax.GradientTransformation:
    steps = [optax.clip_by_global_norm(config.grad_clip_norm)] if config.grad_clip_norm else []
    return optax.chain(*steps, optax.adam(config.learning_rate))


@nnx.jit(static_argnums=(3,))
def _train_step(pipeline, optimizer, batch, loss_fn, targets):
    def objective(model):
        result, _, _ = model.apply(batch, {}, None)
        return loss_fn(result, targets)

    loss, grads = nnx.value_and_grad(objective)(pipeline)
    optimizer.update(pipeline, grads)
    return loss


class Trainer:
    """Fit a pipeline with optax; ``train`` returns the loss after every step."""

    def __init__(self, pipeline, config: TrainingConfig | None = None):
        self.pipeline = pipeline
        self.config = config or TrainingConfig()
        self.optimizer = nnx.Optimizer(pipeline, make_optimizer(self.config), wrt=nnx.Param)
        self.history: list[float] = []

    def train_step(self, batch: dict, targets: dict, loss_fn: Callable) -> float:
        return float(_train_step(self.pipeline, self.optimizer, batch, loss_fn, targets))

    def train(
        self,
        data_iterator_fn: Callable[[], Iterator[tuple[dict, dict]]],
        loss_fn: Callable[[dict, dict], jax.Array],
        log: Callable[[str], None] | None = None,
    ) -> list[float]:
        self.pipeline.train_mode()
        step = 0
        try:
            for epoch in range(self.config.num_epochs):
                for batch, targets in data_iterator_fn():
                    loss = self.train_step(batch, targets, loss_fn)
                    self.history.append(loss)
                    step += 1
                    if log is not None and step % self.config.log_every == 0:
                        log(f"epoch {epoch} step {step} loss {loss:.4f}")
        finally:
            self.pipeline.eval_mode()
        return self.history
