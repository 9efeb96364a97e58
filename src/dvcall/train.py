"""Training on BAM + truth VCF: examples per chunk, a region-split validation set, a weighted
class + genotype loss, per-epoch checkpoints and early stopping."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from dvcall.caller import expected_depth, open_inputs, prepare_chunk
from dvcall.chunks import Region, plan_chunks
from dvcall.labels import chunk_labels, loss_weights, open_truth
from dvcall.model_io import save_model
from dvcall.pipelines import create_variant_calling_pipeline
from dvcall.reader import ReadFilter
from dvcall.utils.training import cross_entropy_loss

TRAIN_CHUNK = 10_000
DEFAULT_MODEL_CONFIG = dict(use_evidence=True, num_genotypes=3, pileup_window_size=21,
                            classifier_hidden_dim=64, classifier_extra_layers=1,
                            dropout_rate=0.1)


@dataclass
class Example:
    data: dict
    classes: np.ndarray
    genotypes: np.ndarray
    weights: np.ndarray
    region: str


def build_examples(bam_path: Path, ref_path: Path, truth_path: Path, read_filter: ReadFilter,
                   regions: list[Region] | None = None, chunk_size: int = TRAIN_CHUNK,
                   log: Callable[[str], None] = lambda m: None) -> list[Example]:
    bam, fasta = open_inputs(bam_path, ref_path)
    truth = open_truth(truth_path)
    lengths = dict(zip(fasta.references, fasta.lengths))
    if regions is None:
        regions = [Region(c, 0, lengths[c]) for c in bam.references if c in lengths]
    depth = expected_depth(bam)
    examples = []
    for chunk in plan_chunks(regions, lengths, chunk_size):
        prepared = prepare_chunk(bam, fasta, chunk, chunk_size, read_filter, depth)
        if prepared is None:
            continue
        classes, genotypes = chunk_labels(truth, chunk, chunk.span(chunk_size))
        weights = loss_weights(classes, prepared.counts, prepared.data["reference"])
        examples.append(Example(prepared.data, classes, genotypes, weights,
                                f"{chunk.contig}:{chunk.start + 1}-{chunk.end}"))
    log(f"{bam_path}: {len(examples)} chunks, depth ~{depth:.1f}x, "
        f"{sum(int((e.classes > 0).sum()) for e in examples)} labelled variant positions")
    return examples


def pipeline_loss(model, data, classes, genotypes, weights):
    result, _, _ = model.apply(data, {}, None)
    class_loss = cross_entropy_loss(result["logits"], classes, weights=weights)
    # het vs hom-alt is learnt only at the (few) variant sites: weigh them up for this head
    genotype_weights = weights * jnp.where(classes > 0, 5.0, 1.0)
    genotype_loss = cross_entropy_loss(result["genotype_logits"], genotypes,
                                       weights=genotype_weights)
    return class_loss + genotype_loss


@nnx.jit
def _step(model, optimizer, data, classes, genotypes, weights):
    loss, grads = nnx.value_and_grad(pipeline_loss)(model, data, classes, genotypes, weights)
    optimizer.update(model, grads)
    return loss


@nnx.jit
def _predict(model, data):
    result, _, _ = model.apply(data, {}, None)
    return result["probabilities"], result["genotype_probabilities"]


def evaluate_examples(model, examples: list[Example]) -> dict:
    """Per-class recall at labelled positions and the validation loss."""
    model.eval_mode()
    hits, totals, losses = np.zeros(3), np.zeros(3), []
    for ex in examples:
        probs, _ = _predict(model, ex.data)
        probs = np.asarray(probs)
        called = np.where(probs[:, 0] < 0.5, np.argmax(probs[:, 1:], 1) + 1, 0)
        mask = ex.weights > 0
        for k in range(3):
            sel = mask & (ex.classes == k)
            totals[k] += sel.sum()
            hits[k] += (called[sel] == k).sum()
        losses.append(float(pipeline_loss(model, ex.data, ex.classes, ex.genotypes, ex.weights)))
    recall = hits / np.maximum(totals, 1)
    return {"loss": float(np.mean(losses)) if losses else float("nan"),
            "recall_ref": recall[0], "recall_snp": recall[1], "recall_indel": recall[2]}


def train(examples: list[Example], out: Path, epochs: int, learning_rate: float = 2e-3,
          init=None, seed: int = 0, patience: int = 5,
          log: Callable[[str], None] = lambda m: None, info: dict | None = None):
    """Fit, keeping every 10th chunk for validation; checkpoint each epoch; keep the best."""
    if not examples:
        raise ValueError("no training examples (no reads in the given regions?)")
    val = [e for i, e in enumerate(examples) if i % 10 == 5] or examples[:1]
    fit = [e for i, e in enumerate(examples) if i % 10 != 5] or examples
    model = init if init is not None else create_variant_calling_pipeline(
        seed=seed, **DEFAULT_MODEL_CONFIG)
    schedule = optax.cosine_decay_schedule(learning_rate, max(epochs * len(fit), 1), 0.05)
    optimizer = nnx.Optimizer(
        model, optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(schedule, 1e-4)),
        wrt=nnx.Param)
    rng = np.random.default_rng(seed)
    best, stale = float("inf"), 0
    checkpoint = Path(str(out) + ".last")
    for epoch in range(1, epochs + 1):
        model.train_mode()
        losses = [float(_step(model, optimizer, fit[i].data, fit[i].classes, fit[i].genotypes,
                              fit[i].weights)) for i in rng.permutation(len(fit))]
        metrics = evaluate_examples(model, val)
        log(f"epoch {epoch}/{epochs} train_loss {np.mean(losses):.4f} val_loss "
            f"{metrics['loss']:.4f} recall ref {metrics['recall_ref']:.3f} snp "
            f"{metrics['recall_snp']:.3f} indel {metrics['recall_indel']:.3f} threshold "
            f"{float(model.quality_filter.threshold[...]):.2f} temperature "
            f"{float(model.pileup.temperature[...]):.3f}")
        save_model(model, checkpoint, dict(info or {}, epoch=epoch, **metrics))
        if metrics["loss"] < best - 1e-4:
            best, stale = metrics["loss"], 0
            save_model(model, out, dict(info or {}, epoch=epoch, **metrics))
        else:
            stale += 1
            if stale >= patience:
                log(f"early stop: validation loss has not improved for {patience} epochs")
                break
    model.eval_mode()
    return model


__all__ = ["build_examples", "evaluate_examples", "train"]
