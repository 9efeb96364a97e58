"""Local realignment at indel candidates: which reads carry which indel allele.

An aligner writes an indel into a read's CIGAR only when enough of the read lies beyond it. A
read that ends in or just past a repeat gets mismatches or a soft clip instead, so a hom indel
looks het and a het with few reads looks like noise. Here every read near a candidate indel
(an allele in at least two reads' CIGARs) is compared, base by base and without gaps, with the
reference haplotype and with each candidate haplotype, anchored on a base the read aligns
outside the indel and its repeat. The read supports the haplotype whose mismatching base
qualities sum clearly lowest; a read that stops inside the repeat supports none. Candidates
whose indels reach into one another's repeat are one group, their haplotypes competing for
the same reads. Groups whose compared spans overlap are realigned together as parts of one,
with a haplotype for every combination of the parts' own, and a read counts in each part it
covers for the part's alleles its best haplotype there carries.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations, product

import numpy as np

from dvcall.encoding import BASE_CODE, N_CODE
from dvcall.features.counts import base_counts
from dvcall.features.indels import IndelEvidence
from dvcall.features.noise import looks_like_variant
from dvcall.features.projection import ProjectedReads
from dvcall.features.repeats import repeat_start

MIN_CIGAR_READS = 2  # an allele becomes a candidate haplotype when this many CIGARs show it
# ... counting those of its kind and length anchored this close (an aligner's misplacement);
# anchors this close are realigned together, their alleles rivals for the same reads
MISPLACED = 2
MAX_ALLELES = 3  # candidate haplotypes per anchor besides the reference
MAX_HAPLOTYPES = 48  # a merged group's haplotype combinations (the reference's too), at most
CONTEXT = 32  # reference bases compared on each side of the indel and its repeat
MIN_MARGIN = 10  # a read supports a haplotype that beats all others by this much (Phred sum)
QUAL_CAP = 40
# Another haplotype of a group counts against an allele from this many reads and this share
# of the group's: fewer are read errors or a misspelt copy of the allele (docs/decisions.md).
MIN_AGAINST_READS, MIN_AGAINST_SHARE = 2, 0.2


@dataclass
class RealignedSupport:
    """Reads assigned by realignment, at the left-normalised anchor (window coordinates)."""

    alt: np.ndarray  # (L,) reads best explained by one of the anchor's indel alleles
    ref: np.ndarray  # (L,) reads best explained by another haplotype of its group (the
    # reference, or an indel at another anchor)
    allele_reads: dict[tuple[int, str, str], int]  # (anchor, REF, ALT) -> reads
    # bases whose mismatch against the reference the read's indel haplotype explains: read
    # rows and projection columns (a read misaligned at its end shifts the bases past an
    # indel onto the wrong reference columns, where they look like SNPs)
    explained_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    explained_cols: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def mask_explained(self, reads: ProjectedReads) -> None:
        """Turn the explained mismatches into unknown bases (N), in place, so that neither
        the model nor the SNP rules count them as evidence for a SNP."""
        reads.codes[self.explained_rows, self.explained_cols] = N_CODE
        reads.quality[self.explained_rows, self.explained_cols] = 0

    def depths(self, anchor: int) -> tuple[int, int] | None:
        """(reference reads, alt reads) at a realigned anchor, else None."""
        ref, alt = int(self.ref[anchor]), int(self.alt[anchor])
        return (ref, alt) if ref + alt else None


def aligned_query_index(reads: ProjectedReads, block_key: np.ndarray, rows: np.ndarray,
                         position: int) -> np.ndarray:
    """Index into ``reads.query_codes`` of the base each read in ``rows`` aligns to reference
    ``position`` (-1 where the read has no aligned base there)."""
    col = position - reads.starts[rows]
    key = rows.astype(np.int64) * (1 << 32) + np.maximum(col, 0)
    i = np.maximum(np.searchsorted(block_key, key, side="right") - 1, 0)
    ok = ((col >= 0) & (reads.block_read[i] == rows) & (col >= reads.block_col[i])
          & (col < reads.block_col[i] + reads.block_length[i]))
    return np.where(ok, reads.block_query[i] + col - reads.block_col[i], -1)


def realign_indels(reads: ProjectedReads, evidence: IndelEvidence, ref_text: str,
                   window_start: int, repeat: np.ndarray) -> RealignedSupport:
    """Assign the reads around each group of candidate indel anchors to a haplotype."""
    length = len(ref_text)
    alt_reads = np.zeros(length, np.float32)
    ref_reads = np.zeros(length, np.float32)
    allele_reads: dict[tuple[int, str, str], int] = {}
    result = RealignedSupport(alt_reads, ref_reads, allele_reads)
    if len(evidence.anchor) == 0 or reads.num_reads == 0:
        return result
    support = Counter((int(a), *alleles) for a, alleles in zip(evidence.anchor.tolist(),
                                                              evidence.alleles))
    by_anchor: dict[int, list] = defaultdict(list)
    nearby = _nearby_support(support)
    for (anchor, ref, alt), n in support.items():
        if nearby[(anchor, ref, alt)] >= MIN_CIGAR_READS:
            by_anchor[anchor].append((n, ref, alt))
    if not by_anchor:
        return result
    ref_codes = BASE_CODE[np.frombuffer(ref_text.encode(), np.uint8)]
    block_key = reads.block_read.astype(np.int64) * (1 << 32) + reads.block_col
    query_key = reads.block_read.astype(np.int64) * (1 << 32) + reads.block_query
    groups = []
    for group in _anchor_groups(by_anchor, repeat):
        alleles = sorted(((n, anchor, ref, alt) for anchor in group
                          for n, ref, alt in by_anchor[anchor]), reverse=True)[:MAX_ALLELES]
        first = min(anchor for _, anchor, _, _ in alleles)
        end = max(_allele_end(anchor, ref, repeat) for _, anchor, ref, _ in alleles)
        lo, hi = repeat_start(ref_codes, first) - CONTEXT + 1, end + CONTEXT
        if lo >= 0 and hi <= length:
            groups.append(_Group(alleles, [0] * len(alleles), [first, end], lo, hi))
    groups = _merge_overlapping(groups)
    # First the reference and indel haplotypes alone; then, where a SNP the indels do not
    # explain lies in a group's span, again with that SNP's base matching on every haplotype.
    no_snps = np.full(length, -1, np.int8)
    assigned = [_realign_group(reads, block_key, query_key, window_start, ref_codes, no_snps,
                               group) for group in groups]
    snp_alt = _snp_alternatives(reads, ref_codes, window_start, [a for a in assigned if a],
                                [(g.lo, g.hi) for g in groups])
    _clear_deleted_bases(snp_alt, groups)
    for g, group in enumerate(groups):
        if (snp_alt[group.lo:group.hi] >= 0).any():
            assigned[g] = _realign_group(reads, block_key, query_key, window_start, ref_codes,
                                         snp_alt, group)
    explained_rows: list[np.ndarray] = []
    explained_cols: list[np.ndarray] = []
    for group, group_assigned in zip(groups, assigned):
        if group_assigned is None:
            continue
        alleles = group.alleles
        counts, rows, cols = group_assigned
        explained_rows.append(rows)
        explained_cols.append(cols)
        for part, (keys, part_counts) in enumerate(zip(group.class_keys(), counts)):
            strong = max(MIN_AGAINST_READS, MIN_AGAINST_SHARE * int(part_counts.sum()))
            for i, (_, anchor, ref, alt) in enumerate(alleles):
                if group.part[i] != part:
                    continue
                n = sum(int(c) for key, c in zip(keys, part_counts) if i in key)
                allele_reads[(anchor, ref, alt)] = n
                alt_reads[anchor] += n
                # against: the reads of the reference and of every other haplotype that
                # could be a real one; a weak rival's reads count for neither
                ref_reads[anchor] = int(part_counts[0]) + sum(
                    int(c) for key, c in zip(keys[1:], part_counts[1:])
                    if c >= strong and not any(alleles[j][1] == anchor for j in key))
    if explained_rows:
        result.explained_rows = np.concatenate(explained_rows)
        result.explained_cols = np.concatenate(explained_cols)
    return result


def _realign_group(reads: ProjectedReads, block_key: np.ndarray, query_key: np.ndarray,
                   window_start: int, ref_codes: np.ndarray, snp_alt: np.ndarray,
                   group: "_Group"):
    """:func:`_assign` for one group of alleles over its span, its haplotypes built from the
    reference, the alleles and (matching too) the SNP bases ``snp_alt``."""
    alleles, lo, hi = group.alleles, group.lo, group.hi
    span = np.arange(lo, hi)
    haplotypes, also, places = [ref_codes[lo:hi]], [snp_alt[lo:hi]], [span]
    for members in group.carriers():
        pieces, others, where, at = [], [], [], lo
        for i in sorted(members, key=lambda i: alleles[i][1]):
            _, anchor, ref, alt = alleles[i]
            inserted = BASE_CODE[np.frombuffer(alt[1:].encode(), np.uint8)]
            pieces += [ref_codes[at : anchor + 1], inserted]
            others += [snp_alt[at : anchor + 1], np.full(len(inserted), -1, np.int8)]
            where += [np.arange(at, anchor + 1), np.full(len(inserted), -1)]
            at = anchor + len(ref)
        haplotypes.append(np.concatenate(pieces + [ref_codes[at:hi]]))
        also.append(np.concatenate(others + [snp_alt[at:hi]]))
        places.append(np.concatenate(where + [np.arange(at, hi)]))
    if (snp_alt[lo:hi] < 0).all():
        also = [None] * len(also)
    return _assign(reads, block_key, query_key, window_start, group.points, lo, hi,
                   haplotypes, also, places, group.classes(), group.point_parts(), ref_codes)


def _clear_deleted_bases(snp_alt: np.ndarray, groups: list["_Group"]) -> None:
    """No SNP for the second pass on the bases a candidate deletion removes (in place):
    reads the aligner ran through the deletion show its misaligned bases there as SNPs."""
    for group in groups:
        for _, anchor, ref, alt in group.alleles:
            if len(ref) > len(alt):
                snp_alt[anchor + 1 : anchor + len(ref)] = -1


def _snp_alternatives(reads: ProjectedReads, ref_codes: np.ndarray, window_start: int,
                      assigned: list[tuple], spans: list[tuple[int, int]]) -> np.ndarray:
    """Per window position in ``spans``, the code of the alternative base that looks like a
    SNP there (:func:`dvcall.features.noise.looks_like_variant`) once the mismatches the
    ``assigned`` reads' indel haplotypes explain are left out, else -1. Realignment lets
    that base match on every haplotype, as if each came with and without the SNP: a read of
    an insertion's haplotype that carries a SNP beside it still fits that haplotype best."""
    length = len(ref_codes)
    steps = np.zeros(length + 1, np.int64)
    for lo, hi in spans:
        steps[lo] += 1
        steps[hi] -= 1
    covered = np.concatenate([[0], np.cumsum(np.cumsum(steps)[:length] > 0)])
    first = np.clip(reads.starts - window_start, 0, length)
    last = np.clip(reads.ends - window_start, 0, length)
    near = np.flatnonzero(covered[last] > covered[first])  # reads over a span's positions
    counts = base_counts(reads, window_start, length, near)[:, :4]
    if assigned:
        rows = np.concatenate([rows for _, rows, _ in assigned])
        cols = np.concatenate([cols for _, _, cols in assigned])
        flat = (reads.starts[rows] + cols - window_start) * 4 + reads.codes[rows, cols]
        counts = counts - np.bincount(flat, minlength=length * 4).reshape(length, 4)
    depth = counts.sum(axis=1)
    known = ref_codes < 4
    counts[np.flatnonzero(known), ref_codes[known]] = 0
    best = np.argmax(counts, axis=1)
    top = counts[np.arange(len(best)), best]
    in_span = covered[1:] > covered[:-1]
    return np.where(in_span & looks_like_variant(top, depth), best, -1).astype(np.int8)


