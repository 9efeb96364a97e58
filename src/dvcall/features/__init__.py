"""From reads to the model's input: CIGAR projection, indel normalisation, repeats,
realignment and per-chunk preparation. No JAX here (numpy only)."""
