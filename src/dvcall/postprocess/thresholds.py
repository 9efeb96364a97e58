"""Every hand-set number that turns the model's probabilities into VCF records, each with the
reason it is there. How each was chosen, and on which sets, is in ``docs/decisions.md``.

Realignment's own parameters (how reads are assigned to an indel's haplotypes) sit with it in
:mod:`dvcall.features.realign`; the model's candidate rule in :mod:`dvcall.operators.evidence`.
"""

import numpy as np

# -- which records are written, and which PASS --
# Records are written where P(ref) < EMIT_P_REF (QUAL > 0.13), so --roc sweeps have a range.
EMIT_P_REF = 0.97
# QUAL is calibrated: the model's log-odds of a variant x becomes a * x + b, per kind, fitted
# on selection sets (scripts/calibration_sets.sh; never the panel's): the model was sure too
# soon. A model file carries its own fit (dvcall.model.calibration); these are the shipped
# model's, for a model without one. A SNP whose alternative base one read alone shows has a
# fit of its own (SNP_ONE_READ): no second read averages out that read's error or mismapping,
# and the model was surer of such sites than of any others.
SNP_ONE_READ = "SNP_ONE_READ"
QUAL_CALIBRATION = {"SNP": (0.6874, -0.5609), "INDEL": (0.7815, 0.1437),
                    SNP_ONE_READ: (0.4007, -1.1471)}
# PASS where the calibrated posterior favours a variant (P(ref) < 0.5: QUAL > 3.01), one rule
# for every kind and data set: with calibrated probabilities it makes the fewest errors.
PASS_QUAL = {"SNP": -10.0 * float(np.log10(0.5)), "INDEL": -10.0 * float(np.log10(0.5))}
QUAL_CAP = 100.0  # the largest QUAL written
GQ_CAP = 99.0  # the largest GQ written (as in GATK and bcftools)

# -- genotypes from the reads at a called site (het vs hom-alt) --
# Chance a read is realigned to the wrong one of two haplotypes (measured at hom-alt indels).
READ_ERROR = 4 / 5444
# Chance a read shows the reference base at a hom-alt SNP (error or paralog; measured).
SNP_READ_ERROR = 44 / 18161
# Share of het among non-reference genotypes: germline genomes have ~1.5-2 hets per hom-alt.
HET_PRIOR = 0.6
# A hom-alt SNP is GT 1/2 where its reads favour it over 1/1 (genotypes.second_alt_log_ratio)
# at this prior: about one hom-alt SNP site in a thousand is tri-allelic in a human genome.
SECOND_ALT_PRIOR = 1e-3
# A hom-alt indel's second ALT is real (GT 1/2) from this many reads and this share of depth.
SECOND_ALT_MIN_READS = 2
SECOND_ALT_MIN_SHARE = 0.2

# -- indels --
# An indel's QUAL counts this BAM's indel noise where it is noisier than the BAMs the model
# was trained on (genotypes.with_read_noise), at this prior: indels per base of a germline
# genome (about 1 in 10,000 in humans).
INDEL_PRIOR = 1e-4
# The indel noise of the shipped model's noisiest training BAM (events per read base, set d
# of scripts/make_default_model.sh), for a model file that does not record its own.
INDEL_NOISE_TRAINED = 1.018e-5
# A SNP's QUAL counts this BAM's clean-base noise where it is noisier than the BAMs the
# model was trained on (genotypes.with_read_noise, at SNP_PRIOR). The shipped model's
# training BAMs' chance that a clean base shows one given wrong base, pooled over their
# clean bases (sets a-f of scripts/make_default_model.sh), for a model file without its own.
SNP_NOISE_TRAINED = 3.107e-4
# No indel where realignment gave this many reads and none of them carries it.
MIN_REALIGNED_AGAINST = 4

# -- the clean-base SNP test (dvcall.postprocess.snp_rules) --
CLEAN_BASE_QUALITY = 20  # a clean base's quality is at least this
CLEAN_MAPQ = 20  # ... and its read's MAPQ at least this
CLEAN_END_MARGIN = 2  # ... and it lies this many bases inside the read's aligned ends
# A clean base shows one given wrong base with this chance (Q20 spread over three bases)
# where a chunk has too few bases to measure its own (snp_rules.clean_error_rate).
CLEAN_ALT_ERROR = 0.01 / 3
CLEAN_PRIOR_BASES = 200.0  # the measured rate counts as this many bases at CLEAN_ALT_ERROR
# The test weighs each clean base by its quality bin's measured error rate (lower bounds): on
# one run a Q40 base is wrong tens of times less often than a Q20 one.
CLEAN_QUALITY_BINS = (CLEAN_BASE_QUALITY, 25, 30, 35, 40)
CLEAN_ERROR_SPAN = 5000  # the rate is measured over reads starting in this many bases
SNP_PRIOR = 1e-3  # SNPs per base of a germline genome (about 1 in 1,000 in humans)
# The test decides a site only where it gives P(ref) below this (and below the model's):
# the model's P(ref) at QUAL 1, where SNPs passed when the test was chosen.
CLEAN_MAX_P_REF = 10.0 ** -0.1
# No SNP from the test where a read's indel this close (0: on a base it anchors or deletes)
# would show the SNP's base in a read aligned through it without the gap
# (snp_rules.indel_explains_base). Mismatches further off that an indel haplotype explains are
# masked by realignment (features/realign.py), so a SNP beside or at the other haplotype's
# indel stays.
CLEAN_INDEL_MARGIN = 0
