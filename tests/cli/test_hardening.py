"""Odd inputs that used to pass silently or end in a traceback: each is refused in one line,
or called with a warning on stderr (and in the VCF header where it is known in time)."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pysam
import pysam.bcftools
import pytest
from click.testing import CliRunner
from conftest import run_dvcall
from safetensors import safe_open
from safetensors.numpy import load_file, save_file
from test_errors import assert_clean_failure

from dvcall.cli import main
from dvcall.model.shipped import default_model_path

REGION = "chr1:1-20000"


def call(testdata, out, *extra, bam=None, ref=None):
    return run_dvcall("call", "--bam", bam or testdata / "reads.bam", "--ref",
                      ref or testdata / "ref.fa", "-o", out, "--quiet", *extra, check=False)


def fasta_with(testdata, path, edit):
    """A copy of testdata's reference with ``edit(name, sequence) -> sequence`` applied."""
    fasta = pysam.FastaFile(str(testdata / "ref.fa"))
    with open(path, "w") as fh:
        for name in fasta.references:
            fh.write(f">{name}\n{edit(name, fasta.fetch(name))}\n")
    pysam.faidx(str(path))
    return path


def bam_with(testdata, path, region=REGION, flag=0, header_edit=None, every=1):
    """The reads of ``region`` (every ``every``-th), their flags OR'd with ``flag``."""
    with pysam.AlignmentFile(str(testdata / "reads.bam")) as src:
        header = src.header.to_dict()
        if header_edit:
            header_edit(header)
        with pysam.AlignmentFile(str(path), "wb", header=header) as out:
            for i, read in enumerate(src.fetch(region=region)):
                if i % every == 0:
                    read.flag |= flag
                    out.write(read)
    pysam.index(str(path))
    return path


def records(path):
    return [r for r in pysam.VariantFile(str(path))]


# -- results that were wrong without a word --

def test_a_reference_with_other_sequence_is_refused(testdata, tmp_path):
    rng = np.random.default_rng(0)

    def scramble(name, seq):
        if name != "chr1":
            return seq
        return "".join(rng.choice(list("ACGT"), 20_000)) + seq[20_000:]

    ref = fasta_with(testdata, tmp_path / "other.fa", scramble)
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata, out, "-r", REGION, ref=ref), out, str(ref),
                         "use the FASTA the reads were aligned to")


def test_the_bams_md5_catches_a_one_base_change(testdata, tmp_path):
    truth = pysam.FastaFile(str(testdata / "ref.fa"))
    md5 = {n: hashlib.md5(truth.fetch(n).upper().encode()).hexdigest() for n in truth.references}

    def add_md5(header):
        for sq in header["SQ"]:
            sq["M5"] = md5[sq["SN"]]

    bam = bam_with(testdata, tmp_path / "m5.bam", header_edit=add_md5)
    ref = fasta_with(testdata, tmp_path / "one.fa", lambda n, s: s[:100] + (
        "A" if s[100] != "A" else "C") + s[101:] if n == "chr1" else s)
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata, out, "-r", REGION, bam=bam, ref=ref), out, "M5", "chr1")
    result = call(testdata, out, "-r", REGION, bam=bam)  # the right FASTA passes
    assert result.returncode == 0, result.stderr


def test_reads_on_contigs_the_fasta_lacks_are_named(testdata, tmp_path):
    ref = tmp_path / "chr1.fa"
    fasta = pysam.FastaFile(str(testdata / "ref.fa"))
    ref.write_text(f">chr1\n{fasta.fetch('chr1')}\n")
    out = tmp_path / "o.vcf"
    result = call(testdata, out, ref=ref)
    assert result.returncode == 0, result.stderr
    assert "chr2" in result.stderr and "reads" in result.stderr and "warning" in result.stderr
    header = str(pysam.VariantFile(str(out)).header)
    assert "##dvcallWarning=" in header and "chr2" in header


def test_an_empty_bed_calls_nothing(testdata, tmp_path):
    bed = tmp_path / "empty.bed"
    bed.write_text("track name=empty\n")
    out = tmp_path / "o.vcf"
    result = call(testdata, out, "-R", bed)
    assert result.returncode == 0, result.stderr
    assert records(out) == [] and "no regions in the BED" in result.stderr


