"""`dvcall train`: checkpoints, resume, data-parallel sharding, --synthetic, model files."""

import json
import os
import re

import jax
import numpy as np
from conftest import run_dvcall
from safetensors.numpy import save_file

from dvcall.model.calibration import read_indel_noise, read_snp_noise
from dvcall.model.model_file import load_model


def test_train_data_parallel_checkpoint_and_resume(testdata, tmp_path):
    bed = tmp_path / "train.bed"
    bed.write_text("chr1\t0\t60000\n")
    out = tmp_path / "model.safetensors"
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    common = ["train", "--bam", testdata / "reads.bam", "--truth", testdata / "truth.vcf.gz",
              "--ref", testdata / "ref.fa", "--bed", bed, "--out", out, "--epochs", "3"]
    first = run_dvcall(*common[:-1], "2", env=env)
    assert "data-parallel over 2 devices" in first.stderr
    assert len(re.findall(r"^epoch \d/2 ", first.stderr, re.M)) == 2 and first.stdout == ""
    # the log says what its recall measures, and of how many positions
    assert re.search(r"validation positions called as their truth class: ref [\d.]+ of \d+, "
                     r"snp ([\d.]+|-) of \d+, indel ([\d.]+|-) of \d+", first.stderr)
    for suffix in ("", ".last", ".optimizer"):
        path = tmp_path / f"model.safetensors{suffix}"
        assert path.exists()
    _, info = load_model(tmp_path / "model.safetensors.last")
    assert info["epoch"] == 2
    second = run_dvcall(*common, "--resume", env=env)
    assert "resuming after epoch 2" in second.stderr
    assert "epoch 3/3" in second.stderr and "epoch 1/3" not in second.stderr
    _, info = load_model(tmp_path / "model.safetensors.last")
    assert info["epoch"] == 3
    # the file records its training BAM's indel noise, as the log states it
    noise = read_indel_noise(out)
    stated = re.search(r"indel noise of the noisiest training BAM: (\S+) events", second.stderr)
    assert noise is not None and 1e-7 < noise < 1e-3
    assert float(stated.group(1)) == float(f"{noise:.2e}")
    snp_noise = read_snp_noise(out)
    stated = re.search(r"clean-base noise of the training BAMs: (\S+) per base", second.stderr)
    assert snp_noise is not None and 1e-6 < snp_noise < 1e-2
    assert float(stated.group(1)) == float(f"{snp_noise:.2e}")
    # the trained file is a model `dvcall call` accepts
    result = run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
                        "--region", "chr2:1-2000", "--model", out, "--quiet")
    assert result.stdout.startswith("##fileformat=VCFv4.2")


def test_synthetic_model_trains_but_cannot_call_a_bam(testdata, tmp_path):
    out = tmp_path / "synthetic.safetensors"
    umask = os.umask(0o027)  # the child inherits it (no preexec_fn: JAX runs threads here)
    try:
        run_dvcall("train", "--synthetic", "--out", out, "--epochs", "1")
    finally:
        os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o640  # as open() gives, not safetensors' 0600
    model, info = load_model(out)
    assert info["synthetic"] and not model.config.use_evidence
    # the libraries that trained it are recorded: the same recipe differs under others
    assert info["libraries"]["jax"] == jax.__version__ and "flax" in info["libraries"]
    result = run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
                        "--model", out, check=False)
    assert result.returncode == 1 and "cannot call a BAM" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_model_of_a_newer_format_is_refused(testdata, tmp_path):
    path = tmp_path / "future.safetensors"
    save_file({"x": np.zeros(1, np.float32)}, str(path),
              metadata={"format_version": "99", "config": json.dumps({})})
    result = run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
                        "--model", path, check=False)
    assert result.returncode == 1 and "newer than this dvcall" in result.stderr


def test_an_allele_evidence_model_trains_and_calls(testdata, tmp_path):
    """`dvcall train --allele-evidence` on a small region gives a model that `dvcall call`
    runs (one epoch: the figures are the panel's business); with --from it is refused."""
    bed = tmp_path / "train.bed"
    bed.write_text("chr1\t0\t30000\n")
    out = tmp_path / "allele.safetensors"
    common = ["train", "--bam", testdata / "reads.bam", "--truth", testdata / "truth.vcf.gz",
              "--ref", testdata / "ref.fa", "--bed", bed, "--epochs", "1"]
    run_dvcall(*common, "--out", out, "--allele-evidence")
    pipeline, _ = load_model(out)
    assert pipeline.config.allele_evidence
    vcf = tmp_path / "calls.vcf"
    run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
               "-r", "chr1:1-30000", "--model", out, "-o", vcf)
    assert vcf.read_text().startswith("##fileformat=VCF")
    refused = run_dvcall(*common, "--out", tmp_path / "again.safetensors", "--allele-evidence",
                         "--from", out, check=False)
    assert refused.returncode == 2 and "--allele-evidence makes a new model" in refused.stderr
