"""`dvcall call` end to end on testdata (real art_illumina reads aligned with bwa mem)."""

import json
import os
import shutil

import pysam
import pysam.bcftools
import pysam.samtools
import pytest
from conftest import body, run_dvcall

from dvcall.evaluate import evaluate


def records(path):
    with pysam.VariantFile(str(path)) as vf:
        return list(vf)


def test_writes_valid_indexed_vcf(whole_run, testdata):
    out, result = whole_run
    assert out.exists() and (out.parent / (out.name + ".tbi")).exists()
    assert "wrote" in result.stderr and result.stdout == ""
    with pysam.VariantFile(str(out)) as vf:
        header = str(vf.header)
        assert header.startswith("##fileformat=VCFv4.2")
        assert "##source=dvcall" in header and "##reference=" in header
        assert dict((c, vf.header.contigs[c].length) for c in vf.header.contigs) == {
            "chr1": 120000, "chr2": 80000}
        assert list(vf.header.samples) == ["sample"]
        recs = list(vf)
        assert len(list(vf.fetch("chr2", 0, 80000))) > 0  # the index works
    keys = [(r.contig, r.pos) for r in recs]
    assert keys == sorted(keys, key=lambda k: (int(k[0][3:]), k[1]))
    assert all(r.samples["sample"]["GT"] in {(0, 1), (1, 1), (1, 2)} for r in recs)
    kinds = {r.info["VT"] for r in recs}
    assert kinds == {"SNP", "INDEL"}
    assert any(r.samples["sample"]["GT"] == (1, 1) for r in recs)
    # bcftools reads it, and finds nothing to normalise
    assert pysam.bcftools.view("-H", str(out)).count("\n") == len(recs)
    pysam.bcftools.norm("-f", str(testdata / "ref.fa"), "-c", "x", "-o", "/dev/null", str(out))


def test_filter_is_pass_from_qual_3(testdata, tmp_path):
    """SNPs and indels PASS where the calibrated P(variant) >= 0.5 (QUAL 3.01); LowQual
    records reach down to QUAL 0.13. At 12x (40% of testdata's reads) there are records on
    both sides of the cut-off."""
    bam = tmp_path / "12x.bam"
    pysam.samtools.view("-b", "-s", "3.4", "-o", str(bam), str(testdata / "reads.bam"),
                        catch_stdout=False)
    pysam.samtools.index(str(bam))
    out = tmp_path / "calls.vcf.gz"
    run_dvcall("call", "--bam", bam, "--ref", testdata / "ref.fa", "-o", out, "--quiet")
    recs = records(out)
    for r in recs:
        assert list(r.filter) == (["PASS"] if r.qual >= 3.0103 else ["LowQual"]), r
        assert r.qual > 0.13
    snp_quals = [r.qual for r in recs if r.info["VT"] == "SNP"]
    assert any(q < 3.0 for q in snp_quals) and any(3.0103 <= q < 10 for q in snp_quals)


def test_finds_most_truth_variants(whole_run, testdata):
    out, _ = whole_run
    result = evaluate(out, testdata / "truth.vcf.gz", testdata / "ref.fa")
    assert result["SNP"]["recall"] > 0.9 and result["SNP"]["precision"] > 0.9, result
    assert result["INDEL"]["recall"] > 0.6 and result["INDEL"]["precision"] > 0.8, result
    assert result["SNP"]["gt_concordance"] > 0.8, result


def test_region_threads_and_chunk_size_do_not_change_calls(whole_run, testdata, tmp_path):
    out, _ = whole_run
    region = ("chr1", 30_000, 70_000)
    expected = [line for line in body(out)
                if line.split("\t")[0] == region[0] and region[1] < int(line.split("\t")[1])
                <= region[2]]
    assert expected
    a, b = tmp_path / "a.vcf", tmp_path / "b.vcf"
    spec = f"{region[0]}:{region[1] + 1}-{region[2]}"
    common = ["--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa", "--region", spec]
    timings = tmp_path / "timings.json"
    run_dvcall("call", *common, "--chunk-size", "7000", "--threads", "2", "-o", a,
               "--timings", timings)
    run_dvcall("call", *common, "--chunk-size", "15000", "-o", b)
    assert body(a) == expected
    assert body(b) == expected
    report = json.loads(timings.read_text())
    assert set(report["seconds"]) == {"read", "project", "core", "resolve", "write"}
    # each process compiles or loads once per shape bucket at most (6 chunks here share few buckets)
    assert 1 <= report["jit_compilations"] + report["executables_loaded"] <= 2 * 3


