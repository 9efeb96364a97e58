"""Calling: chunks of a BAM/CRAM through features, the compiled model and post-processing, in
order, in one process or several. Importing this package imports no JAX."""
