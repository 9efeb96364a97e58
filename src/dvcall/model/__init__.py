"""The model: its output classes, its file format, the shipped weights and the compiled
predictor. Importing this package imports neither JAX nor Flax."""
