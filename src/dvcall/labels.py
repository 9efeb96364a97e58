"""Training labels from a truth VCF: per-position class (ref / SNP / indel) and genotype
(hom-ref / het / hom-alt), with loss weights that keep rare variant sites from drowning."""

import numpy as np
import pysam

from dvcall.chunks import Chunk, InputError

REF, SNP, INDEL = 0, 1, 2
HOM_REF, HET, HOM_ALT = 0, 1, 2


def chunk_labels(truth: pysam.VariantFile, chunk: Chunk, span: int):
    """``(classes, genotypes)`` over the chunk's window of ``span`` positions."""
    classes = np.zeros(span, np.int32)
    genotypes = np.zeros(span, np.int32)
    lo = max(chunk.window_start, 0)
    hi = min(chunk.window_start + span, chunk.contig_length)
    try:
        records = list(truth.fetch(chunk.contig, lo, hi))
    except ValueError:
        return classes, genotypes  # contig absent from the truth: all reference
    for rec in records:
        if rec.filter.keys() and "PASS" not in rec.filter.keys():
            continue
        gt = next(iter(rec.samples.values())).get("GT") if rec.samples else None
        if not gt or all(a in (0, None) for a in gt):
            continue
        zygosity = HOM_ALT if 0 not in gt else HET
        local = rec.pos - 1 - chunk.window_start
        for allele_index in sorted({a for a in gt if a}):
            alt = rec.alleles[allele_index]
            if alt is None or alt.startswith("<") or alt == "*":
                continue
            ref_allele = rec.ref
            # trim a shared suffix so MNP/complex records reduce to their edit
            while len(ref_allele) > 1 and len(alt) > 1 and ref_allele[-1] == alt[-1]:
                ref_allele, alt = ref_allele[:-1], alt[:-1]
            if len(ref_allele) == len(alt):
                for k, (r, a) in enumerate(zip(ref_allele, alt)):
                    if r != a and 0 <= local + k < span:
                        classes[local + k] = SNP
                        genotypes[local + k] = max(genotypes[local + k], zygosity)
                continue
            if 0 <= local < span:  # the truth is left-normalised: POS is the anchor
                classes[local] = INDEL
                genotypes[local] = max(genotypes[local], zygosity)
    return classes, genotypes


def valid_positions(counts: np.ndarray, ref_codes: np.ndarray) -> np.ndarray:
    """1 where a position can be learnt from (it has reads and a reference base), else 0.
    How much each valid position counts is decided in the loss, from the model's own
    candidate rule (see :func:`dvcall.train.pipeline_loss`)."""
    depth = counts[:, :4].sum(1) + counts[:, 5]
    return ((depth > 0) & (ref_codes < 4)).astype(np.float32)


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
