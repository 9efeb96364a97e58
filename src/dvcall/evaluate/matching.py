"""Matching calls to truth: record by record, then as haplotypes within clusters of nearby
variants that reach along the repeats the indels lie in."""

import numpy as np

from dvcall.encoding import BASE_CODE
from dvcall.features.repeats import repeat_span

CLUSTER_GAP = 10  # variants closer than this (bp between their REF spans) share a cluster


MAX_SLIDE = 200  # how far right of an indel its repeat is followed


MAX_LOOSE = 10  # unmatched records per cluster tried in every combination


MAX_PHASINGS = 1 << 10  # clusters with more hets than this allows stay record by record


def match(called: dict, expected: dict, fasta, genotyped: bool,
           clusters: list | None = None) -> tuple[set, set]:
    """(call keys, truth keys) that are found: the same record on both sides, or in a
    cluster, the largest sets of unmatched calls and truth records that spell the same
    haplotypes (with the cluster's matched records) on both sides, as vcfeval finds.
    ``clusters``: :func:`_clusters` of these records, when already made."""
    def same(k):
        return k in expected and k in called and (
            not genotyped or called[k][0] == expected[k][0])

    call_hits = {k for k in called if same(k)}
    truth_hits = {k for k in expected if same(k)}
    for cluster in find_clusters(called, expected, fasta) if clusters is None else clusters:
        calls = [k for side, k in cluster if side == 0]
        truths = [k for side, k in cluster if side == 1]
        loose_calls = [k for k in calls if k not in call_hits]
        loose_truths = [k for k in truths if k not in truth_hits]
        if not loose_calls or not loose_truths or \
                len(loose_calls) + len(loose_truths) > MAX_LOOSE:
            continue
        start = min(k[1] for _, k in cluster) - 1
        end = max(k[1] - 1 + len(k[2]) for _, k in cluster)
        reference = fasta.fetch(cluster[0][1][0], start, end).upper()

        call_options = _options([k for k in calls if k in call_hits], loose_calls, called,
                                reference, start, genotyped)
        truth_options = _options([k for k in truths if k in truth_hits], loose_truths,
                                 expected, reference, start, genotyped)
        pairs = [(len(c) + len(t), c, t) for c, c_haps in call_options
                 for t, t_haps in truth_options if c_haps & t_haps]
        if pairs:
            _, best_calls, best_truths = max(pairs, key=lambda p: p[0])
            call_hits.update(best_calls)
            truth_hits.update(best_truths)
    return call_hits, truth_hits


def _options(fixed: list, loose: list, genotypes: dict, reference: str, offset: int,
             genotyped: bool) -> list[tuple[list, set]]:
    """(subset of ``loose``, the haplotypes it spells with ``fixed``) for every subset that
    spells any."""
    return [(subset, haps) for subset in _subsets(loose)
            if (haps := _haplotypes(fixed + subset, genotypes, reference, offset, genotyped))]


def _subsets(keys: list) -> list[list]:
    """Every non-empty subset of ``keys``."""
    return [[k for i, k in enumerate(keys) if bits >> i & 1] for bits in range(1, 1 << len(keys))]


def _reach(key: tuple, fasta) -> int:
    """How far right of its REF an indel's haplotype can be spelt otherwise (0 for a SNP):
    the bases it can slide (moved by j, a deletion removes the j bases after it instead of
    its first j, an insertion's sequence rotates by j), or the tandem repeat (units of 1-6
    bp) at its anchor, where indels together can shift by whole units (-CA here and
    +CACACCA 20 bp on is +CACAC: one more unit of a CACAC repeat)."""
    contig, pos, ref, alt = key
    if len(ref) > 1 and alt == ref[:1]:
        moved = ref[1:]
    elif len(alt) > 1 and ref == alt[:1]:
        moved = alt[1:]
    else:
        return 0
    context = fasta.fetch(contig, pos - 1, pos - 1 + len(ref) + MAX_SLIDE).upper()
    after = context[len(ref):]
    template = moved + after  # base j after the indel must equal template[j]
    slide = 0
    while slide < len(after) and after[slide] == template[slide]:
        slide += 1
    codes = BASE_CODE[np.frombuffer(context.encode(), np.uint8)]
    return max(slide, int(repeat_span(codes)[0]) - len(ref))


def find_clusters(called: dict, expected: dict, fasta):
    """Groups of (side, key) on one contig whose REF spans, each extended by how far an
    indel can slide along its repeat (:func:`_reach`), lie within CLUSTER_GAP of each other;
    side 0 = call, 1 = truth. Only groups holding both sides can change anything: an indel
    written at either end of a long repeat must meet the records near both ends."""
    items = sorted([(k[0], k[1], 0, k) for k in called] + [(k[0], k[1], 1, k) for k in expected])
    group: list = []
    group_end, contig = -1, None
    reach: dict[tuple, int] = {}
    for item_contig, pos, side, key in items:
        if group and (item_contig != contig or pos > group_end + CLUSTER_GAP):
            if {s for s, _ in group} == {0, 1}:
                yield group
            group = []
        if not group:
            contig, group_end = item_contig, -1
        group.append((side, key))
        if key not in reach:  # a record on both sides is looked at once
            reach[key] = _reach(key, fasta)
        group_end = max(group_end, pos - 1 + len(key[2]) + reach[key])
    if group and {s for s, _ in group} == {0, 1}:
        yield group


def _haplotypes(keys: list, genotypes: dict, reference: str, offset: int,
                genotyped: bool) -> set:
    """Every (unordered) pair of sequences the variants can make over ``reference``: homs
    on both haplotypes, each het on either (genotype-aware); or the one sequence with every
    variant applied (allele-only). Variants that overlap on one haplotype make no sequence."""
    keys = sorted(keys, key=lambda k: (k[1], k[2], k[3]))
    if not genotyped:
        sequence = _apply(keys, reference, offset)
        return set() if sequence is None else {sequence}
    hets = [i for i, k in enumerate(keys) if genotypes[k][0] != "hom"]
    if 1 << max(len(hets) - 1, 0) > MAX_PHASINGS:
        return set()
    pairs = set()
    for bits in range(1 << max(len(hets) - 1, 0)):  # the first het on haplotype A: symmetry
        on_b = {i for n, i in enumerate(hets[1:]) if bits >> n & 1}
        on_a = set(hets) - on_b
        a = _apply([k for i, k in enumerate(keys) if i not in on_b], reference, offset)
        b = _apply([k for i, k in enumerate(keys) if i not in on_a], reference, offset)
        if a is not None and b is not None:
            pairs.add((a, b) if a <= b else (b, a))
    return pairs


def _apply(keys: list, reference: str, offset: int) -> str | None:
    """``reference`` (starting at 0-based ``offset``) with the sorted variants applied; None
    where two of them overlap."""
    out, at = [], 0
    for _, pos, ref_allele, alt in keys:
        start = pos - 1 - offset
        if start < at:
            return None
        out.append(reference[at:start])
        out.append(alt)
        at = start + len(ref_allele)
    out.append(reference[at:])
    return "".join(out)
