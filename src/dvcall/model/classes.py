"""The model's output label space, defined once: training encodes truth with it, the
post-processing decodes predictions with it.

``probabilities[:, k]`` is P(class k) per position; ``genotype_probabilities[:, g]`` is
P(genotype g) of the position's variant.
"""

REF, SNP, INDEL = 0, 1, 2  # position classes
CLASS_NAMES = ("REF", "SNP", "INDEL")
HOM_REF, HET, HOM_ALT = 0, 1, 2  # genotypes
