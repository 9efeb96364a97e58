"""Saved executables: a second process loads what the first compiled, gives the same numbers,
needs no Flax, and never uses a damaged file or one made for another model."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from dvcall.errors import InputError
from dvcall.model.predictor import Predictor, model_key
from dvcall.model.shipped import default_model_path
from dvcall.runtime.cache import prune
from dvcall.runtime.timing import Timings

pytestmark = pytest.mark.usefixtures("jax_cache_off")


def _predict(folder, data, model=None):
    timings = Timings()
    out = [np.asarray(x) for x in Predictor(model, timings, folder=folder)(data)]
    return out, timings.compilations, timings.loads


def test_second_predictor_loads_what_the_first_compiled(tmp_path, chunk_data):
    first, compiled, loaded = _predict(tmp_path, chunk_data)
    assert (compiled, loaded) == (1, 0)
    assert len(list((tmp_path / "executables").glob("*.exe"))) == 1
    second, compiled, loaded = _predict(tmp_path, chunk_data)
    assert (compiled, loaded) == (0, 1)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert first[0].shape == (chunk_data["reference"].shape[0], 3)


def test_a_damaged_executable_is_compiled_again(tmp_path, chunk_data):
    want, _, _ = _predict(tmp_path, chunk_data)
    (exe,) = (tmp_path / "executables").glob("*.exe")
    blob = bytearray(exe.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    exe.write_bytes(bytes(blob))
    got, compiled, loaded = _predict(tmp_path, chunk_data)
    assert (compiled, loaded) == (1, 0)
    np.testing.assert_array_equal(got[0], want[0])
    _, compiled, loaded = _predict(tmp_path, chunk_data)  # and the file was replaced
    assert (compiled, loaded) == (0, 1)


def test_another_model_file_gets_its_own_executable(tmp_path, chunk_data):
    base, _, _ = _predict(tmp_path, chunk_data)
    weights = load_file(str(default_model_path()))
    with safe_open(str(default_model_path()), framework="numpy") as fh:
        metadata = fh.metadata()
    weights["classifier.output.bias"] = weights["classifier.output.bias"] + np.float32(2.0)
    other = tmp_path / "other.safetensors"
    save_file(weights, str(other), metadata=metadata)
    got, compiled, loaded = _predict(tmp_path, chunk_data, other)
    assert (compiled, loaded) == (1, 0)
    assert not np.array_equal(got[0], base[0])


def test_a_file_that_is_not_a_model_fails_even_with_a_warm_cache(tmp_path, chunk_data):
    _predict(tmp_path, chunk_data)
    bad = tmp_path / "bad.safetensors"
    bad.write_text("not a model\n")
    with pytest.raises(InputError, match="not a dvcall model"):
        Predictor(bad, folder=tmp_path)


def test_a_warm_process_calls_without_importing_flax(tmp_path, testdata):
    """The point of saving executables: no Flax import, no tracing, in a warm process."""
    script = (
        "import json, sys\n"
        "from dvcall.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(json.dumps('flax' in sys.modules))\n")
    args = ["call", "--bam", str(testdata / "reads.bam"), "--ref", str(testdata / "ref.fa"),
            "--region", "chr1:1-20000", "-o", str(tmp_path / "out.vcf"), "--quiet"]
    env = {**os.environ, "DVCALL_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                           text=True, env=env, check=True) for _ in range(2)]
    assert [json.loads(r.stdout.strip().splitlines()[-1]) for r in runs] == [True, False]


def test_prune_deletes_the_least_recently_used_first(tmp_path):
    for age, name in enumerate(["new", "mid", "old"]):
        path = tmp_path / name
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000_000 - age * 1000, 1_000_000 - age * 1000))
    prune(tmp_path, limit=250)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mid", "new"]
    prune(tmp_path, limit=250)
    assert len(list(tmp_path.iterdir())) == 2


def test_a_cache_folder_that_cannot_be_written_only_costs_speed(tmp_path, chunk_data):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be\n")
    want, _, _ = _predict(tmp_path / "ok", chunk_data)
    for _ in range(2):
        got, compiled, loaded = _predict(blocked / "cache", chunk_data)
        assert (compiled, loaded) == (1, 0)
        np.testing.assert_array_equal(got[0], want[0])


def test_the_key_follows_what_the_executable_depends_on(tmp_path, monkeypatch):
    model = tmp_path / "m.safetensors"
    model.write_bytes(default_model_path().read_bytes())
    key = model_key(model)
    assert model_key(model) == key
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_min_max=true")
    assert model_key(model) != key
    monkeypatch.delenv("XLA_FLAGS")
    model.write_bytes(model.read_bytes() + b" ")
    assert model_key(model) != key
