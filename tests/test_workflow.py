"""The Snakemake workflow gives exactly the records of one `dvcall call`; the Nextflow module
runs the same command."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_dvcall
from test_call import body

ROOT = Path(__file__).resolve().parent.parent


def test_regions_lists_chunks(testdata):
    out = run_dvcall("regions", "--ref", testdata / "ref.fa", "--chunk-size", "50000").stdout
    assert out.splitlines() == ["chr1\t0\t50000", "chr1\t50000\t100000", "chr1\t100000\t120000",
                                "chr2\t0\t50000", "chr2\t50000\t80000"]


@pytest.mark.skipif(shutil.which("bcftools") is None or shutil.which("snakemake") is None
                    and not (Path(sys.executable).parent / "snakemake").exists(),
                    reason="needs snakemake and bcftools on PATH")
def test_snakemake_scatter_gather_equals_one_run(whole_run, testdata, tmp_path):
    out, _ = whole_run
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    snakemake = shutil.which("snakemake", path=env["PATH"])
    result = subprocess.run(
        [snakemake, "-s", str(ROOT / "workflow" / "Snakefile"), "--cores", "2", "--directory",
         str(tmp_path), "--config", f"bam={testdata / 'reads.bam'}", f"ref={testdata / 'ref.fa'}",
         "out=merged.vcf.gz", "chunk_size=50000", "--quiet"],
        capture_output=True, text=True, env=env,
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
    assert set(snake_flags) - {"--model"} == set(nf_flags)
