"""Post-processing: the model's per-position probabilities to VCF records."""
