"""End-to-end pipelines built from the operators."""

from dvcall.pipelines.variant_calling import (
    VariantCallingPipeline,
    VariantCallingPipelineConfig,
    create_variant_calling_pipeline,
)

__all__ = [
    "VariantCallingPipeline",
    "VariantCallingPipelineConfig",
    "create_variant_calling_pipeline",
]
