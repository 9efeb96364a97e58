"""Training labels from a truth VCF: per-position class and genotype (the label space of
:mod:`dvcall.model.classes`)."""

from collections import Counter

import numpy as np
import pysam

from dvcall.encoding import N_CODE
from dvcall.features.counts import site_depth
from dvcall.features.indels import trim_shared_suffix
from dvcall.io.regions import Chunk
from dvcall.model.classes import HET, HOM_ALT, INDEL, SNP


def chunk_labels(truth: pysam.VariantFile, chunk: Chunk, span: int, ref_text: str | None = None,
                 unused: Counter | None = None):
    """``(classes, genotypes)`` over the chunk's window of ``span`` positions. ``unused``
    counts, by reason, the truth variants with POS inside the chunk that cannot be labels:
    REF not the reference's bases (``ref_text``: the window's reference), symbolic ALT."""
    unused = Counter() if unused is None else unused
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
        own = chunk.start <= rec.pos - 1 < chunk.end  # counted by one chunk only
        inside = ref_text is not None and 0 <= local <= len(ref_text) - len(rec.ref)
        if inside and rec.ref.upper() != ref_text[local:local + len(rec.ref)]:
            unused["REF differs from the reference"] += own
            continue
        for allele_index in sorted({a for a in gt if a}):
            alt = rec.alleles[allele_index]
            if alt is None or alt.startswith("<") or alt == "*":
                unused["symbolic or * ALT"] += own
                continue
            ref_allele, alt = trim_shared_suffix(rec.ref, alt)
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
    candidate rule (see :func:`dvcall.train.loop.pipeline_loss`)."""
    return ((site_depth(counts) > 0) & (ref_codes < N_CODE)).astype(np.float32)
