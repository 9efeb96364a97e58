"""Every example of the seed's document, with ``diffbio`` replaced by ``dvcall``.

Two places differ, both because the seed's text does not run under today's libraries:
``jax.random.uniform``'s third positional argument is now ``dtype`` (we pass ``minval=`` /
``maxval=``), and a custom loop over an NNX module needs ``nnx.jit`` / ``nnx.value_and_grad``
(``jax.jit`` + ``jax.value_and_grad`` try to differentiate the dropout RNG counter).
datarax's ``Batch`` becomes a dict of stacked arrays.
"""

import jax
import jax.numpy as jnp
import optax
import pytest
from flax import nnx


def quickstart_data(num_reads=20, read_length=30):
    data = {
        "reads": jax.random.uniform(jax.random.PRNGKey(0), (num_reads, read_length, 4)),
        "positions": jax.random.randint(jax.random.PRNGKey(1), (num_reads,), 0, 70),
        "quality": jax.random.uniform(
            jax.random.PRNGKey(2), (num_reads, read_length), minval=10, maxval=40
        ),
    }
    data["reads"] = jax.nn.softmax(data["reads"], axis=-1)
    return data


def test_quick_start():
    from dvcall.pipelines import create_variant_calling_pipeline

    pipeline = create_variant_calling_pipeline(
        reference_length=100, num_classes=3, quality_threshold=20.0
    )
    result, _, _ = pipeline.apply(quickstart_data(), {}, None)
    assert result["pileup"].shape == (100, 4)
    assert result["probabilities"].shape == (100, 3)


def test_configuration():
    from dvcall.pipelines import VariantCallingPipelineConfig

    config = VariantCallingPipelineConfig(
        reference_length=10000,
        num_classes=3,
        quality_threshold=20.0,
        pileup_window_size=21,
        classifier_hidden_dim=128,
        use_quality_weights=True,
    )
    assert config.pileup_window_size == 21
    defaults = VariantCallingPipelineConfig()
    assert (
        defaults.reference_length,
        defaults.num_classes,
        defaults.quality_threshold,
        defaults.pileup_window_size,
        defaults.classifier_hidden_dim,
        defaults.use_quality_weights,
    ) == (100, 3, 20.0, 11, 64, True)


def test_hard_one_hot_input():
    from dvcall.pipelines import create_variant_calling_pipeline

    read_indices = jnp.array([[0, 1, 2, 3] * 5] * 3)
    data = {
        "reads": jnp.eye(4)[read_indices],
        "positions": jnp.array([10, 25, 43]),
        "quality": jnp.full((3, 20), 30.0),
    }
    result, _, _ = create_variant_calling_pipeline().apply(data, {}, None)
    # Position 10 is covered only by read 0's first base, an A.
    assert int(jnp.argmax(result["pileup"][10])) == 0


def test_output_table():
    from dvcall.pipelines import create_variant_calling_pipeline

    result, _, _ = create_variant_calling_pipeline().apply(quickstart_data(), {}, None)
    expected = {
        "reads": (20, 30, 4),
        "positions": (20,),
        "quality": (20, 30),
        "filtered_reads": (20, 30, 4),
        "filtered_quality": (20, 30),
        "pileup": (100, 4),
        "logits": (100, 3),
        "probabilities": (100, 3),
    }
    assert {k: tuple(v.shape) for k, v in result.items()} == expected


def test_trainer_example():
    from dvcall.pipelines import create_variant_calling_pipeline
    from dvcall.utils.training import (
        Trainer,
        TrainingConfig,
        create_synthetic_training_data,
        cross_entropy_loss,
        data_iterator,
    )

    pipeline = create_variant_calling_pipeline(reference_length=100)
    trainer = Trainer(
        pipeline,
        TrainingConfig(learning_rate=1e-3, num_epochs=2, log_every=10, grad_clip_norm=1.0),
    )
    inputs, targets = create_synthetic_training_data(num_samples=20, reference_length=100)

    def loss_fn(predictions, targets):
        return cross_entropy_loss(predictions["logits"], targets["labels"], num_classes=3)

    history = trainer.train(
        data_iterator_fn=lambda: data_iterator(inputs, targets), loss_fn=loss_fn
    )
    assert len(history) == 40
    assert history[-1] < history[0]
    assert trainer.pipeline is pipeline


