"""How the caller's model is compiled: ``jax.jit`` with XLA options that suit this model.

XLA's CPU compiler hands reductions over a position's few channels (2 to 6 values) to
YNNPACK, which ran them slower than XLA's own loops: the jitted model on a 50 kb chunk of a
30x BAM took 18-28 ms with it and 12-18 ms without (one core, medians of 40, alternating
processes), for the same VCF. The option is experimental, so a jaxlib that no longer knows it
compiles without it. On a GPU it is ignored.
"""

from collections.abc import Callable

import jax

CPU_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}


def jit(fn: Callable, **jit_kwargs) -> Callable:
    """``jax.jit(fn)`` compiled with :data:`CPU_OPTIONS`, or plainly where this jaxlib does not
    know one of them (it says so at the first compilation, which is then done again)."""
    tuned = jax.jit(fn, compiler_options=CPU_OPTIONS, **jit_kwargs)
    plain = jax.jit(fn, **jit_kwargs)
    chosen = [tuned]

    def run(*args, **kwargs):
        try:
            return chosen[0](*args, **kwargs)
        except jax.errors.JaxRuntimeError as exc:
            if chosen[0] is plain or "No such compile option" not in str(exc):
                raise
            chosen[0] = plain
            return plain(*args, **kwargs)

    return run
