"""An indel's QUAL against this BAM's indel noise: only a BAM noisier than the model's training
BAMs moves it, only where noise could explain the reads, and the model file's recorded noise
is what `dvcall call` compares against."""


import pysam
from conftest import quiet_model_calls

from dvcall.model.calibration import write_indel_noise
from dvcall.postprocess.genotypes import with_read_noise
from dvcall.postprocess.thresholds import INDEL_PRIOR

TRAINED = 1e-5


def test_a_bam_as_quiet_as_the_training_ones_keeps_the_models_p_ref():
    for rate in (1e-6, TRAINED):
        assert with_read_noise(0.2, 1, 8, rate, TRAINED, INDEL_PRIOR) == 0.2


def test_one_read_of_eight_in_a_noisy_bam_is_noise():
    p = [with_read_noise(0.1, 1, 8, rate, TRAINED, INDEL_PRIOR) for rate in (2e-5, 1e-4, 1e-3)]
    assert p[0] > 0.1 and p == sorted(p) and p[1] > 0.5 and p[2] > 0.99


def test_a_well_read_het_or_a_hom_is_not_moved_by_noise():
    for k, n in ((6, 12), (10, 10), (4, 8)):
        assert with_read_noise(1e-6, k, n, 1e-3, TRAINED, INDEL_PRIOR) < 1e-5


def _indel_quals(vcf):
    with pysam.VariantFile(str(vcf)) as fh:
        return {(r.pos, r.ref, r.alts): (r.qual, r.samples[0]["AD"]) for r in fh
                if any(len(a) != len(r.ref) for a in r.alts)}


def test_call_compares_against_the_model_files_indel_noise(testdata, thin_run, tmp_path):
    """A model that records quieter training BAMs than testdata's sees testdata as noisy: its
    indel QUALs are never higher, and lower where one read or two carry the indel (testdata
    thinned to ~5x, so that some do)."""
    default_vcf, quiet_vcf = quiet_model_calls(testdata, thin_run, tmp_path, write_indel_noise)
    default, strict = _indel_quals(default_vcf), _indel_quals(quiet_vcf)
    assert strict.keys() <= default.keys()
    lowered = [k for k in strict if strict[k][0] < default[k][0] - 1e-6]
    assert all(strict[k][0] <= default[k][0] + 1e-6 for k in strict)
    assert lowered and all(min(default[k][1][1:]) <= 3 for k in lowered)


def test_noise_counts_every_read_over_the_anchor_not_only_those_spanning_the_repeat():
    """One read of 18 shows a 6-base deletion in a repeat no other read spans (75 bp reads):
    its REF depth is 0, but 18 reads could have shown that noise, so in a BAM three times as
    noisy as the training ones its QUAL falls below PASS; the same read alone at its site
    stays above."""
    import numpy as np

    from dvcall.features.indels import IndelEvidence
    from dvcall.postprocess.records import resolve_indels
    from dvcall.postprocess.thresholds import PASS_QUAL

    ref = "ACGT" * 20 + "GGGGCTCGGGGCTCGGGGCTCGGGGCTC" + "ACGT" * 20
    evidence = IndelEvidence(np.array([80]), np.array([0]), np.array([True]),
                             [("GGGGCTC", "G")])
    quals = {}
    for depth in (18, 1):
        call, = resolve_indels("chr1", ref, (80, 81), 0, evidence,
                               lambda p, d=depth: np.array([0, 0, d, 0, 0, 0]),
                               lambda p: 1, 0.01, np.array([0.01, 0.9, 0.09]),
                               noise=(3 * TRAINED, TRAINED))
        assert call.allele_depths == [0, 1] and call.depth == depth
        quals[depth] = call.qual
    assert quals[18] < PASS_QUAL["INDEL"] < quals[1]
