"""A SNP's QUAL against this BAM's clean-base noise: the model file's recorded training noise
is what `dvcall call` compares against, and only SNPs that a few reads of many carry move."""

import shutil

import pysam
from conftest import run_dvcall

from dvcall.model.calibration import write_snp_noise
from dvcall.model.shipped import default_model_path
from dvcall.postprocess.genotypes import with_read_noise
from dvcall.postprocess.thresholds import SNP_NOISE_TRAINED, SNP_PRIOR


def test_two_reads_of_fifteen_are_noise_in_a_noisy_bam_and_seven_are_not():
    noisy = 6 * SNP_NOISE_TRAINED
    assert with_read_noise(0.2, 2, 15, noisy, SNP_NOISE_TRAINED, SNP_PRIOR) > 0.5
    assert with_read_noise(1e-6, 7, 15, noisy, SNP_NOISE_TRAINED, SNP_PRIOR) < 1e-5
    assert with_read_noise(0.2, 2, 15, SNP_NOISE_TRAINED, SNP_NOISE_TRAINED, SNP_PRIOR) == 0.2


def _snp_quals(vcf):
    with pysam.VariantFile(str(vcf)) as fh:
        return {(r.pos, r.ref, r.alts): (r.qual, r.samples[0]["AD"]) for r in fh
                if all(len(a) == len(r.ref) == 1 for a in r.alts)}


def test_call_compares_against_the_model_files_snp_noise(testdata, thin_run, tmp_path):
    """A model that records quieter training BAMs than testdata's sees testdata as noisy: its
    SNP QUALs are never higher, and lower only where a few reads carry the SNP (testdata
    thinned to ~5x, so that some do)."""
    quiet = tmp_path / "quiet.safetensors"
    shutil.copy(default_model_path(), quiet)
    write_snp_noise(quiet, 1e-9)
    thin, default_vcf = thin_run
    run_dvcall("call", "--bam", thin, "--ref", testdata / "ref.fa", "--quiet",
               "-o", tmp_path / "quiet.vcf.gz", "--model", quiet)
    default, strict = _snp_quals(default_vcf), _snp_quals(tmp_path / "quiet.vcf.gz")
    assert strict.keys() == default.keys()
    lowered = [k for k in strict if strict[k][0] < default[k][0] - 1e-6]
    assert all(strict[k][0] <= default[k][0] + 1e-6 for k in strict)
    assert lowered and all(max(default[k][1][1:]) <= 3 for k in lowered)
