"""Score calls against a truth VCF: normalise both sides (``bcftools norm``: left-align, trim,
split multi-allelics, decompose MNPs and complex records into SNPs and indels), then match
alleles by (contig, POS, REF, ALT), SNPs and indels apart.

Records that do not match one to one are compared again as haplotypes, as vcfeval does: nearby
variants of both files are grouped into clusters, and a cluster whose calls spell the same
sequences as its truth variants counts every variant in it as found. Two indels in a repeat can
describe one haplotype in several ways (``A -> ACAC`` + ``ACAC -> A`` 20 bp on is a shifted
repeat unit), and no normalisation of single records finds that. A cluster reaches along the
repeat an indel lies in (up to MAX_SLIDE bases past it), so the records at both ends of a long
repeat meet, as on vcfeval's path through a whole region.

Allele-only figures count a call as a true positive when its alleles are in the truth (each
variant applied to one haplotype, vcfeval's ``--squash-ploidy``); the genotype-aware figures
also require the genotypes (unphased: some assignment of the hets to the two haplotypes gives
the same pair of sequences), as vcfeval does by default. Precision counts calls, recall counts
truth variants, so a cluster matched as 2 calls against 3 truth records is 2 and 3 TPs.
"""

from dvcall.evaluate.report import format_table, write_errors, write_json, write_roc
from dvcall.evaluate.score import evaluate

__all__ = ["evaluate", "format_table", "write_errors", "write_json", "write_roc"]
