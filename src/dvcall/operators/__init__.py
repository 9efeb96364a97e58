"""The differentiable operators of the pipeline, one module per operator."""

from dvcall.operators.pileup import DifferentiablePileup, PileupConfig
from dvcall.operators.quality_filter import QualityFilter, QualityFilterConfig
from dvcall.operators.variant import VariantClassifier, VariantClassifierConfig

__all__ = [
    "DifferentiablePileup",
    "PileupConfig",
    "QualityFilter",
    "QualityFilterConfig",
    "VariantClassifier",
    "VariantClassifierConfig",
]
