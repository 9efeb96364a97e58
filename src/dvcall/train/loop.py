"""Training on examples (:mod:`dvcall.train.examples`): a region-split validation set, a
weighted class + genotype loss, per-epoch checkpoints (resumable) and early stopping.

With several local devices (GPUs, or CPU devices forced with
``XLA_FLAGS=--xla_force_host_platform_device_count=N``) each step takes one chunk per device,
sharded along a ``data`` mesh axis with the model replicated; XLA inserts the gradient
all-reduce. With one device that is plain single-chunk training.
"""


from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from dvcall.errors import InputError
from dvcall.features.shapes import pad_reads
from dvcall.model.classes import INDEL, REF, SNP
from dvcall.model.model_file import load_model, load_state_into, save_model, save_state
from dvcall.operators.evidence import candidate_positions
from dvcall.pipelines import create_variant_calling_pipeline
from dvcall.train.examples import Example
from dvcall.utils.training import (
    Trainer,
    TrainingConfig,
    create_synthetic_training_data,
    cross_entropy_loss,
    data_iterator,
)

DEFAULT_MODEL_CONFIG = dict(use_evidence=True, num_genotypes=3, pileup_window_size=21,
                            classifier_hidden_dim=64, classifier_extra_layers=1,
                            dropout_rate=0.1)


BACKGROUND_WEIGHT = 0.01


def pipeline_loss(model, data, classes, genotypes, valid):
    """Class + genotype cross-entropy. Positions the caller will classify (candidates, by the
    same rule as at run time) and true variants count fully, plain reference positions
    little: equal weights where decisions are made keep the probabilities calibrated."""
    result, _, _ = model.apply(data, {}, None)
    candidate = jax.lax.stop_gradient(jax.vmap(candidate_positions)(result["features"])
                                      if result["features"].ndim == 3
                                      else candidate_positions(result["features"]))
    weights = valid * jnp.where(candidate | (classes != REF), 1.0, BACKGROUND_WEIGHT)
    class_loss = cross_entropy_loss(result["logits"], classes, weights=weights)
    # het vs hom-alt is learnt only at the (few) variant sites: weigh them up for this head
    genotype_weights = weights * jnp.where(classes != REF, 5.0, 1.0)
    genotype_loss = cross_entropy_loss(result["genotype_logits"], genotypes,
                                       weights=genotype_weights)
    return class_loss + genotype_loss


@nnx.jit
def _step(model, optimizer, data, classes, genotypes, weights):
    loss, grads = nnx.value_and_grad(pipeline_loss)(model, data, classes, genotypes, weights)
    optimizer.update(model, grads)
    return loss


# jitted like the step: run eagerly, the allele evidence's lax.cond and loop were compiled
# again for every validation chunk (memory grew ~1 GB per epoch)
_loss = nnx.jit(pipeline_loss)


@nnx.jit
def _predict(model, data):
    result, _, _ = model.apply(data, {}, None)
    return result["probabilities"], result["genotype_probabilities"]


def stack_examples(examples: list[Example]) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Pad a group of chunks to one read shape and stack them on a leading batch axis."""
    rows = max(e.data["quality"].shape[0] for e in examples)
    width = max(e.data["quality"].shape[1] for e in examples)
    padded = [pad_reads(e.data, rows, width) for e in examples]
    data = {k: np.stack([p[k] for p in padded]) for k in padded[0]}
    return (data, np.stack([e.classes for e in examples]),
            np.stack([e.genotypes for e in examples]), np.stack([e.weights for e in examples]))


def evaluate_examples(model, examples: list[Example]) -> dict:
    """Per-class recall at labelled positions and the validation loss."""
    model.eval_mode()
    hits, totals, losses = np.zeros(3), np.zeros(3), []
    for ex in examples:
        probs, _ = _predict(model, ex.data)
        probs = np.asarray(probs)
        called = np.where(probs[:, REF] < 0.5, np.argmax(probs[:, SNP:], 1) + SNP, REF)
        mask = ex.weights > 0
        for k in (REF, SNP, INDEL):
            sel = mask & (ex.classes == k)
            totals[k] += sel.sum()
            hits[k] += (called[sel] == k).sum()
        losses.append(float(_loss(model, ex.data, ex.classes, ex.genotypes, ex.weights)))
    recall = hits / np.maximum(totals, 1)
    return {"loss": float(np.mean(losses)) if losses else float("nan"),
            "recall_ref": recall[REF], "recall_snp": recall[SNP], "recall_indel": recall[INDEL],
            "positions_ref": int(totals[REF]), "positions_snp": int(totals[SNP]),
            "positions_indel": int(totals[INDEL])}


def _recall_text(metrics: dict) -> str:
    """What the per-class recall measures, and of how many positions ('-' for none)."""
    parts = []
    for name in ("ref", "snp", "indel"):
        n = metrics[f"positions_{name}"]
        value = f"{metrics[f'recall_{name}']:.3f}" if n else "-"
        parts.append(f"{name} {value} of {n}")
    return "validation positions called as their truth class: " + ", ".join(parts)


def checkpoint_paths(out: Path) -> tuple[Path, Path]:
    """The last epoch's model and its optimizer state, beside ``out``."""
    return Path(str(out) + ".last"), Path(str(out) + ".optimizer")


