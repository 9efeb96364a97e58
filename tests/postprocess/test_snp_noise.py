"""A SNP's QUAL against this BAM's clean-base noise: the model file's recorded training noise
is what `dvcall call` compares against, and only SNPs that a few reads of many carry move."""


import pysam
from conftest import quiet_model_calls

from dvcall.model.calibration import write_snp_noise
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
    default_vcf, quiet_vcf = quiet_model_calls(testdata, thin_run, tmp_path, write_snp_noise)
    default, strict = _snp_quals(default_vcf), _snp_quals(quiet_vcf)
    assert strict.keys() == default.keys()
    lowered = [k for k in strict if strict[k][0] < default[k][0] - 1e-6]
    assert all(strict[k][0] <= default[k][0] + 1e-6 for k in strict)
    assert lowered and all(max(default[k][1][1:]) <= 3 for k in lowered)
