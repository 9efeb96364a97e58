"""Bad input: one line on stderr naming the file and the fix, exit 1, nothing at the output."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pysam
import pysam.samtools
import pytest
from conftest import run_dvcall


def assert_clean_failure(result, out, *words):
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith("." + out.name)]


def call(bam, ref, out, *extra):
    return run_dvcall("call", "--bam", bam, "--ref", ref, "-o", out, *extra, check=False)


def test_missing_bam(testdata, tmp_path):
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(tmp_path / "nope.bam", testdata / "ref.fa", out), out, "not found")


def test_bad_model_with_workers_fails_in_one_line(testdata, tmp_path):
    """With --threads 2 the worker starts before the inputs are checked and loads the model
    too: the error is still the main process's one line, with no worker traceback."""
    model = tmp_path / "model.safetensors"
    model.write_text("not a model\n")
    out = tmp_path / "o.vcf"
    result = call(testdata / "reads.bam", testdata / "ref.fa", out, "--threads", "2",
                  "--model", model)
    assert_clean_failure(result, out, str(model), "not a dvcall model")


def test_a_folder_given_as_model_fails_in_one_line(testdata, tmp_path):
    model = tmp_path / "models"
    model.mkdir()
    out = tmp_path / "o.vcf"
    result = call(testdata / "reads.bam", testdata / "ref.fa", out, "--model", model)
    assert_clean_failure(result, out, str(model), "cannot read the model file")


def test_truncated_bam(testdata, tmp_path):
    bam = tmp_path / "cut.bam"
    bam.write_bytes((testdata / "reads.bam").read_bytes()[:1_000_000])
    shutil.copy(testdata / "reads.bam.bai", str(bam) + ".bai")
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(bam, testdata / "ref.fa", out), out, str(bam), "truncated")


def test_not_a_bam(testdata, tmp_path):
    bam = tmp_path / "text.bam"
    bam.write_text("this is not a BAM\n")
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(bam, testdata / "ref.fa", out), out, str(bam))


def test_unsorted_bam(testdata, tmp_path):
    bam = tmp_path / "unsorted.bam"
    with pysam.AlignmentFile(str(testdata / "reads.bam")) as src:
        header = src.header.to_dict()
        header["HD"] = {"VN": "1.6", "SO": "unsorted"}
        with pysam.AlignmentFile(str(bam), "wb", header=header) as dst:
            for read in src.fetch("chr1", 0, 5000):
                dst.write(read)
    pysam.index(str(bam))
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(bam, testdata / "ref.fa", out), out, "samtools sort")


def test_fasta_with_other_contig_names(testdata, tmp_path):
    ref = tmp_path / "renamed.fa"
    ref.write_text((testdata / "ref.fa").read_text().replace(">chr", ">contig"))
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata / "reads.bam", ref, out), out, "no contig name is shared")


def test_fasta_with_other_lengths(testdata, tmp_path):
    ref = tmp_path / "short.fa"
    with pysam.FastaFile(str(testdata / "ref.fa")) as fa:
        ref.write_text(f">chr1\n{fa.fetch('chr1')[:100000]}\n>chr2\n{fa.fetch('chr2')}\n")
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata / "reads.bam", ref, out), out, "'chr1' has length")


def test_fasta_that_is_not_fasta(testdata, tmp_path):
    ref = tmp_path / "bad.fa"
    ref.write_text("hello\nworld\n")
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata / "reads.bam", ref, out), out, str(ref))


def test_malformed_bed(testdata, tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\tten\t20\n")
    out = tmp_path / "o.vcf"
    result = call(testdata / "reads.bam", testdata / "ref.fa", out, "--regions", bed)
    assert_clean_failure(result, out, f"{bed}:1")


def test_fasta_without_fai_gets_one(testdata, tmp_path):
    ref = tmp_path / "ref.fa"
    shutil.copy(testdata / "ref.fa", ref)
    out = tmp_path / "o.vcf"
    result = call(testdata / "reads.bam", ref, out, "--region", "chr2:1-3000")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ref.fa.fai").exists() and out.exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_killed_run_leaves_nothing(testdata, tmp_path, sig):
    out = tmp_path / "calls.vcf.gz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dvcall.cli", "call", "--bam", str(testdata / "reads.bam"),
         "--ref", str(testdata / "ref.fa"), "-o", str(out), "--chunk-size", "5000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.startswith(".calls")
                                             for p in tmp_path.iterdir()):
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.kill(proc.pid, sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


def test_cram_with_another_reference(testdata, tmp_path):
    cram = tmp_path / "reads.cram"
    pysam.samtools.view("-C", "-T", str(testdata / "ref.fa"), "-o", str(cram),
                        str(testdata / "reads.bam"), catch_stdout=False)
    pysam.samtools.index(str(cram))
    other = tmp_path / "other.fa"  # same names and lengths, other bases
    with pysam.FastaFile(str(testdata / "ref.fa")) as fa:
        other.write_text("".join(f">{n}\n{fa.fetch(n).translate(str.maketrans('ACGT', 'CATG'))}\n"
                                 for n in fa.references))
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(cram, other, out), out, str(cram))


def test_two_runs_are_byte_identical(testdata, tmp_path):
    outs = [tmp_path / f"run{i}.vcf" for i in (1, 2)]
    for out in outs:
        run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
                   "--region", "chr1:1-40000", "-o", out)
    bodies = [[line for line in o.read_text().splitlines() if not line.startswith("##dvcall")]
              for o in outs]
    assert bodies[0] == bodies[1] and len(bodies[0]) > 20


def test_evaluate_with_a_truth_that_is_not_a_vcf(testdata, tmp_path):
    truth = tmp_path / "truth.vcf"
    truth.write_text("chr1 100 not a vcf\n")
    result = run_dvcall("evaluate", "--calls", testdata / "truth.vcf.gz", "--truth", truth,
                        "--ref", testdata / "ref.fa", check=False)
    assert result.returncode == 1 and str(truth) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_train_with_a_truth_on_other_contigs(testdata, tmp_path):
    truth = tmp_path / "other.vcf"
    truth.write_text("##fileformat=VCFv4.2\n##contig=<ID=chrZ,length=1000>\n"
                     '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
                     "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts\n"
                     "chrZ\t10\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\n")
    pysam.tabix_index(str(truth), preset="vcf", force=True)
    result = run_dvcall("train", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
                        "--truth", str(truth) + ".gz", "--out", tmp_path / "m.safetensors",
                        check=False)
    assert result.returncode == 1 and "no contig" in result.stderr
    assert not (tmp_path / "m.safetensors").exists()
