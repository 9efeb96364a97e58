"""The variant-calling pipeline: soft quality filter -> differentiable pileup -> classifier.

``apply(data, state, metadata) -> (result, state, metadata)`` takes one sample (``positions``
of shape ``(R,)``) or a batch (a dict of stacked arrays, ``positions`` of shape ``(B, R)``).
Everything is differentiable with respect to the filter threshold, the pileup temperature and
the classifier weights, so the whole caller trains end to end.
"""

from dataclasses import asdict, dataclass
from functools import partial

import jax
import jax.numpy as jnp
from flax import nnx

from dvcall.operators.allele_evidence import NUM_ALLELE_FEATURES, allele_slots
from dvcall.operators.evidence import (
    EVIDENCE_KEYS,
    NUM_FEATURES,
    allele_evidence,
    candidate_positions,
    position_evidence,
)
from dvcall.operators.pileup import DifferentiablePileup, PileupConfig
from dvcall.operators.quality_filter import QualityFilter, QualityFilterConfig
from dvcall.operators.variant import VariantClassifier, VariantClassifierConfig

# Candidate slots tried before predict's max_candidates: the classifier's cost scales with the
# slots, not with the candidates that fill them (30x: ~100 candidates per 50 kb chunk).
CANDIDATE_TIERS = (128, 512)
ALLELE_TIER = 512  # candidate slots of the per-allele evidence before allele_slots(length)


@dataclass(frozen=True)
class VariantCallingPipelineConfig:
    reference_length: int = 100
    num_classes: int = 3  # REF, SNP, INDEL (dvcall.model.classes)
    quality_threshold: float = 20.0  # the soft filter's initial base-quality threshold
    pileup_window_size: int = 11  # positions the classifier sees around each one
    classifier_hidden_dim: int = 64
    use_quality_weights: bool = True
    # Beyond the seed: what a caller on real reads needs (defaults keep the seed's behaviour).
    use_evidence: bool = False
    num_genotypes: int = 0
    classifier_extra_layers: int = 0
    allele_evidence: bool = False  # per-allele read evidence (operators/allele_evidence.py)
    dropout_rate: float = 0.1
    initial_temperature: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)


def _one_hot_reads(reads: jax.Array, quality: jax.Array) -> jax.Array:
    """Accept one-hot/soft reads ``(..., R, W, 4)`` or integer base codes ``(..., R, W)``.

    Codes 0..3 are A C G T; anything else (N, deletion, padding) becomes an all-zero row.
    """
    reads = jnp.asarray(reads)
    if reads.ndim == quality.ndim:
        return jax.nn.one_hot(reads, 4, dtype=jnp.float32)
    return reads.astype(jnp.float32)


