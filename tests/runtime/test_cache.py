"""The executables cache loads only what this user wrote and signed: a planted pickle is never
unpickled, another user's secret or file is refused, and the user's own files still load."""

import hashlib
import json
import os
import pickle
import subprocess
import sys

import jax
import numpy as np
import pytest

from dvcall.model.predictor import Predictor
from dvcall.runtime import cache
from dvcall.runtime.timing import Timings

REFUSED = "was not written by this user; compiling instead"


class _Plant:
    """What an attacker writes into a shared cache: unpickling it runs a command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _call(testdata, tmp_path, name, config="config"):
    env = {**os.environ, "DVCALL_CACHE_DIR": str(tmp_path / "cache"),
           "XDG_CONFIG_HOME": str(tmp_path / config)}
    out, timings = tmp_path / f"{name}.vcf", tmp_path / f"{name}.json"
    result = subprocess.run(
        [sys.executable, "-m", "dvcall.cli", "call", "--bam", testdata / "reads.bam", "--ref",
         testdata / "ref.fa", "--region", "chr1:1-20000", "-o", out, "--timings", timings,
         "--quiet"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    vcf = [line for line in out.read_text().splitlines()  # the command line names the files
           if not line.startswith("##dvcallCommand")]
    return vcf, json.loads(timings.read_text()), result.stderr


def test_a_planted_pickle_is_never_unpickled(testdata, tmp_path):
    want, first, _ = _call(testdata, tmp_path, "clean")
    assert first["jit_compilations"] > 0
    marker = tmp_path / "pwned"
    exes = sorted((tmp_path / "cache" / "executables").glob("*.exe"))
    assert exes
    for exe in exes:
        payload = pickle.dumps(_Plant(marker))
        exe.write_bytes(hashlib.sha256(payload).digest() + payload)
    got, timings, stderr = _call(testdata, tmp_path, "attacked")
    assert not marker.exists()
    assert got == want
    assert timings["executables_loaded"] == 0 and timings["jit_compilations"] == len(exes)
    assert stderr.count(REFUSED) == 1, stderr


def test_the_users_own_files_still_load(testdata, tmp_path):
    want, _, _ = _call(testdata, tmp_path, "first")
    got, timings, stderr = _call(testdata, tmp_path, "second")
    assert got == want and stderr == ""
    assert timings["executables_loaded"] > 0 and timings["jit_compilations"] == 0


pytestmark = pytest.mark.usefixtures("jax_cache_off")


def _predict(folder, data):
    timings = Timings()
    out = np.asarray(Predictor(None, timings, folder=folder)(data)[0])
    return out, timings.compilations, timings.loads


@pytest.fixture
def user(tmp_path, monkeypatch):
    """This test's own config folder (the secret) and a fresh set of warnings."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "me"))
    monkeypatch.setattr(cache, "_said", set())
    return tmp_path


def test_a_file_signed_with_another_users_secret_is_refused(user, chunk_data, monkeypatch,
                                                            capsys):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user / "someone-else"))
    want, _, _ = _predict(user / "shared", chunk_data)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user / "me"))
    capsys.readouterr()
    got, compiled, loaded = _predict(user / "shared", chunk_data)
    assert (compiled, loaded) == (1, 0)
    np.testing.assert_array_equal(got, want)
    assert REFUSED in capsys.readouterr().err
    _, compiled, loaded = _predict(user / "shared", chunk_data)  # now re-signed by this user
    assert (compiled, loaded) == (0, 1)


def test_a_file_another_user_owns_is_refused(user, chunk_data, monkeypatch, capsys):
    _predict(user / "shared", chunk_data)
    uid = os.getuid()
    monkeypatch.setattr(cache.os, "getuid", lambda: uid + 1)  # the files are now another's
    monkeypatch.setattr(cache, "signing_key", lambda: b"k" * 32)
    import dvcall.model.predictor as predictor

    monkeypatch.setattr(predictor, "signing_key", lambda: b"k" * 32)
    _, compiled, loaded = _predict(user / "shared", chunk_data)
    assert (compiled, loaded) == (1, 0)
    assert REFUSED in capsys.readouterr().err


def test_a_key_others_can_read_is_not_used(user, chunk_data, capsys):
    _predict(user / "cache", chunk_data)
    cache.key_path().chmod(0o644)
    _, compiled, loaded = _predict(user / "cache", chunk_data)
    assert (compiled, loaded) == (1, 0)
    assert "is not this user's private key" in capsys.readouterr().err


def test_the_key_is_private_and_outside_the_cache(user, chunk_data):
    _predict(user / "cache", chunk_data)
    key = cache.key_path()
    assert key.stat().st_mode & 0o777 == 0o600
    assert not list((user / "cache").rglob("*.key"))


def test_a_folder_others_can_write_gets_one_warning(user, chunk_data, capsys):
    folder = user / "shared" / "executables"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    _predict(user / "shared", chunk_data)
    _predict(user / "shared", chunk_data)
    assert capsys.readouterr().err.count("is writable by other users") == 1
    folder.chmod(0o1777)  # sticky: others cannot replace this user's files
    cache._said.clear()
    _predict(user / "shared", chunk_data)
    assert "writable by other users" not in capsys.readouterr().err


def test_trainings_jax_cache_is_used_only_when_private(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cache, "_said", set())
    monkeypatch.setenv("DVCALL_CACHE_DIR", str(tmp_path / "cache"))
    shared = tmp_path / "cache" / "jax"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    cache.enable_compilation_cache()
    assert jax.config.jax_compilation_cache_dir is None
    assert "not private to this user" in capsys.readouterr().err
    shared.chmod(0o700)
    cache.enable_compilation_cache()
    assert jax.config.jax_compilation_cache_dir == str(shared)