def train(examples: list[Example], out: Path, epochs: int, learning_rate: float = 2e-3,
          init=None, seed: int = 0, patience: int = 5, resume: bool = False,
          log: Callable[[str], None] = lambda m: None, info: dict | None = None,
          allele_evidence: bool = False, indel_noise: float | None = None,
          snp_noise: float | None = None):
    """Fit, keeping every 10th chunk for validation; checkpoint each epoch; keep the best.

    ``resume`` continues from ``out.last`` + ``out.optimizer`` (written after every epoch);
    ``allele_evidence`` gives a new model the per-allele read evidence
    (:mod:`dvcall.operators.allele_evidence`); ``indel_noise`` and ``snp_noise`` (the
    training BAMs') go into the model file.
    """
    if not examples:
        raise InputError("no training examples: the BAMs have no usable reads in the given "
                         "regions; check --bam, --bed and --min-mapq")
    val = [e for i, e in enumerate(examples) if i % 10 == 5] or examples[:1]
    fit = [e for i, e in enumerate(examples) if i % 10 != 5] or examples
    last_path, optimizer_path = checkpoint_paths(out)
    first_epoch, best, stale = 1, float("inf"), 0
    if resume:
        if not (last_path.exists() and optimizer_path.exists()):
            raise InputError(f"{last_path}: no checkpoint to resume from; start without --resume")
        init, saved = load_model(last_path)
        first_epoch = int(saved.get("epoch", 0)) + 1
        best, stale = float(saved.get("best_loss", best)), int(saved.get("stale", 0))
    model = init if init is not None else create_variant_calling_pipeline(
        seed=seed, **DEFAULT_MODEL_CONFIG, allele_evidence=allele_evidence)
    devices = jax.local_devices()
    per_step = len(devices)
    steps_per_epoch = max(len(fit) // per_step, 1)
    schedule = optax.cosine_decay_schedule(learning_rate, max(epochs * steps_per_epoch, 1), 0.05)
    optimizer = nnx.Optimizer(
        model, optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(schedule, 1e-4)),
        wrt=nnx.Param)
    if resume:
        state = nnx.state(optimizer)
        load_state_into(state, optimizer_path)
        nnx.update(optimizer, state)
        log(f"resuming after epoch {first_epoch - 1} from {last_path}")
    mesh = Mesh(np.array(devices), ("data",))
    if per_step > 1:
        replicated = NamedSharding(mesh, PartitionSpec())
        for module in (model, optimizer):
            state = nnx.state(module)
            nnx.update(module, jax.device_put(state, replicated))
        log(f"data-parallel over {per_step} devices ({devices[0].platform})")
    sharded = NamedSharding(mesh, PartitionSpec("data"))
    rng = np.random.default_rng(seed + first_epoch)
    for epoch in range(first_epoch, epochs + 1):
        model.train_mode()
        order = rng.permutation(len(fit))
        losses = []
        for step in range(steps_per_epoch):
            group = [fit[i] for i in order[step * per_step:(step + 1) * per_step]]
            if len(group) < per_step:
                break
            batch = jax.device_put(stack_examples(group), sharded)
            losses.append(float(_step(model, optimizer, *batch)))
            if not np.isfinite(losses[-1]):
                raise InputError(f"training diverged at epoch {epoch}: the loss is not finite "
                                 f"(learning rate {learning_rate:g}); lower --learning-rate. "
                                 f"No model was written for this epoch")
        metrics = evaluate_examples(model, val)
        log(f"epoch {epoch}/{epochs} train_loss {np.mean(losses):.4f} val_loss "
            f"{metrics['loss']:.4f}; {_recall_text(metrics)}; quality threshold "
            f"{float(model.quality_filter.threshold[...]):.2f}, pileup temperature "
            f"{float(model.pileup.temperature[...]):.3f}")
        if metrics["positions_indel"] and not metrics["recall_indel"]:
            log(f"dvcall: warning: the model calls none of the validation set's "
                f"{metrics['positions_indel']} indel positions after epoch {epoch}")
        improved = metrics["loss"] < best - 1e-4
        best, stale = (metrics["loss"], 0) if improved else (best, stale + 1)
        facts = dict(info or {}, epoch=epoch, best_loss=best, stale=stale, **metrics)
        if improved:
            save_model(model, out, facts, indel_noise, snp_noise)
        save_model(model, last_path, facts, indel_noise, snp_noise)
        save_state(nnx.state(optimizer), optimizer_path, {"epoch": str(epoch)})
        if stale >= patience:
            log(f"early stop: validation loss has not improved for {patience} epochs")
            break
    model.eval_mode()
    return model


def train_synthetic(out: Path, epochs: int, learning_rate: float, seed: int,
                    log: Callable[[str], None]) -> None:
    """The seed's path: the seed pipeline on ``create_synthetic_training_data``."""
    inputs, targets = create_synthetic_training_data(num_samples=200, seed=seed)
    model = create_variant_calling_pipeline(seed=seed)
    trainer = Trainer(model, TrainingConfig(learning_rate=learning_rate, num_epochs=epochs,
                                            log_every=10))
    trainer.train(lambda: data_iterator(inputs, targets, batch_size=20, shuffle=True),
                  lambda result, target: cross_entropy_loss(result["logits"], target["labels"]),
                  log=log)
    save_model(model, out, {"synthetic": True, "epochs": epochs})