def test_custom_training_loop_updates_parameters():
    from dvcall.pipelines import create_variant_calling_pipeline
    from dvcall.utils.training import (
        create_synthetic_training_data,
        cross_entropy_loss,
        data_iterator,
    )

    pipeline = create_variant_calling_pipeline(reference_length=100)
    inputs, targets = create_synthetic_training_data(num_samples=8, reference_length=100)
    optimizer = optax.adam(learning_rate=1e-2)
    opt_state = optimizer.init(nnx.state(pipeline, nnx.Param))

    @nnx.jit
    def train_step(pipeline, opt_state, batch_data, targets):
        def loss_fn(pipeline):
            result, _, _ = pipeline.apply(batch_data, {}, None)
            return cross_entropy_loss(result["logits"], targets["labels"])

        loss, grads = nnx.value_and_grad(loss_fn)(pipeline)
        params = nnx.state(pipeline, nnx.Param)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        nnx.update(pipeline, optax.apply_updates(params, updates))
        return loss, opt_state

    before = float(pipeline.quality_filter.threshold[...])
    pipeline.train_mode()
    for batch, target in data_iterator(inputs, targets):
        loss, opt_state = train_step(pipeline, opt_state, batch, target)
    pipeline.eval_mode()
    assert jnp.isfinite(loss)
    assert float(pipeline.quality_filter.threshold[...]) != before


def test_inference_and_variant_positions():
    from dvcall.pipelines import create_variant_calling_pipeline

    pipeline = create_variant_calling_pipeline()
    pipeline.eval_mode()
    result, _, _ = pipeline.apply(quickstart_data(), {}, None)
    predictions = jnp.argmax(result["probabilities"], axis=-1)
    variant_positions = jnp.where(predictions > 0)[0]
    assert variant_positions.ndim == 1


def test_batch_processing_and_call_variants():
    from dvcall.pipelines import create_variant_calling_pipeline

    pipeline = create_variant_calling_pipeline()
    samples = [quickstart_data(), quickstart_data()]
    batch = jax.tree.map(lambda *xs: jnp.stack(xs), *samples)
    result_batch = pipeline.apply_batch(batch)
    assert result_batch["probabilities"].shape == (2, 100, 3)
    results = pipeline.call_variants(batch, threshold=0.5)
    assert results["predictions"].shape == (2, 100)
    assert results["probabilities"].shape == (2, 100, 3)
    assert results["pileup"].shape == (2, 100, 4)
    single, _, _ = pipeline.apply(samples[0], {}, None)
    assert jnp.allclose(result_batch["probabilities"][0], single["probabilities"], atol=1e-5)


def test_accessing_and_modifying_components():
    from dvcall.pipelines import create_variant_calling_pipeline

    pipeline = create_variant_calling_pipeline()
    assert float(pipeline.quality_filter.threshold[...]) == 20.0
    assert float(pipeline.pileup.temperature[...]) == 1.0
    assert pipeline.classifier is not None
    pipeline.quality_filter.threshold[...] = 25.0
    assert float(pipeline.quality_filter.threshold[...]) == 25.0
    params = nnx.state(pipeline, nnx.Param)
    shapes = jax.tree.map(lambda x: x.shape, params)
    assert shapes["quality_filter"]["threshold"] == ()


def test_temperature_annealing_writes_temperature():
    from dvcall.pipelines import create_variant_calling_pipeline

    pipeline = create_variant_calling_pipeline()
    num_epochs = 4
    for epoch in range(num_epochs):
        temp = 5.0 * (0.5 / 5.0) ** (epoch / num_epochs)
        pipeline.pileup.temperature[...] = temp
    assert float(pipeline.pileup.temperature[...]) == pytest.approx(5.0 * 0.1**0.75)


def test_custom_classifier_swapped_in():
    from dvcall.operators.variant import VariantClassifier, VariantClassifierConfig
    from dvcall.pipelines import create_variant_calling_pipeline

    pipeline = create_variant_calling_pipeline()
    custom_classifier = VariantClassifier(
        VariantClassifierConfig(num_classes=4, hidden_dim=256, input_window=21, dropout_rate=0.2),
        rngs=nnx.Rngs(42),
    )
    pipeline.classifier = custom_classifier
    result, _, _ = pipeline.apply(quickstart_data(), {}, None)
    assert result["probabilities"].shape == (100, 4)


def test_fast_inference():
    from dvcall.pipelines import create_variant_calling_pipeline

    pipeline = create_variant_calling_pipeline()

    @jax.jit
    def fast_inference(pipeline, data):
        result, _, _ = pipeline.apply(data, {}, None)
        return result["probabilities"]

    sample_data = quickstart_data()
    _ = fast_inference(pipeline, sample_data)
    preds = fast_inference(pipeline, quickstart_data())
    assert preds.shape == (100, 3)


def test_evaluation_example():
    from dvcall.pipelines import create_variant_calling_pipeline
    from dvcall.utils.training import create_synthetic_training_data, data_iterator

    pipeline = create_variant_calling_pipeline()
    inputs, targets = create_synthetic_training_data(num_samples=3, reference_length=100)
    pipeline.eval_mode()
    all_preds, all_labels = [], []
    for data, labels in data_iterator(inputs, targets):
        result, _, _ = pipeline.apply(data, {}, None)
        all_preds.append(jnp.argmax(result["probabilities"], axis=-1))
        all_labels.append(labels["labels"])
    preds = jnp.concatenate(all_preds)
    labels = jnp.concatenate(all_labels)
    accuracy = (preds == labels).mean()
    assert 0.0 <= float(accuracy) <= 1.0
