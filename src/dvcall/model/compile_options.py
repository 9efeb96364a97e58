"""How the caller's model is compiled: ahead of time with XLA options that suit this model.

XLA's CPU compiler hands reductions over a position's few channels (2 to 6 values) to
YNNPACK, which runs them slower than XLA's own loops (docs/decisions.md, Speed). The option
is experimental, so a jaxlib that no longer knows it compiles without it. On a GPU it is
ignored.
"""

from collections.abc import Callable

import jax

CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}


def compile(fn: Callable, *args):
    """``fn`` compiled ahead of time for ``args``' shapes with :data:`CPU_OPTIONS`, or plainly
    where this jaxlib does not know one of them (it says so when compiling)."""
    try:
        return jax.jit(fn, compiler_options=CPU_OPTIONS).lower(*args).compile()
    except jax.errors.JaxRuntimeError as exc:
        if "No such compile option" not in str(exc):
            raise
        return jax.jit(fn).lower(*args).compile()
