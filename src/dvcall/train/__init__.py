"""Training on a BAM + truth VCF: labels, examples and the training loop."""
