"""The simulator that makes testdata and the default model's training data."""

import shutil

import pysam
import pytest

from dvcall.simulate import simulate

needs_tools = pytest.mark.skipif(
    not (shutil.which("bwa") and shutil.which("art_illumina")),
    reason="bwa and art_illumina are not installed (apt-get install bwa "
           "art-nextgen-simulation-tools)",
)


@needs_tools
def test_simulate_makes_aligned_reads_and_normalised_truth(tmp_path):
    paths = simulate(tmp_path / "sim", [30_000], coverage=8, seed=3, threads=1)
    with pysam.AlignmentFile(str(paths["bam"])) as bam:
        assert bam.has_index() and bam.mapped > 1000
        assert bam.header.to_dict()["RG"][0]["SM"] == "sample"
    with pysam.VariantFile(str(paths["truth"])) as vf:
        recs = list(vf)
    kinds = {("SNP" if len(r.ref) == len(r.alts[0]) else "INDEL") for r in recs}
    assert kinds == {"SNP", "INDEL"}
    assert {r.samples[0]["GT"] for r in recs} >= {(1, 1)}
    # already left-normalised: bcftools norm -c x accepts it unchanged
    pysam.bcftools.norm("-f", str(paths["ref"]), "-c", "x", "-o", "/dev/null", str(paths["truth"]))
