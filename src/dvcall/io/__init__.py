"""Files in and out: alignments, reference, regions, VCF, truth, atomic outputs. No JAX here."""