def test_every_read_filtered_out_is_said_with_its_reason(testdata, tmp_path):
    bam = bam_with(testdata, tmp_path / "dups.bam", flag=0x400)
    out = tmp_path / "o.vcf"
    result = call(testdata, out, "-r", REGION, bam=bam)
    assert result.returncode == 0, result.stderr
    assert records(out) == []
    assert "filtered out" in result.stderr and "duplicates" in result.stderr
    result = call(testdata, out, "-r", REGION, "--min-mapq", "255")
    assert "below --min-mapq 255" in result.stderr


def test_iupac_bases_in_the_reference_are_counted(testdata, tmp_path):
    ref = fasta_with(testdata, tmp_path / "iupac.fa", lambda n, s: (
        s[:5000] + "RYKM" * 5 + s[5020:]) if n == "chr1" else s)
    out = tmp_path / "o.vcf"
    result = call(testdata, out, "-r", REGION, ref=ref)
    assert result.returncode == 0, result.stderr
    assert "20 bases" in result.stderr and "IUPAC" in result.stderr


def test_a_model_with_nan_weights_is_refused(testdata, tmp_path):
    weights = load_file(str(default_model_path()))
    with safe_open(str(default_model_path()), framework="numpy") as fh:
        metadata = fh.metadata()
    weights["classifier.output.bias"] = weights["classifier.output.bias"] * np.nan
    model = tmp_path / "nan.safetensors"
    save_file(weights, str(model), metadata=metadata)
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata, out, "-r", REGION, "--model", model), out, str(model),
                         "not finite")


@pytest.mark.parametrize("config, words", [("{not json", "not valid"),
                                           ('{"classifier_hidden_dim": -4}', "-4")])
def test_a_model_with_a_damaged_config_is_refused(testdata, tmp_path, config, words):
    weights = load_file(str(default_model_path()))
    with safe_open(str(default_model_path()), framework="numpy") as fh:
        metadata = dict(fh.metadata(), config=config)
    model = tmp_path / "bad.safetensors"
    save_file(weights, str(model), metadata=metadata)
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata, out, "--model", model), out, "metadata is damaged",
                         words)


def test_training_refuses_a_nan_learning_rate_and_a_broken_truth_line(testdata, tmp_path):
    out = tmp_path / "m.safetensors"
    args = ["train", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
            "--out", out, "--epochs", "1"]
    result = run_dvcall(*args, "--truth", testdata / "truth.vcf.gz", "--learning-rate", "nan",
                        check=False)
    assert result.returncode == 2 and "learning rate" in result.stderr and not out.exists()
    lines = pysam.BGZFile(str(testdata / "truth.vcf.gz")).read().decode().splitlines(True)
    body = [i for i, line in enumerate(lines) if not line.startswith("#")]
    fields = lines[body[10]].split("\t")
    fields[4] = fields[4] + "?"  # an ALT that is no allele: tabix indexes it, htslib skips it
    lines[body[10]] = "\t".join(fields)
    broken = tmp_path / "broken.vcf.gz"
    with pysam.BGZFile(str(broken), "wb") as fh:
        fh.write("".join(lines).encode())
    pysam.tabix_index(str(broken), preset="vcf", force=True)
    result = run_dvcall(*args, "--truth", broken, check=False)
    assert result.returncode == 1, result.stderr
    assert f"{broken}:{body[10] + 1}:" in result.stderr and not out.exists()


def test_training_on_a_bam_without_reads_is_one_line(testdata, tmp_path):
    bam = bam_with(testdata, tmp_path / "none.bam", region="chr1:1-2")
    out = tmp_path / "m.safetensors"
    result = run_dvcall("train", "--bam", bam, "--truth", testdata / "truth.vcf.gz", "--ref",
                        testdata / "ref.fa", "--out", out, "--bed", tmp_path / "x.bed",
                        check=False)
    assert result.returncode == 1 and "x.bed" in result.stderr, result.stderr
    (tmp_path / "x.bed").write_text("chr1\t100000\t110000\n")
    result = run_dvcall("train", "--bam", bam, "--truth", testdata / "truth.vcf.gz", "--ref",
                        testdata / "ref.fa", "--out", out, "--bed", tmp_path / "x.bed",
                        check=False)
    assert result.returncode == 1 and "no training examples" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


