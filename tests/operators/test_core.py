"""The differentiable core: gradients, learning, shapes, determinism, evidence, buckets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from dvcall.features.model_input import flag_counts
from dvcall.features.shapes import bucket_size, pack_read_flags, pad_reads
from dvcall.operators.evidence import EVIDENCE_KEYS, NUM_FEATURES
from dvcall.operators.pileup import scatter_codes, scatter_rows
from dvcall.pipelines import create_variant_calling_pipeline
from dvcall.utils.training import (
    Trainer,
    TrainingConfig,
    create_synthetic_training_data,
    cross_entropy_loss,
    data_iterator,
)


def synthetic_sample(seed=0):
    inputs, targets = create_synthetic_training_data(num_samples=1, reference_length=100, seed=seed)
    return {k: v[0] for k, v in inputs.items()}, targets["labels"][0]


def evidence_sample(num_reads=30, width=40, length=120, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(num_reads, width))
    deletions = (rng.random((num_reads, width)) < 0.02).astype(np.float32)
    codes = np.where(deletions > 0, 5, codes)
    return {
        "reads": codes.astype(np.int8),
        "positions": rng.integers(0, length - width, size=num_reads).astype(np.int32),
        "quality": rng.uniform(5, 40, size=(num_reads, width)).astype(np.float32),
        "reference": rng.integers(0, 5, size=length).astype(np.int8),
        "deletions": deletions,
        "insertions": (rng.random((num_reads, width)) < 0.02).astype(np.float32),
        "strand": rng.integers(0, 2, size=num_reads).astype(np.float32),
        "mapping_quality": rng.uniform(0, 60, size=num_reads).astype(np.float32),
    }


def test_gradients_reach_threshold_and_temperature():
    pipeline = create_variant_calling_pipeline()
    data, labels = synthetic_sample()

    def loss(model):
        result, _, _ = model.apply(data, {}, None)
        return cross_entropy_loss(result["logits"], labels)

    grads = nnx.grad(loss)(pipeline)
    for grad in (grads["quality_filter"]["threshold"], grads["pileup"]["temperature"]):
        value = float(grad[...])
        assert np.isfinite(value) and value != 0.0


def test_gradients_in_evidence_mode():
    pipeline = create_variant_calling_pipeline(
        reference_length=120, use_evidence=True, num_genotypes=3
    )
    data = evidence_sample()

    def loss(model):
        result, _, _ = model.apply(data, {}, None)
        return jnp.mean(result["logits"] ** 2) + jnp.mean(result["genotype_logits"] ** 2)

    grads = nnx.grad(loss)(pipeline)
    for grad in (grads["quality_filter"]["threshold"], grads["pileup"]["temperature"]):
        value = float(grad[...])
        assert np.isfinite(value) and value != 0.0


def test_training_beats_majority_baseline_on_held_out_data():
    inputs, targets = create_synthetic_training_data(num_samples=60, reference_length=100, seed=1)
    held_in, held_labels = create_synthetic_training_data(
        num_samples=20, reference_length=100, seed=2
    )
    pipeline = create_variant_calling_pipeline(reference_length=100)
    trainer = Trainer(pipeline, TrainingConfig(learning_rate=1e-2, num_epochs=100))
    trainer.train(
        lambda: data_iterator(inputs, targets, batch_size=20, shuffle=True),
        lambda result, target: cross_entropy_loss(result["logits"], target["labels"]),
    )
    predictions = pipeline.call_variants(held_in)["predictions"]
    labels = np.asarray(held_labels["labels"])
    accuracy = float(np.mean(np.asarray(predictions) == labels))
    majority = float(np.mean(labels == np.bincount(labels.ravel()).argmax()))
    assert accuracy > majority + 0.005, (accuracy, majority)
    # and it finds variants, not just the majority class
    found = np.asarray(predictions)[labels > 0] == labels[labels > 0]
    assert found.mean() > 0.1, found.mean()


def test_apply_is_deterministic():
    pipeline = create_variant_calling_pipeline(reference_length=120, use_evidence=True)
    data = evidence_sample()
    a, _, _ = pipeline.apply(data, {}, None)
    b, _, _ = pipeline.apply(data, {}, None)
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]))


def test_evidence_outputs_have_documented_shapes():
    pipeline = create_variant_calling_pipeline(
        reference_length=120, use_evidence=True, num_genotypes=3
    )
    result, _, _ = pipeline.apply(evidence_sample(), {}, None)
    assert result["pileup"].shape == (120, 4)
    assert result["features"].shape == (120, NUM_FEATURES)
    assert result["probabilities"].shape == (120, 3)
    assert result["genotype_probabilities"].shape == (120, 3)
    assert np.all(np.isfinite(np.asarray(result["features"])))


@pytest.mark.parametrize("key", EVIDENCE_KEYS)
def test_every_documented_evidence_input_reaches_the_features(key):
    """A data key the evidence module documents but the pipeline drops is a silent defect
    (realigned read counts once were, for a whole release): each one must move the features."""
    pipeline = create_variant_calling_pipeline(reference_length=120, use_evidence=True,
                                               allele_evidence=True)
    data = evidence_sample()
    rng = np.random.default_rng(1)
    data.update(deletion_starts=data["deletions"], soft_clips=data["insertions"],
                read_mask=np.ones(30, np.float32), expected_depth=np.float32(8.0),
                repeat_span=np.ones(120, np.int32), soft_clipped=np.zeros(30, np.float32),
                read_indels=np.zeros(30, np.float32), read_insertion=np.full(30, -1.0, np.float32))
    # the packed and the counted forms, when given, stand for the three flag arrays
    data["read_flags"] = data["flag_counts"] = None
    assert set(EVIDENCE_KEYS) <= set(data)
    if key == "read_flags":
        data["read_flags"] = pack_read_flags(data["insertions"], data["deletion_starts"],
                                             data["soft_clips"])
    if key == "flag_counts":
        data["flag_counts"] = rng.integers(0, 3, (120, 3)).astype(np.float32)
    if key == "deletions":  # integer codes carry deletions themselves; one-hot reads need it
        data["reads"] = np.eye(5, dtype=np.float32)[np.minimum(data["reads"], 4)][..., :4]
    value = np.asarray(data[key])
    changed = dict(data)
    if key == "reference":
        changed[key] = (value + 1) % 4
    elif key == "expected_depth":
        changed[key] = np.float32(30.0)
    elif key == "repeat_span":
        changed[key] = value + rng.integers(0, 5, value.shape).astype(value.dtype)
    elif key == "read_mask":
        changed[key] = np.where(np.arange(30) < 20, 1.0, 0.0).astype(np.float32)
    elif key == "mapping_quality":
        changed[key] = value / 2
    elif key == "read_flags":
        changed[key] = value ^ (rng.random(value.shape) < 0.3).astype(np.uint8) * 4
    elif key == "flag_counts":
        changed[key] = value + rng.integers(0, 3, value.shape)
    elif key == "read_insertion":  # every read's insertion somewhere inside it
        changed[key] = (data["positions"] + rng.integers(2, 20, 30)).astype(np.float32)
    else:
        changed[key] = (rng.random(value.shape) < 0.3).astype(np.float32) * 3
    a, _, _ = pipeline.apply(data, {}, None)
    b, _, _ = pipeline.apply(changed, {}, None)
    assert not np.allclose(np.asarray(a["features"]), np.asarray(b["features"])), key


def test_packed_and_counted_read_flags_equal_the_three_flag_arrays():
    """The caller's two compact forms of the per-base flags give the very same features."""
    pipeline = create_variant_calling_pipeline(reference_length=120, use_evidence=True)
    data = evidence_sample()
    rng = np.random.default_rng(2)
    data["deletion_starts"] = (rng.random(data["insertions"].shape) < 0.05).astype(np.uint8)
    data["soft_clips"] = (rng.random(data["insertions"].shape) < 0.05).astype(np.float32)
    data["reads"][:3, 30:] = 6  # no base: its flags must not count
    data["soft_clips"][:3, 35] = 1
    arrays = ("insertions", "deletion_starts", "soft_clips")
    packed = {k: v for k, v in data.items() if k not in arrays}
    packed["read_flags"] = pack_read_flags(*(data[k] for k in arrays))
    counted = {k: v for k, v in data.items() if k not in arrays}
    cells = [np.nonzero(data[k]) for k in arrays]
    counted["flag_counts"] = flag_counts(data["reads"], data["positions"], cells, 120)
    a, _, _ = pipeline.apply(data, {}, None)
    for compact in (packed, counted):
        b, _, _ = pipeline.apply(compact, {}, None)
        np.testing.assert_array_equal(np.asarray(a["features"]), np.asarray(b["features"]))