class VariantCallingPipeline(nnx.Module):
    def __init__(self, config: VariantCallingPipelineConfig | None = None, *, rngs: nnx.Rngs):
        self.config = config = config or VariantCallingPipelineConfig()
        self.quality_filter = QualityFilter(QualityFilterConfig(config.quality_threshold))
        self.pileup = DifferentiablePileup(
            PileupConfig(config.use_quality_weights, config.initial_temperature)
        )
        self.classifier = VariantClassifier(
            VariantClassifierConfig(
                num_classes=config.num_classes,
                hidden_dim=config.classifier_hidden_dim,
                input_window=config.pileup_window_size,
                dropout_rate=config.dropout_rate,
                in_channels=self.num_channels,
                num_genotypes=config.num_genotypes,
                extra_layers=config.classifier_extra_layers,
            ),
            rngs=rngs,
        )

    @property
    def num_channels(self) -> int:
        """Channels of the classifier's per-position input."""
        if not self.config.use_evidence:
            return 4
        return NUM_FEATURES + (NUM_ALLELE_FEATURES if self.config.allele_evidence else 0)

    # -- modes ---------------------------------------------------------------------------
    def train_mode(self) -> None:
        """Enable dropout (training)."""
        self.train()

    def eval_mode(self) -> None:
        """Disable dropout (inference); pipelines are created in this mode."""
        self.eval()

    # -- forward -------------------------------------------------------------------------
    def apply(self, data: dict, state: dict | None = None, metadata=None):
        """Run the three stages on one sample or a stacked batch; see the module docstring."""
        filtered_reads, filtered_quality, pileup, features = self._features(data)
        logits, genotype_logits = self.classifier.heads(features)
        result = {
            "reads": data["reads"],
            "positions": data["positions"],
            "quality": data["quality"],
            "filtered_reads": filtered_reads,
            "filtered_quality": filtered_quality,
            "pileup": pileup,
            "logits": logits,
            "probabilities": jax.nn.softmax(logits, axis=-1),
        }
        if self.config.use_evidence:
            result["features"] = features
        if genotype_logits is not None:
            result["genotype_logits"] = genotype_logits
            result["genotype_probabilities"] = jax.nn.softmax(genotype_logits, axis=-1)
        return result, ({} if state is None else state), metadata

    def predict(self, data: dict, max_candidates: int, weight_table: jax.Array | None = None
                ) -> tuple[jax.Array, jax.Array]:
        """Class and genotype probabilities ``(L, 3)`` of one sample, classifying only the
        candidate positions (those with any non-reference evidence, see
        :func:`candidate_positions`); every other position is reference with certainty.

        The caller's fast path: the same numbers as :meth:`apply` at candidates. When a chunk
        has more than ``max_candidates`` of them, every position is classified; with fewer,
        the smallest of :data:`CANDIDATE_TIERS` (or ``max_candidates``) that holds them all.
        ``weight_table`` is :meth:`base_weight_table`, when the caller has computed it outside
        the jitted function: inside, XLA fused the table's sigmoid and power into the per-base
        gather, evaluating them again for every base (seen in the compiled HLO).
        """
        if not self.config.use_evidence or self.config.num_genotypes == 0:
            raise ValueError("predict needs an evidence model with a genotype head")
        features, allele_inputs = self._position_features(data, weight_table)
        length = features.shape[0]
        mask = candidate_positions(features)
        features = self._with_alleles(features, allele_inputs, mask)

        def sparse(size, _):
            index = jnp.nonzero(mask, size=size, fill_value=length)[0]
            logits, genotype_logits = self.classifier.heads_at(features, jnp.minimum(
                index, length - 1))
            ref = jnp.zeros((length + 1, self.config.num_classes)).at[:, 0].set(1.0)
            hom_ref = jnp.zeros((length + 1, self.config.num_genotypes)).at[:, 0].set(1.0)
            probs = ref.at[index].set(jax.nn.softmax(logits, -1))[:length]
            genotypes = hom_ref.at[index].set(jax.nn.softmax(genotype_logits, -1))[:length]
            return probs, genotypes

        def dense(_):
            logits, genotype_logits = self.classifier.heads(features)
            return jax.nn.softmax(logits, -1), jax.nn.softmax(genotype_logits, -1)

        # the smallest tier that holds every candidate runs (lax.switch runs one branch)
        sizes = sorted({min(size, max_candidates) for size in CANDIDATE_TIERS}
                       | {max_candidates})
        tier = jnp.sum(jnp.sum(mask) > jnp.asarray(sizes))
        return jax.lax.switch(tier, [partial(sparse, size) for size in sizes] + [dense], None)

    def _position_features(self, data: dict, weight_table: jax.Array | None = None):
        """One sample's ``(position features (L, NUM_FEATURES), allele inputs)``: what
        :meth:`predict` classifies, the per-allele evidence added once the candidates are
        known (:meth:`_with_alleles`)."""
        quality, positions, codes, reads = self._read_inputs(data)
        evidence = {k: data[k] for k in EVIDENCE_KEYS if data.get(k) is not None}
        _, features, allele_inputs = self._sample_evidence(
            evidence, reads, codes, self._base_weights(quality, weight_table), positions,
            quality, self._length(data, batched=False))
        return features, allele_inputs

    def _sample_evidence(self, evidence, reads, codes, weights, positions, quality, length):
        """One sample's ``(pileup, position features, allele inputs)``."""
        pileup, features, context = position_evidence(self.pileup, reads, codes, weights,
                                                      positions, evidence, length)
        if not jnp.issubdtype(quality.dtype, jnp.integer):
            quality = jnp.round(quality).astype(jnp.int32)
        return pileup, features, (context, quality, positions)

    @staticmethod
    def _read_inputs(data: dict):
        """``(quality, positions, integer codes or None, one-hot reads)`` of the data."""
        quality = jnp.asarray(data["quality"])
        if not jnp.issubdtype(quality.dtype, jnp.integer):
            quality = quality.astype(jnp.float32)
        codes = jnp.asarray(data["reads"])
        codes = codes if codes.ndim == quality.ndim else None
        return quality, jnp.asarray(data["positions"]), codes, _one_hot_reads(data["reads"],
                                                                              quality)

    def _features(self, data: dict, weight_table: jax.Array | None = None):
        """``(filtered_reads, filtered_quality, pileup, classifier input)``."""
        quality, positions, codes, reads = self._read_inputs(data)
        length = self._length(data, batched=positions.ndim == 2)

        filtered_reads, filtered_quality = self.quality_filter(reads, quality)
        weights = self._base_weights(quality, weight_table)

        if self.config.use_evidence:
            def sample_features(sample, r, c, w, p, q):
                pileup, features, allele_inputs = self._sample_evidence(sample, r, c, w, p, q,
                                                                        length)
                features = self._with_alleles(features, allele_inputs,
                                              candidate_positions(features))
                return pileup, features

            evidence = {k: data[k] for k in EVIDENCE_KEYS if data.get(k) is not None}
            inputs = (evidence, reads, codes, weights, positions, quality)
            if positions.ndim == 1:
                pileup, features = sample_features(*inputs)
            elif positions.shape[0] == 1:  # a batch of one (training): no vmap, whose
                # batched lax.cond would run both branches of the allele evidence
                pileup, features = jax.tree.map(lambda x: x[None], sample_features(
                    *jax.tree.map(lambda x: x[0], inputs)))
            else:
                pileup, features = jax.vmap(sample_features)(*inputs)
        else:
            def sample_pileup(fr, p, q, c, w):
                return self.pileup(fr, p, q, length, codes=c, weights=w)

            if positions.ndim == 2:
                pileup = jax.vmap(sample_pileup)(filtered_reads, positions, quality, codes, weights)
            else:
                pileup = sample_pileup(filtered_reads, positions, quality, codes, weights)
            features = pileup
        return filtered_reads, filtered_quality, pileup, features

    def _with_alleles(self, features: jax.Array, allele_inputs, candidates: jax.Array
                      ) -> jax.Array:
        """One sample's position features with the per-allele evidence appended at the
        first :func:`allele_slots` candidates (``allele_inputs``: the evidence context,
        Phred scores and read starts). Few candidates take ALLELE_TIER slots, and the cost
        follows the slots."""
        if not self.config.allele_evidence:
            return features
        context, quality, positions = allele_inputs
        length = features.shape[0]
        slots = allele_slots(length)

        def at_first(size):
            index = jnp.nonzero(candidates, size=size, fill_value=length)[0]
            return allele_evidence(context, quality, positions, index)

        small = min(ALLELE_TIER, slots)
        alleles = jax.lax.cond(jnp.sum(candidates) <= small, partial(at_first, small),
                               partial(at_first, slots))
        return jnp.concatenate([features, alleles], -1)

    def base_weight_table(self) -> jax.Array:
        """``(256,)`` retention x pileup weight of every integer Phred score."""
        return self.quality_filter.table() * self.pileup.weight_table()

    def _base_weights(self, quality: jax.Array, table: jax.Array | None = None) -> jax.Array:
        """Retention x pileup weight per base; one table gather for integer qualities."""
        if jnp.issubdtype(quality.dtype, jnp.integer):
            table = self.base_weight_table() if table is None else table
            return table[quality.astype(jnp.int32)]
        return self.quality_filter.retention(quality) * self.pileup.base_weights(quality)

    def _length(self, data: dict, batched: bool) -> int:
        reference = data.get("reference")
        if reference is None:
            return self.config.reference_length
        shape = jnp.shape(reference)
        base_dims = len(shape) - (1 if batched else 0)
        return shape[-1] if base_dims == 1 else shape[-2]

    def apply_batch(self, batch: dict, state: dict | None = None, metadata=None) -> dict:
        """Apply to a dict of arrays stacked on a leading batch axis; returns the result dict."""
        result, _, _ = self.apply(batch, state, metadata)
        return result

    def call_variants(self, batch: dict, threshold: float = 0.5) -> dict:
        """Class per position: a variant class when ``P(not ref) >= threshold``, else 0."""
        result, _, _ = self.apply(batch, {}, None)
        probabilities = result["probabilities"]
        variant_probability = 1.0 - probabilities[..., 0]
        best_variant = jnp.argmax(probabilities[..., 1:], axis=-1) + 1
        predictions = jnp.where(variant_probability >= threshold, best_variant, 0)
        out = {
            "predictions": predictions,
            "probabilities": probabilities,
            "pileup": result["pileup"],
        }
        if "genotype_probabilities" in result:
            out["genotype_probabilities"] = result["genotype_probabilities"]
        return out


def create_variant_calling_pipeline(
    reference_length: int = 100,
    num_classes: int = 3,
    quality_threshold: float = 20.0,
    pileup_window_size: int = 11,
    classifier_hidden_dim: int = 64,
    use_quality_weights: bool = True,
    *,
    seed: int = 0,
    **extra,
) -> VariantCallingPipeline:
    """Build a pipeline from the seed's six settings (plus our extensions as keywords)."""
    config = VariantCallingPipelineConfig(
        reference_length=reference_length,
        num_classes=num_classes,
        quality_threshold=quality_threshold,
        pileup_window_size=pileup_window_size,
        classifier_hidden_dim=classifier_hidden_dim,
        use_quality_weights=use_quality_weights,
        **extra,
    )
    return VariantCallingPipeline(config, rngs=nnx.Rngs(seed))