def _nearby_support(support: Counter) -> dict[tuple[int, str, str], int]:
    """Per ``(anchor, REF, ALT)``, its CIGAR reads and those of the other alleles of the same
    kind and length anchored at most MISPLACED bases away: an aligner places an indel a
    base or two off where a read has a mismatch beside it, so two reads of one het
    insertion can spell it two ways, neither twice."""
    keys = list(support)
    size = np.array([len(alt) - len(ref) for _, ref, alt in keys], np.int64)
    anchor = np.array([a for a, _, _ in keys], np.int64)
    reads = np.array([support[k] for k in keys], np.int64)
    order = np.lexsort((anchor, size))
    size, anchor, reads = size[order], anchor[order], reads[order]
    total = np.concatenate([[0], np.cumsum(reads)])
    # (size, anchor) sorted: the alleles of one size within MISPLACED of an anchor are a slice
    key = size * (1 << 40) + anchor
    lo = np.searchsorted(key, key - MISPLACED, side="left")
    hi = np.searchsorted(key, key + MISPLACED, side="right")
    pooled = total[hi] - total[lo]
    return {keys[i]: int(n) for i, n in zip(order.tolist(), pooled.tolist())}


def _haplotype_alleles(alleles: list[tuple]) -> list[tuple[int, ...]]:
    """The non-reference haplotypes of a group, as indices into its ``(n, anchor, REF, ALT)``
    alleles: each allele alone, and each pair at different anchors that fit on one
    haplotype (a hom insertion with a het deletion three bases on: reads of the haplotype
    with both match neither alone)."""
    carriers = [(i,) for i in range(len(alleles))]
    for i, j in combinations(sorted(range(len(alleles)), key=lambda i: alleles[i][1]), 2):
        (_, a, ref_a, _), (_, b, _, _) = alleles[i], alleles[j]
        if a + len(ref_a) <= b:  # the first allele's REF ends before the second's anchor
            carriers.append((i, j))
    return carriers