def test_stdout_output_is_plain_vcf_and_logs_stay_on_stderr(testdata):
    result = run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
                        "--region", "chr2:1-5000", "--quiet")
    assert result.stdout.startswith("##fileformat=VCFv4.2")
    assert result.stderr == ""


def test_region_with_no_reads_gives_header_only(testdata, tmp_path):
    out = tmp_path / "empty.vcf"
    run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
               "--region", "chr2:79990-80000", "-o", out)
    assert body(out) == [] and out.read_text().startswith("##fileformat")


@pytest.mark.parametrize(
    "case, fix",
    [
        ("no_index", "samtools index"),
        ("sam_text", "samtools sort -o sorted.bam"),
        ("unknown_contig", "not in the reference"),
        ("bad_region", "start must be"),
        ("bad_model", "not a dvcall model file"),
        ("missing_dir", "does not exist"),
    ],
)
def test_bad_input_one_line_error_and_no_output(case, fix, testdata, tmp_path):
    bam, ref, out = testdata / "reads.bam", testdata / "ref.fa", tmp_path / "o.vcf.gz"
    extra = []
    if case == "no_index":
        bam = tmp_path / "copy.bam"
        shutil.copy(testdata / "reads.bam", bam)
    elif case == "sam_text":
        bam = tmp_path / "reads.sam"
        bam.write_text(pysam.samtools.view("-h", str(testdata / "reads.bam")))
    elif case == "unknown_contig":
        extra = ["--region", "chrX:1-100"]
    elif case == "bad_region":
        extra = ["--region", "chr1:500-100"]
    elif case == "bad_model":
        model = tmp_path / "model.safetensors"
        model.write_text("not a model")
        extra = ["--model", model]
    elif case == "missing_dir":
        out = tmp_path / "nope" / "o.vcf.gz"
    result = run_dvcall("call", "--bam", bam, "--ref", ref, "-o", out, *extra, check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fix in lines[0] and "Traceback" not in result.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.vcf")]


def test_outputs_get_the_umasks_permissions(testdata, tmp_path):
    out = tmp_path / "calls.vcf.gz"
    umask = os.umask(0o027)  # the child inherits it (no preexec_fn: JAX runs threads here)
    try:
        run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
                   "--region", "chr2:1-2000", "-o", out, "--quiet")
    finally:
        os.umask(umask)
    for path in (out, tmp_path / "calls.vcf.gz.tbi"):
        assert path.stat().st_mode & 0o777 == 0o640


def test_version():
    result = run_dvcall("--version")
    assert "dvcall" in result.stdout


def test_cram_gives_the_same_calls_as_bam(whole_run, testdata, tmp_path):
    out, _ = whole_run
    cram = tmp_path / "reads.cram"
    pysam.samtools.view("-C", "-T", str(testdata / "ref.fa"), "-o", str(cram),
                        str(testdata / "reads.bam"), catch_stdout=False)
    pysam.samtools.index(str(cram))
    calls = tmp_path / "cram.vcf"
    run_dvcall("call", "--bam", cram, "--ref", testdata / "ref.fa", "--region", "chr2", "-o", calls)
    assert body(calls) == [line for line in body(out) if line.startswith("chr2\t")]


def test_snps_on_bases_deleted_from_both_haplotypes_are_dropped():
    """Reads aligned through the edge of a deletion show mismatches on the deleted bases;
    SNP calls on bases that a hom-alt deletion, or two overlapping het deletions, remove go;
    SNPs beside them and under one het deletion stay."""
    from dvcall.postprocess.records import Call
    from dvcall.postprocess.snp_rules import drop_snps_in_deleted_bases

    def call(pos, ref, alt, genotype, kind):
        return Call("chr1", pos, ref, [alt], 50.0, genotype, 50, 30, [0, 30], kind)

    deletion = call(100, "ACGTA", "A", (1, 1), "INDEL")        # deletes 101..104
    het_deletion = call(200, "ACG", "A", (0, 1), "INDEL")      # deletes 201..202
    insertion = call(300, "A", "ACGT", (1, 1), "INDEL")
    long_het = call(400, "ACGTAC", "A", (0, 1), "INDEL")       # deletes 401..405
    short_het = call(402, "GTA", "G", (0, 1), "INDEL")         # deletes 403..404
    inside = [call(p, "C", "T", (0, 1), "SNP") for p in (101, 104, 403, 404)]
    kept = [call(p, "C", "T", (0, 1), "SNP") for p in (100, 105, 201, 301, 402, 405)]
    calls = [deletion, het_deletion, insertion, long_het, short_het, *inside, *kept]
    assert drop_snps_in_deleted_bases(calls) == [deletion, het_deletion, insertion, long_het,
                                                  short_het, *kept]