# -- output paths: checked before any work, nothing left behind --

def test_output_paths_are_checked_before_work(testdata, tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    assert_clean_failure(call(testdata, folder), tmp_path / "none", "names a folder")
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata, out, "--timings", tmp_path / "no" / "t.json"), out,
                         "does not exist")
    assert_clean_failure(call(testdata, tmp_path / "o.txt"), tmp_path / "o.txt", ".vcf.gz")
    model = tmp_path / "missing" / "m.safetensors"
    started = time.perf_counter()
    result = run_dvcall("train", "--bam", testdata / "reads.bam", "--truth",
                        testdata / "truth.vcf.gz", "--ref", testdata / "ref.fa", "--out",
                        model, check=False)
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert time.perf_counter() - started < 30  # refused before reading a chunk


def test_a_write_error_during_the_run_is_one_line_and_leaves_nothing(testdata, tmp_path,
                                                                     monkeypatch):
    from dvcall.io import vcf_writer

    def full(self, calls):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vcf_writer.VcfOutput, "write", full)
    out = tmp_path / "o.vcf.gz"
    result = CliRunner().invoke(main, ["call", "--bam", str(testdata / "reads.bam"), "--ref",
                                       str(testdata / "ref.fa"), "-r", REGION, "-o", str(out),
                                       "--quiet"])
    assert result.exit_code == 1
    assert "No space left on device" in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_unexpected_error_in_a_chunk_is_one_line(testdata, tmp_path, monkeypatch):
    import dvcall.calling.chunk as chunk

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(chunk, "resolve_chunk", broken)
    out = tmp_path / "o.vcf"
    result = CliRunner().invoke(main, ["call", "--bam", str(testdata / "reads.bam"), "--ref",
                                       str(testdata / "ref.fa"), "-r", REGION, "-o", str(out),
                                       "--quiet"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "unexpected RuntimeError: boom" in lines[0] and "--debug" in lines[0]
    assert not out.exists()


# -- regions and input files --

def test_a_region_given_as_a_bed_and_a_bed_given_as_a_region_get_hints(testdata, tmp_path):
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata, out, "-R", "chr1:1-5000"), out, "-r/--region")
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t0\t5000\n")
    assert_clean_failure(call(testdata, out, "-r", bed), out, "-R/--regions")
    result = run_dvcall("evaluate", "--calls", testdata / "truth.vcf.gz", "--truth",
                        testdata / "truth.vcf.gz", "--ref", testdata / "ref.fa", "--bed",
                        tmp_path / "missing.bed", check=False)
    assert result.returncode == 1 and "missing.bed" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_region_past_the_contig_end_is_clipped(testdata, tmp_path):
    out = tmp_path / "o.vcf.bgz"
    result = call(testdata, out, "-r", "chr2:70,001-1,000,000")
    assert result.returncode == 0, result.stderr
    assert all(70_000 < r.pos <= 80_000 for r in records(out))
    assert out.read_bytes()[:4] == b"\x1f\x8b\x08\x04"  # bgzip, as the name says
    assert Path(str(out) + ".tbi").exists()


def test_bcf_output_and_the_short_options(testdata, tmp_path):
    out = tmp_path / "o.bcf"
    result = run_dvcall("call", "--bam", testdata / "reads.bam", "-f", testdata / "ref.fa",
                        "-r", REGION, "-s", "alice", "-@", "1", "-o", out, "--quiet")
    assert result.returncode == 0, result.stderr
    vcf = pysam.VariantFile(str(out))
    assert list(vcf.header.samples) == ["alice"] and len(list(vcf)) > 10
    assert Path(str(out) + ".csi").exists()


def test_the_index_of_another_bam_is_named(testdata, tmp_path):
    bam = tmp_path / "reads.bam"
    bam.write_bytes((testdata / "reads.bam").read_bytes())
    other = bam_with(testdata, tmp_path / "other.bam", region="chr1", every=3)
    (tmp_path / "reads.bam.bai").write_bytes(Path(str(other) + ".bai").read_bytes())
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata, out, "-r", "chr1", bam=bam), out, "samtools index")


def test_a_plain_gzip_fasta_is_told_to_use_bgzip(testdata, tmp_path):
    import gzip

    ref = tmp_path / "ref.fa.gz"
    ref.write_bytes(gzip.compress((testdata / "ref.fa").read_bytes()))
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata, out, ref=ref), out, str(ref), "bgzip")


