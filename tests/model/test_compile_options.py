import jax.numpy as jnp
import numpy as np

from dvcall.model import compile_options


def test_tuned_compile_gives_plain_results():
    x = jnp.asarray(np.random.default_rng(0).random((1000, 6), np.float32))
    f = compile_options.compile(lambda v: (v.sum(-1), v.max(-1)), x)
    for got, want in zip(f(x), (x.sum(-1), x.max(-1))):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_an_option_this_jaxlib_does_not_know_falls_back_to_plain_compile(monkeypatch):
    monkeypatch.setattr(compile_options, "CPU_OPTIONS", {"xla_no_such_option_here": ""})
    f = compile_options.compile(lambda v: v * 2, jnp.arange(4))
    np.testing.assert_array_equal(f(jnp.arange(4)), [0, 2, 4, 6])
