"""Truth VCFs (for training and evaluation): opened with one-line errors."""

import pysam

from dvcall.errors import InputError


def open_truth(path, reference_contigs) -> pysam.VariantFile:
    """Open an indexed truth VCF that shares contigs with the reference."""
    try:
        vf = pysam.VariantFile(str(path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable VCF ({exc})") from None
    if vf.index is None:
        raise InputError(f"{path}: truth VCF needs an index; run 'bcftools index -t {path}' "
                         "(bgzip it first if it is plain text)")
    named = set(vf.header.contigs) | set(vf.index.keys())
    if not named & set(reference_contigs):
        raise InputError(f"{path}: no contig of the truth is in the reference (truth has "
                         f"'{next(iter(sorted(named)), '-')}'); use a truth made on this "
                         "reference")
    return vf
