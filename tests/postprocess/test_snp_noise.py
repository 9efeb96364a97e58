"""A SNP's QUAL against this BAM's clean-base noise: the model file's recorded training noise
is what `dvcall call` compares against, and only SNPs that a few reads of many carry move.
A SNP that one read shows is calibrated apart."""


import numpy as np
import pysam
import pytest
from conftest import quiet_model_calls

from dvcall.model.calibration import write_snp_noise
from dvcall.postprocess.genotypes import with_read_noise
from dvcall.postprocess.records import resolve_snp
from dvcall.postprocess.thresholds import SNP_NOISE_TRAINED, SNP_ONE_READ, SNP_PRIOR


def test_two_reads_of_fifteen_are_noise_in_a_noisy_bam_and_seven_are_not():
    noisy = 6 * SNP_NOISE_TRAINED
    assert with_read_noise(0.2, 2, 15, noisy, SNP_NOISE_TRAINED, SNP_PRIOR) > 0.5
    assert with_read_noise(1e-6, 7, 15, noisy, SNP_NOISE_TRAINED, SNP_PRIOR) < 1e-5
    assert with_read_noise(0.2, 2, 15, SNP_NOISE_TRAINED, SNP_NOISE_TRAINED, SNP_PRIOR) == 0.2


def test_a_snp_that_one_read_shows_has_its_own_calibration():
    """The same model P(ref) gives a SNP seen in one read the SNP_ONE_READ fit's QUAL, and
    one seen in two the SNP fit's."""
    calibration = {"SNP": (1.0, 0.0), "INDEL": (1.0, 0.0), SNP_ONE_READ: (0.5, -1.0)}
    split = np.array([0.0, 0.9, 0.1])
    quals = []
    for alt_reads in (1, 2):
        counts = np.array([alt_reads, 6, 0, 0, 0, 0])  # REF C, ALT A
        bases = np.array([1] * 6 + [0] * alt_reads), np.full(6 + alt_reads, 35)
        call = resolve_snp("chr1", "ACGTACGTAC", 1, 100, counts, bases, 0.01, split,
                           calibration)
        quals.append(call.qual)
    assert quals[1] == pytest.approx(-10 * np.log10(0.01))  # identity: the model's P(ref)
    # log-odds of a variant 0.5 * log(99) - 1 = 1.30: P(ref) 0.214
    assert quals[0] == pytest.approx(-10 * np.log10(1 / (1 + np.exp(0.5 * np.log(99) - 1))))


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
