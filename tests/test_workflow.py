"""The Snakemake workflow gives exactly the records of one `dvcall call`; the Nextflow module
runs the same command."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import body, run_dvcall

ROOT = Path(__file__).resolve().parent.parent


def test_regions_lists_chunks(testdata):
    out = run_dvcall("regions", "--ref", testdata / "ref.fa", "--chunk-size", "50000").stdout
    assert out.splitlines() == ["chr1\t0\t50000", "chr1\t50000\t100000", "chr1\t100000\t120000",
                                "chr2\t0\t50000", "chr2\t50000\t80000"]


SNAKEMAKE = Path(sys.executable).parent / "snakemake"


@pytest.mark.skipif(not SNAKEMAKE.exists(), reason="needs snakemake beside this Python")
def test_snakemake_scatter_gather_equals_one_run(whole_run, testdata, tmp_path):
    """As the README gives it: the venv's snakemake, the venv not activated (neither dvcall
    nor bcftools on PATH)."""
    out, _ = whole_run
    bin_dir = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if p != bin_dir and not (Path(p) / "bcftools").exists())
    bed = tmp_path / "chunks.bed"
    bed.write_text("track name=chunks\nbrowser position chr1\n"
                   + "".join(f"chr1\t{s}\t{s + 40000}\n" for s in range(0, 120000, 40000))
                   + "chr2\t0\t80000\n")
    result = subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "workflow" / "Snakefile"), "--cores", "2", "--directory",
         str(tmp_path), "--config", f"bam={testdata / 'reads.bam'}", f"ref={testdata / 'ref.fa'}",
         "out=merged.vcf.gz", f"regions={bed}", "--quiet"],
        capture_output=True, text=True, env=dict(os.environ, PATH=path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    merged = tmp_path / "merged.vcf.gz"
    assert (tmp_path / "merged.vcf.gz.tbi").exists()
    assert body(merged) == body(out)


def test_nextflow_module_runs_the_snakefile_command():
    nf = (ROOT / "workflow" / "nextflow" / "main.nf").read_text()
    snake = (ROOT / "workflow" / "Snakefile").read_text()
    assert "process DVCALL_CALL" in nf and "tuple val(meta), path(bam), path(bai)" in nf
    assert "versions.yml" in nf
    script = nf[nf.index("script:"):nf.index("cat <<-END_VERSIONS")]
    assert re.search(r"^\s*dvcall call ", script, re.M)
    snake_cmd = re.search(r'"\{DVCALL\} call (.*?)"\s*\n\s*"(.*?)"', snake, re.S)
    snake_flags = re.findall(r"--[a-z-]+", snake_cmd.group(1) + snake_cmd.group(2))
    nf_flags = re.findall(r"--[a-z-]+", script)
    # the Snakefile passes --model, --sample and --gvcf through params when they apply
    assert set(snake_flags) - {"--model"} == set(nf_flags) - {"--gvcf"}
    assert "--gvcf" in nf_flags and "emit: gvcf" in nf


@pytest.mark.skipif(not SNAKEMAKE.exists(), reason="needs snakemake beside this Python")
def test_snakemake_cohort_writes_gvcfs_and_a_joint_vcf(testdata, tmp_path):
    """Two samples from a table: a gVCF each (scattered, gathered) and one joint VCF."""
    import pysam

    bams = {}
    with pysam.AlignmentFile(str(testdata / "reads.bam")) as src:
        for name, keep in (("alice", lambda i: True), ("bob", lambda i: i % 2 == 0)):
            header = src.header.to_dict()
            for group in header["RG"]:
                group["SM"] = name
            bams[name] = tmp_path / f"{name}.bam"
            with pysam.AlignmentFile(str(bams[name]), "wb", header=header) as out:
                for i, read in enumerate(src.fetch("chr2")):
                    if keep(i):
                        out.write(read)
            pysam.index(str(bams[name]))
    table = tmp_path / "samples.tsv"
    table.write_text("# name\tbam\n" + "".join(f"{n}\t{b}\n" for n, b in bams.items()))
    bed = tmp_path / "chunks.bed"
    bed.write_text("chr2\t0\t40000\nchr2\t40000\t80000\n")
    result = subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "workflow" / "Snakefile"), "--cores", "2", "--directory",
         str(tmp_path), "--config", f"samples={table}", f"ref={testdata / 'ref.fa'}",
         "out=joint.vcf.gz", f"regions={bed}", "--quiet"],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in bams:
        assert (tmp_path / "gvcf" / f"{name}.g.vcf.gz.tbi").exists()
    joint = pysam.VariantFile(str(tmp_path / "joint.vcf.gz"))
    assert list(joint.header.samples) == ["alice", "bob"]
    records = list(joint)
    assert len(records) > 50 and all(r.alts != ("<*>",) for r in records)
    assert all(r.samples["bob"]["GT"] != (None, None) for r in records)