@dataclass
class _Group:
    """Candidate indel alleles realigned together: ``(reads, anchor, REF, ALT)`` each, the
    anchor group each came from (``part``), the reference positions a read is placed by
    (``points``: each part's first anchor and the first base after its indels' repeats) and
    the compared span ``[lo, hi)``."""

    alleles: list[tuple]
    part: list[int]
    points: list[int]
    lo: int
    hi: int

    def carriers(self) -> list[tuple[int, ...]]:
        """The non-reference haplotypes, as indices into ``alleles``: those of
        :func:`_haplotype_alleles` in one part; in a merged group every combination of one
        such haplotype (or none) per part, so that a read of a haplotype with indels in three
        parts fits one."""
        if self.part[-1] == 0:
            return _haplotype_alleles(self.alleles)
        return [sum(choice, ()) for choice in product(*self._per_part()) if any(choice)]

    def combinations(self) -> int:
        """How many haplotypes :meth:`carriers` gives, the reference's included."""
        return int(np.prod([len(options) for options in self._per_part()]))

    def _per_part(self) -> list[list[tuple[int, ...]]]:
        per_part = []
        for part in range(self.part[-1] + 1):
            index = [i for i in range(len(self.alleles)) if self.part[i] == part]
            own = _haplotype_alleles([self.alleles[i] for i in index])
            per_part.append([()] + [tuple(index[j] for j in members) for members in own])
        return per_part

    def point_parts(self) -> list[int]:
        """The part each of ``points`` belongs to (two per part: its anchor, its end)."""
        return [i // 2 for i in range(len(self.points))]

    def class_keys(self) -> list[list[tuple[int, ...]]]:
        """Per part, the distinct sets of that part's alleles the haplotypes carry (the
        reference's, (), first), in the order :meth:`classes` numbers them."""
        keys = []
        for part in range(self.part[-1] + 1):
            seen = [()]
            for members in self.carriers():
                key = tuple(i for i in members if self.part[i] == part)
                if key not in seen:
                    seen.append(key)
            keys.append(seen)
        return keys

    def classes(self) -> list[np.ndarray]:
        """Per part, each haplotype's class (reference first, then
        :meth:`carriers` order): its index in :meth:`class_keys`."""
        carriers = [()] + self.carriers()
        return [np.array([keys.index(tuple(i for i in members if self.part[i] == part))
                          for members in carriers]) for part, keys in
                enumerate(self.class_keys())]


def _merge_overlapping(groups: list[_Group]) -> list[_Group]:
    """Groups whose compared spans overlap, as one: realigned apart, a read of a haplotype
    with only the other group's indel mismatches every haplotype of this one there, and an
    indel haplotype of the same length shift can absorb that (a het 2-base deletion in an A
    run took the reads of a hom 2-base deletion 15 bases before it). A chain stops growing
    where its haplotype combinations would pass MAX_HAPLOTYPES (a long repeat full of
    candidates): its next group starts another chain, realigned apart."""
    merged: list[_Group] = []
    for group in groups:
        if merged and group.lo < merged[-1].hi:
            last = merged[-1]
            part = last.part[-1] + 1
            candidate = _Group(last.alleles + group.alleles,
                               last.part + [part] * len(group.alleles),
                               last.points + group.points, last.lo, max(last.hi, group.hi))
            if candidate.combinations() <= MAX_HAPLOTYPES:
                merged[-1] = candidate
                continue
        merged.append(group)
    return merged


def _allele_end(anchor: int, ref: str, repeat: np.ndarray) -> int:
    """First base after an allele's deleted bases and the repeat it can slide through."""
    return anchor + 1 + max(int(repeat[anchor]), len(ref) - 1)


def _anchor_groups(by_anchor: dict, repeat: np.ndarray) -> list[list[int]]:
    """Anchors whose indels reach into one another's repeat, or lie MISPLACED bases apart,
    realigned together: a read with a 2-base insertion in an ACC repeat matches the 1-base
    deletion one unit along better than the reference, so the two must compete for it."""
    groups: list[list[int]] = []
    group_end = -1  # first base after the current group's indels and repeats
    for anchor in sorted(by_anchor):
        end = max(_allele_end(anchor, ref, repeat) for _, ref, _ in by_anchor[anchor])
        if groups and anchor < max(group_end, groups[-1][-1] + MISPLACED + 1):
            groups[-1].append(anchor)
            group_end = max(group_end, end)
        else:
            groups.append([anchor])
            group_end = end
    return groups


def _assign(reads: ProjectedReads, block_key: np.ndarray, query_key: np.ndarray,
            window_start: int, points: list[int], lo: int, hi: int,
            haplotypes: list[np.ndarray], also: list[np.ndarray], places: list[np.ndarray],
            classes: list[np.ndarray], point_parts: list[int], ref_codes: np.ndarray
            ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray] | None:
    """Per part of the group, reads per class of haplotypes (``classes``: per part, each
    haplotype's class there; class 0 holds the reference) among the reads overlapping
    ``[lo, hi)`` (``also``: per haplotype base, a candidate SNP's base that matches there
    too, or -1; None where there is none; ``places``: its window position, -1 for an
    inserted base), and the (row, column) of each base of a read given to an indel
    haplotype that mismatches the reference where its CIGAR puts it but matches that
    haplotype (or a candidate SNP on it) where realignment puts it, elsewhere."""
    rows = np.flatnonzero((reads.starts < window_start + hi) & (reads.ends > window_start + lo))
    if len(rows) == 0:
        return None
    aligned_at = [aligned_query_index(reads, block_key, rows, window_start + x) for x in points]
    keep = np.any([aligned >= 0 for aligned in aligned_at], axis=0)
    rows, aligned_at = rows[keep], [aligned[keep] for aligned in aligned_at]
    if len(rows) == 0:
        return None
    first = reads.query_start[rows]
    longest = int(reads.query_length[rows].max())
    k = np.arange(longest)
    inside = k[None, :] < reads.query_length[rows][:, None]
    index = np.minimum(first[:, None] + k[None, :], len(reads.query_codes) - 1)
    bases = np.where(inside, reads.query_codes[index], 4)
    quals = np.minimum(np.where(inside, reads.query_quals[index], 0), QUAL_CAP).astype(np.int32)
    # A read is placed on each haplotype by the base its CIGAR aligns to each of the points
    # (an anchor, the first base after its repeat); each haplotype keeps the best placement.
    # One placement alone misleads when the aligner put the indel in the wrong place near
    # the read's end (a read starting 2 bases before a deletion, say).
    costs = np.full((len(rows), len(haplotypes)), np.iinfo(np.int64).max, np.int64)
    placed = np.zeros((len(rows), len(haplotypes)), np.int64)  # haplotype index of base 0
    for x, aligned in zip(points, aligned_at):
        has = aligned >= 0
        if not has.any():
            continue
        offset = np.where(has, aligned - first, 0)  # the anchoring base in the read
        for h, (haplotype, other) in enumerate(zip(haplotypes, also)):
            at_hap = np.flatnonzero(places[h] == x)
            if len(at_hap) == 0:  # x is deleted on this haplotype
                continue
            start = int(at_hap[0]) - offset
            cost = _mismatch_cost(haplotype, other, start, bases, quals)
            better = has & (cost < costs[:, h])
            costs[:, h] = np.where(better, cost, costs[:, h])
            placed[:, h] = np.where(better, start, placed[:, h])
    # per part of the group, a read supports the class of haplotypes (those alike there)
    # that fits it clearly best; one that reaches only another part's indels supports none
    counts, decided = [], np.zeros(len(rows), bool)
    for part, of_class in enumerate(classes):
        covers = np.any([aligned >= 0 for aligned, p in zip(aligned_at, point_parts)
                         if p == part], axis=0)
        class_costs = np.full((len(rows), int(of_class.max()) + 1), np.iinfo(np.int64).max)
        for h, c in enumerate(of_class.tolist()):
            class_costs[:, c] = np.minimum(class_costs[:, c], costs[:, h])
        order = np.sort(class_costs, axis=1)
        sure = covers & (order[:, 1] - order[:, 0] >= MIN_MARGIN)
        counts.append(np.bincount(np.argmin(class_costs, axis=1)[sure],
                                  minlength=class_costs.shape[1]))
        decided |= sure
    best = np.argmin(costs, axis=1)
    # the mismatches an indel haplotype explains, in the reads given to one
    on_indel = np.flatnonzero(decided & (best > 0))
    explained_rows, explained_cols = [], []
    for h in np.unique(best[on_indel]).tolist():
        members = on_indel[best[on_indel] == h]
        haplotype = haplotypes[h]
        hap_index = placed[members, h][:, None] + k[None, :]
        valid = (hap_index >= 0) & (hap_index < len(haplotype)) & (bases[members] < 4)
        clipped = np.clip(hap_index, 0, len(haplotype) - 1)
        matches = valid & (haplotype[clipped] == bases[members])
        if also[h] is not None:
            matches |= valid & (also[h][clipped] == bases[members])
        member, base = np.nonzero(matches)
        realigned_at = places[h][clipped[member, base]]
        row = rows[members][member]
        col = _projected_column(reads, query_key, row, first[members][member] + base)
        position = reads.starts[row] + col - window_start
        inside = (col >= 0) & (position >= 0) & (position < len(ref_codes))
        row, col, position = row[inside], col[inside], position[inside]
        read_code = reads.codes[row, col]
        # a mismatch where the CIGAR put the base, and the base belongs elsewhere
        wrong = ((read_code < 4) & (read_code != ref_codes[position])
                 & (position != realigned_at[inside]))
        explained_rows.append(row[wrong])
        explained_cols.append(col[wrong])
    if explained_rows:
        return counts, np.concatenate(explained_rows), np.concatenate(explained_cols)
    return counts, np.zeros(0, np.int64), np.zeros(0, np.int64)


def _mismatch_cost(haplotype: np.ndarray, other: np.ndarray | None, start: np.ndarray,
                   bases: np.ndarray, quals: np.ndarray) -> np.ndarray:
    """Per read, the summed qualities of its bases that mismatch ``haplotype`` (and the
    candidate SNP base ``other``, where given, that is not -1) when its base 0 is placed at
    haplotype index ``start``."""
    hap_index = start[:, None] + np.arange(bases.shape[1])[None, :]
    valid = (hap_index >= 0) & (hap_index < len(haplotype)) & (bases < 4)
    clipped = np.clip(hap_index, 0, len(haplotype) - 1)
    hap_bases = haplotype[clipped]
    mismatch = valid & (hap_bases < 4) & (hap_bases != bases)
    if other is not None:
        mismatch &= other[clipped] != bases
    return (quals * mismatch).sum(axis=1)


def _projected_column(reads: ProjectedReads, query_key: np.ndarray, rows: np.ndarray,
                      query: np.ndarray) -> np.ndarray:
    """The projection column (reference offset from the read's start) the CIGAR aligns each
    query base to (-1 for an inserted or soft-clipped base); ``query_key`` orders the aligned
    blocks by (read, first query index)."""
    wanted = rows.astype(np.int64) * (1 << 32) + query
    i = np.maximum(np.searchsorted(query_key, wanted, side="right") - 1, 0)
    ok = ((reads.block_read[i] == rows) & (query >= reads.block_query[i])
          & (query < reads.block_query[i] + reads.block_length[i]))
    return np.where(ok, reads.block_col[i] + query - reads.block_query[i], -1)