def test_integer_codes_equal_one_hot_reads():
    pipeline = create_variant_calling_pipeline(reference_length=120, use_evidence=True)
    data = evidence_sample()
    one_hot = dict(data, reads=np.eye(5, dtype=np.float32)[np.minimum(data["reads"], 4)][..., :4])
    a, _, _ = pipeline.apply(data, {}, None)
    b, _, _ = pipeline.apply(one_hot, {}, None)
    np.testing.assert_allclose(a["probabilities"], b["probabilities"], rtol=1e-6)


def test_scatter_conserves_mass_and_drops_off_reference():
    values = jnp.ones((5, 10, 2))
    positions = jnp.array([0, 3, 95, -4, 50])
    out = scatter_rows(values, positions, 100)
    inside = 10 + 10 + 5 + 6 + 10
    assert float(out.sum()) == 2 * inside
    assert float(out[99, 0]) == 1.0 and float(out[0, 0]) == 2.0


def test_bucket_sizes():
    assert [bucket_size(n) for n in (1, 16, 17, 24, 25, 33, 100, 1000)] == [
        16, 16, 24, 24, 32, 48, 128, 1024
    ]


def test_padding_does_not_change_the_answer():
    pipeline = create_variant_calling_pipeline(reference_length=120, use_evidence=True)
    data = evidence_sample()
    padded = pad_reads(data)
    assert padded["quality"].shape == (32, 64)
    a, _, _ = pipeline.apply(data, {}, None)
    b, _, _ = pipeline.apply(padded, {}, None)
    np.testing.assert_allclose(a["probabilities"], b["probabilities"], rtol=1e-5, atol=1e-6)