@pytest.mark.skipif(os.getuid() == 0, reason="root may write to any folder")
def test_a_fasta_without_index_in_a_read_only_folder(testdata, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "ref.fa").write_bytes((testdata / "ref.fa").read_bytes())
    folder.chmod(0o555)
    out = tmp_path / "o.vcf"
    try:
        assert_clean_failure(call(testdata, out, ref=folder / "ref.fa"), out, "not writable",
                             "samtools faidx")
    finally:
        folder.chmod(0o755)


def test_contig_names_that_differ_by_chr_are_named(testdata, tmp_path):
    ref = tmp_path / "numbers.fa"
    fasta = pysam.FastaFile(str(testdata / "ref.fa"))
    ref.write_text("".join(f">{n[3:]}\n{fasta.fetch(n)}\n" for n in fasta.references))
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata, out, ref=ref), out, "'chr1'", "'1'", "samtools reheader")
    renamed = tmp_path / "truth1.vcf.gz"
    names = tmp_path / "names.txt"
    names.write_text("chr1 1\nchr2 2\n")
    pysam.bcftools.annotate("--rename-chrs", str(names), "-Oz", "-o", str(renamed),
                            str(testdata / "truth.vcf.gz"), catch_stdout=False)
    result = run_dvcall("evaluate", "--calls", testdata / "truth.vcf.gz", "--truth", renamed,
                        "--ref", testdata / "ref.fa", check=False)
    assert result.returncode == 1 and "'1'" in result.stderr and "'chr1'" in result.stderr
    assert "faidx" not in result.stderr and "Traceback" not in result.stderr


def test_a_sample_name_with_a_tab_is_a_usage_error(testdata, tmp_path):
    out = tmp_path / "o.vcf"
    result = call(testdata, out, "-s", "a\tb")
    assert result.returncode == 2 and "sample name" in result.stderr and not out.exists()


# -- processes and help --

def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_workers_end_when_the_parent_is_killed(testdata, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "dvcall.cli", "call", "--bam",
                             testdata / "reads.bam", "--ref", testdata / "ref.fa", "-o",
                             tmp_path / "o.vcf", "--threads", "3", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = [c for c in _children(proc.pid) if "spawn_main" in Path(
            f"/proc/{c}/cmdline").read_text(errors="replace")]
        time.sleep(0.2)
    assert len(workers) >= 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        for w in workers:  # reap them if they became our children
            try:
                os.waitpid(w, os.WNOHANG)
            except ChildProcessError:
                pass
        time.sleep(0.2)
    alive = [w for w in workers if Path(f"/proc/{w}").exists()
             and "Z" not in Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0]]
    assert alive == []


def test_every_option_has_help_and_simulate_shows_its_own(testdata):
    import click

    for name, command in main.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and name != "simulate":
                assert param.help, f"dvcall {name} {param.opts[0]} has no help"
    result = run_dvcall("simulate", "--help")
    assert "--coverage" in result.stdout and "--simulator" in result.stdout


def test_the_first_run_says_it_is_compiling(testdata, tmp_path):
    env = {**os.environ, "DVCALL_CACHE_DIR": str(tmp_path / "cache"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    args = ["call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa", "-r",
            REGION, "-o", tmp_path / "o.vcf"]
    first = run_dvcall(*args, env=env)
    assert "compiling the model" in first.stderr
    second = run_dvcall(*args, env=env)
    assert "compiling" not in second.stderr and "wrote" in second.stderr


def test_threads_above_the_cores_get_a_warning(testdata, tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    out = tmp_path / "o.vcf"
    result = CliRunner().invoke(main, ["call", "--bam", str(testdata / "reads.bam"), "--ref",
                                       str(testdata / "ref.fa"), "-r", REGION, "-o", str(out),
                                       "--threads", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "--threads 2 is more than the 1 cores" in result.output


def test_timings_into_a_folder_is_refused_before_work(testdata, tmp_path):
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata, out, "--timings", tmp_path), out, "names a folder")


def test_dev_null_is_written_in_place_not_replaced(testdata):
    import stat

    result = run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
                        "-r", REGION, "-o", "/dev/null", "--quiet")
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
