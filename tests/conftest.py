import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pysam
import pytest

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"


@pytest.fixture(scope="session")
def testdata() -> Path:
    return TESTDATA


def run_dvcall(*args, check=True, **kwargs) -> subprocess.CompletedProcess:
    """Run the CLI as a user would: a subprocess of the installed entry point's module."""
    result = subprocess.run([sys.executable, "-m", "dvcall.cli", *map(str, args)],
                            capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"dvcall {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def whole_run(tmp_path_factory, testdata):
    """One full `dvcall call` over testdata, shared by the tests that read its VCF."""
    out = tmp_path_factory.mktemp("call") / "calls.vcf.gz"
    result = run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
                        "-o", out)
    return out, result


@pytest.fixture(scope="session")
def thin_run(tmp_path_factory, testdata):
    """testdata's reads thinned to ~5x (so that some variants have one read or two) and the
    shipped model's calls on them: (BAM, VCF)."""
    folder = tmp_path_factory.mktemp("thin")
    thin = folder / "thin.bam"
    pysam.samtools.view("-b", "-s", "7.15", "-o", str(thin), str(testdata / "reads.bam"),
                        catch_stdout=False)
    pysam.samtools.index(str(thin))
    run_dvcall("call", "--bam", thin, "--ref", testdata / "ref.fa", "--quiet",
               "-o", folder / "default.vcf.gz")
    return thin, folder / "default.vcf.gz"


def quiet_model_calls(testdata, thin_run, folder, write_noise):
    """The thinned reads called with a copy of the shipped model whose recorded training
    noise (``write_noise``: write_snp_noise or write_indel_noise) is 1e-9, so testdata looks
    noisy to it: (the shipped model's VCF, this one's)."""
    from dvcall.model.shipped import default_model_path

    quiet = folder / "quiet.safetensors"
    shutil.copy(default_model_path(), quiet)
    write_noise(quiet, 1e-9)
    thin, default_vcf = thin_run
    run_dvcall("call", "--bam", thin, "--ref", testdata / "ref.fa", "--quiet",
               "-o", folder / "quiet.vcf.gz", "--model", quiet)
    return default_vcf, folder / "quiet.vcf.gz"


def body(path):
    """A VCF's records (lines not starting with '#'), bgzipped or plain."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as fh:
        return [line for line in fh if not line.startswith("#")]


@pytest.fixture
def jax_cache_off():
    """A test before may have turned JAX's persistent cache on (training does), and with it on
    no executable is saved."""
    import jax

    folder = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", None)
    yield
    jax.config.update("jax_compilation_cache_dir", folder)


@pytest.fixture(scope="session")
def chunk_data(testdata):
    """The model input of testdata's first 20 kb, as `dvcall call` prepares it."""
    import pysam

    from dvcall.features.chunk import prepare_chunk
    from dvcall.io.alignments import AlignmentSource, ReadFilter
    from dvcall.io.regions import Chunk

    fasta = pysam.FastaFile(str(testdata / "ref.fa"))
    source = AlignmentSource(pysam.AlignmentFile(str(testdata / "reads.bam")))
    chunk = Chunk(0, fasta.references[0], 0, 20_000, fasta.lengths[0])
    return prepare_chunk(source, fasta, chunk, 20_000, ReadFilter(), 30.0).data