def test_buckets_bound_recompilation():
    pipeline = create_variant_calling_pipeline(reference_length=120, use_evidence=True)
    traces = []

    @jax.jit
    def probabilities(model, data):
        traces.append(1)
        result, _, _ = model.apply(data, {}, None)
        return result["probabilities"]

    sizes = [17, 20, 23, 30, 31, 40, 45, 47]
    buckets = {bucket_size(n) for n in sizes}
    for i, n in enumerate(sizes):
        probabilities(pipeline, pad_reads(evidence_sample(num_reads=n, seed=i), width=40))
    assert len(traces) == len(buckets) == 3


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 60), st.integers(0, 2**31 - 1))
def test_random_reads_conserve_mass_and_give_finite_outputs(num_reads, width, seed):
    rng = np.random.default_rng(seed)
    length = 80
    codes = rng.integers(0, 7, size=(num_reads, width)).astype(np.int8)
    positions = rng.integers(-width, length + 5, size=num_reads).astype(np.int32)
    weights = rng.random((num_reads, width)).astype(np.float32)
    counts = np.asarray(scatter_codes(jnp.asarray(codes), jnp.asarray(weights),
                                      jnp.asarray(positions), length))
    cols = positions[:, None] + np.arange(width)[None, :]
    inside = (cols >= 0) & (cols < length) & (codes < 4)
    np.testing.assert_allclose(counts.sum(), weights[inside].sum(), rtol=1e-5, atol=1e-5)
    data = {
        "reads": codes,
        "positions": positions,
        "quality": rng.integers(0, 94, size=(num_reads, width)).astype(np.uint8),
        "reference": rng.integers(0, 5, size=length).astype(np.int8),
        "deletions": (codes == 5).astype(np.uint8),
        "insertions": (rng.random((num_reads, width)) < 0.05).astype(np.uint8),
        "strand": rng.integers(0, 2, size=num_reads).astype(np.float32),
        "mapping_quality": rng.integers(0, 61, size=num_reads).astype(np.float32),
    }
    result, _, _ = _EVIDENCE_PIPELINE.apply(data, {}, None)
    for key in ("features", "probabilities", "genotype_probabilities"):
        assert np.all(np.isfinite(np.asarray(result[key])))


_EVIDENCE_PIPELINE = create_variant_calling_pipeline(use_evidence=True, num_genotypes=3)


def test_sparse_predict_equals_dense_apply_at_candidates(monkeypatch):
    import dvcall.pipelines.variant_calling as variant_calling
    from dvcall.operators.evidence import candidate_positions

    pipeline = create_variant_calling_pipeline(reference_length=120, use_evidence=True,
                                               num_genotypes=3, classifier_extra_layers=1)
    data = evidence_sample(num_reads=40)
    dense, _, _ = pipeline.apply(data, {}, None)
    candidates = np.asarray(candidate_positions(dense["features"]))
    assert 0 < candidates.sum() < 120
    count = int(candidates.sum())
    # the candidates fill a small tier exactly; overflow it into the next; no small tier
    for tiers in ((count,), (count - 1, count + 5), ()):
        monkeypatch.setattr(variant_calling, "CANDIDATE_TIERS", tiers)
        probs, genotypes = pipeline.predict(data, max_candidates=120)
        np.testing.assert_allclose(np.asarray(probs)[candidates],
                                   np.asarray(dense["probabilities"])[candidates], atol=1e-5)
        np.testing.assert_allclose(np.asarray(genotypes)[candidates],
                                   np.asarray(dense["genotype_probabilities"])[candidates],
                                   atol=1e-5)
        assert np.all(np.asarray(probs)[~candidates, 0] == 1.0)
    # too many candidates for the sparse path: every position is classified
    probs_all, _ = pipeline.predict(data, max_candidates=1)
    np.testing.assert_allclose(np.asarray(probs_all), np.asarray(dense["probabilities"]),
                               atol=1e-5)


def test_top_two_equals_a_sort():
    from dvcall.operators.evidence import top_two

    values = np.random.default_rng(0).random((500, 4)).astype(np.float32)
    values[::7, 1] = values[::7, 2]  # ties
    values[::11] = 0.0
    largest, second = top_two(jnp.asarray(values))
    ordered = np.sort(values, axis=-1)
    np.testing.assert_array_equal(np.asarray(largest), ordered[:, -1])
    np.testing.assert_array_equal(np.asarray(second), ordered[:, -2])
