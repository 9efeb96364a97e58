"""dvcall: a germline small-variant caller on a differentiable JAX/Flax NNX pipeline.

Importing the package is cheap: the JAX modules load only when a submodule that needs them
is imported (``dvcall.pipelines``, ``dvcall.operators``, ...).
"""

__version__ = "0.1.0"
