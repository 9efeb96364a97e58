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
from dvcall.features.counts import reads_over
from dvcall.features.indels import IndelEvidence
from dvcall.features.noise import looks_like_variant
from dvcall.features.projection import ProjectedReads
from dvcall.features.repeats import repeat_start
from dvcall.io.bam_decoder import ranges

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
    # bases that the read's indel haplotype places on another reference position than its
    # CIGAR does: read rows and projection columns (a read misaligned at its end shifts the
    # bases past an indel onto the wrong reference columns, where they look like SNPs, or
    # like the reference where the shift lands on a matching base)
    explained_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    explained_cols: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def mask_explained(self, reads: ProjectedReads) -> None:
        """Turn the misplaced bases into unknown bases (N), in place, so that neither the
        model nor the SNP rules count them as evidence where the CIGAR put them."""
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
    assigned = _assign(reads, block_key, query_key, window_start, ref_codes, no_snps, groups)
    snp_alt = _snp_alternatives(reads, ref_codes, window_start, [a for a in assigned if a],
                                [(g.lo, g.hi) for g in groups])
    _clear_deleted_bases(snp_alt, groups)
    again = [g for g, group in enumerate(groups) if (snp_alt[group.lo:group.hi] >= 0).any()]
    if again:
        redone = _assign(reads, block_key, query_key, window_start, ref_codes, snp_alt,
                         [groups[g] for g in again])
        for g, group_assigned in zip(again, redone):
            assigned[g] = group_assigned
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


def _group_haplotypes(ref_codes: np.ndarray, snp_alt: np.ndarray, group: "_Group"
                      ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """A group's haplotypes over its span, the reference's first and then
    :meth:`_Group.carriers` order: per haplotype its base codes, the SNP base from
    ``snp_alt`` that matches there too (-1: none) and each base's window position (-1 for an
    inserted base)."""
    alleles, lo, hi = group.alleles, group.lo, group.hi
    haplotypes, also, places = [ref_codes[lo:hi]], [snp_alt[lo:hi]], [np.arange(lo, hi)]
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
    return haplotypes, also, places


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
    SNP there (:func:`dvcall.features.noise.looks_like_variant`) once the bases the
    ``assigned`` reads' indel haplotypes place elsewhere are left out, else -1. Realignment lets
    that base match on every haplotype, as if each came with and without the SNP: a read of
    an insertion's haplotype that carries a SNP beside it still fits that haplotype best."""
    length = len(ref_codes)
    steps = np.zeros(length + 1, np.int64)
    for lo, hi in spans:
        steps[lo] += 1
        steps[hi] -= 1
    positions = np.flatnonzero(np.cumsum(steps)[:length] > 0)
    site, row, col = reads_over(reads, window_start, positions)
    codes = reads.codes[row, col]
    base = codes < 4
    counts = np.bincount(site[base] * 4 + codes[base],
                         minlength=len(positions) * 4).reshape(-1, 4)
    if assigned:
        rows = np.concatenate([rows for _, rows, _ in assigned])
        cols = np.concatenate([cols for _, _, cols in assigned])
        site_of = np.full(length, -1, np.int64)
        site_of[positions] = np.arange(len(positions))
        explained = site_of[reads.starts[rows] + cols - window_start]
        flat = explained * 4 + reads.codes[rows, cols]
        counts = counts - np.bincount(flat[explained >= 0],
                                      minlength=len(positions) * 4).reshape(-1, 4)
    depth = counts.sum(axis=1)
    ref = ref_codes[positions]
    known = ref < 4
    counts[np.flatnonzero(known), ref[known]] = 0
    best = np.argmax(counts, axis=1)
    top = counts[np.arange(len(best)), best]
    out = np.full(length, -1, np.int8)
    out[positions] = np.where(looks_like_variant(top, depth), best, -1)
    return out


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


NO_COST = np.iinfo(np.int64).max  # a haplotype a read was not placed on
PLACEMENT_BLOCK = 4096  # placements whose mismatch costs are taken in one array operation


@dataclass
class _Haplotypes:
    """The haplotypes of several groups (:func:`_group_haplotypes`), concatenated and
    numbered across them: per base its code, the SNP base that matches there too (-1: none)
    and its window position (-1: inserted); per haplotype its first base and length; per
    group its first haplotype and how many it has."""

    codes: np.ndarray
    also: np.ndarray
    places: np.ndarray
    offset: np.ndarray
    length: np.ndarray
    first: np.ndarray
    count: np.ndarray
    # (haplotype, window position) of every base not inserted, sorted (positions rise along
    # each haplotype), and that base's index into the flat arrays: for index_of
    position_keys: np.ndarray
    position_base: np.ndarray

    @classmethod
    def build(cls, ref_codes: np.ndarray, snp_alt: np.ndarray, groups: list["_Group"]
              ) -> "_Haplotypes":
        codes, also, places, count = [], [], [], []
        for group in groups:
            group_codes, group_also, group_places = _group_haplotypes(ref_codes, snp_alt, group)
            codes += group_codes
            also += group_also
            places += group_places
            count.append(len(group_codes))
        length = np.array([len(c) for c in codes], np.int64)
        count = np.array(count, np.int64)
        places = np.concatenate(places).astype(np.int64)
        kept = np.flatnonzero(places >= 0)
        hap_of_base = np.repeat(np.arange(len(length)), length)
        return cls(np.concatenate(codes), np.concatenate(also).astype(np.int8), places,
                   np.cumsum(length) - length, length, np.cumsum(count) - count, count,
                   hap_of_base[kept] * (1 << 32) + places[kept], kept)

    def index_of(self, hap: np.ndarray, position: np.ndarray) -> np.ndarray:
        """Index within haplotype ``hap`` of its base at window ``position`` (-1 where the
        haplotype deletes it), elementwise."""
        keys = self.position_keys
        wanted = hap * (1 << 32) + position
        i = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        return np.where(keys[i] == wanted, self.position_base[i] - self.offset[hap], -1)

    def costs(self, hap: np.ndarray, start: np.ndarray, bases: np.ndarray,
              quals: np.ndarray) -> np.ndarray:
        """Per placement, the summed qualities of the read's bases (a row of ``bases`` and
        ``quals``) that mismatch haplotype ``hap`` and the SNP base on it when its base 0
        lies at haplotype index ``start``."""
        hap_index = start[:, None] + np.arange(bases.shape[1])[None, :]
        length = self.length[hap][:, None]
        valid = (hap_index >= 0) & (hap_index < length) & (bases < 4)
        flat = self.offset[hap][:, None] + np.clip(hap_index, 0, length - 1)
        hap_bases = self.codes[flat]
        mismatch = (valid & (hap_bases < 4) & (hap_bases != bases)
                    & (self.also[flat] != bases))
        return (quals * mismatch).sum(axis=1)

    def matches(self, hap: np.ndarray, start: np.ndarray, bases: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(read, read base, window position on the haplotype)`` of each base of the
        placed reads that matches its haplotype or the SNP base on it."""
        hap_index = start[:, None] + np.arange(bases.shape[1])[None, :]
        length = self.length[hap][:, None]
        valid = (hap_index >= 0) & (hap_index < length) & (bases < 4)
        flat = self.offset[hap][:, None] + np.clip(hap_index, 0, length - 1)
        match = valid & ((self.codes[flat] == bases) | (self.also[flat] == bases))
        member, base = np.nonzero(match)
        return member, base, self.places[flat[member, base]]


def _segment_heads(segment: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Per segment present, in segment order, the index of its element that sorts first by
    ``keys`` (the first key first)."""
    order = np.lexsort(tuple(reversed(keys)) + (segment,))
    sorted_segment = segment[order]
    return order[np.flatnonzero(np.r_[True, sorted_segment[1:] != sorted_segment[:-1]])]


def _reads_over_spans(reads: ProjectedReads, window_start: int, groups: list["_Group"]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(group, read row)`` of every read overlapping a group's span, by binary search in
    start order."""
    order = np.argsort(reads.starts, kind="stable")
    starts, ends = reads.starts[order], reads.ends[order]
    lo = np.array([g.lo for g in groups], np.int64) + window_start
    hi = np.array([g.hi for g in groups], np.int64) + window_start
    longest = int((ends - starts).max())
    first = np.searchsorted(starts, lo - longest, side="right")
    last = np.searchsorted(starts, hi, side="left")
    group = np.repeat(np.arange(len(groups)), last - first)
    sorted_index = ranges(first, last - first)
    overlaps = ends[sorted_index] > lo[group]
    return group[overlaps], order[sorted_index[overlaps]]


def _assign(reads: ProjectedReads, block_key: np.ndarray, query_key: np.ndarray,
            window_start: int, ref_codes: np.ndarray, snp_alt: np.ndarray,
            groups: list["_Group"]) -> list[tuple[list[np.ndarray], np.ndarray, np.ndarray]
                                            | None]:
    """Per group (None where no read reaches its points): per part, the reads per class of
    haplotypes (:meth:`_Group.classes`; class 0 holds the reference) among the reads over
    its span; and the (row, column) of each base of a read given to an indel haplotype that
    matches that haplotype (or the SNP base ``snp_alt`` on it) where realignment puts it,
    another reference position than its CIGAR's. All groups are compared at once: a
    chunk has dozens of groups of a few dozen reads each."""
    none: list = [None] * len(groups)
    if not groups:
        return none
    haps = _Haplotypes.build(ref_codes, snp_alt, groups)
    pair_group, pair_row = _reads_over_spans(reads, window_start, groups)
    # the base each read's CIGAR aligns to each of its group's points (an anchor, the first
    # base after its repeat)
    n_points = np.array([len(g.points) for g in groups], np.int64)
    point_first = np.cumsum(n_points) - n_points
    point_pos = np.array([x for g in groups for x in g.points], np.int64)
    point_local = np.concatenate([np.arange(n) for n in n_points])
    point_part = np.array([p for g in groups for p in g.point_parts()], np.int64)
    entry_pair = np.repeat(np.arange(len(pair_row)), n_points[pair_group])
    entry_point = ranges(point_first[pair_group], n_points[pair_group])
    aligned = aligned_query_index(reads, block_key, pair_row[entry_pair],
                                  window_start + point_pos[entry_point])
    has = aligned >= 0
    keep = np.bincount(entry_pair[has], minlength=len(pair_row)) > 0
    if not keep.any():
        return none
    renumber = np.cumsum(keep) - 1
    entry_pair, entry_point, aligned = renumber[entry_pair[has]], entry_point[has], aligned[has]
    pair_group, pair_row = pair_group[keep], pair_row[keep]
    pairs = len(pair_row)

    first = reads.query_start[pair_row]
    query_length = reads.query_length[pair_row]
    k = np.arange(int(query_length.max()))
    inside = k[None, :] < query_length[:, None]
    index = np.minimum(first[:, None] + k[None, :], len(reads.query_codes) - 1)
    bases = np.where(inside, reads.query_codes[index], 4)
    quals = np.minimum(np.where(inside, reads.query_quals[index], 0), QUAL_CAP).astype(np.int32)

    # A read is placed on each haplotype by the base its CIGAR aligns to each of the points;
    # each haplotype keeps the best placement, the earliest point's among equals. One
    # placement alone misleads when the aligner put the indel in the wrong place near the
    # read's end (a read starting 2 bases before a deletion, say).
    entry_group = pair_group[entry_pair]
    place_entry = np.repeat(np.arange(len(entry_pair)), haps.count[entry_group])
    place_hap = ranges(haps.first[entry_group], haps.count[entry_group])
    at = haps.index_of(place_hap, point_pos[entry_point[place_entry]])
    placed_ok = at >= 0  # the point is deleted on some haplotypes
    place_entry, place_hap = place_entry[placed_ok], place_hap[placed_ok]
    place_pair = entry_pair[place_entry]
    place_start = at[placed_ok] - (aligned[place_entry] - first[place_pair])
    place_cost = np.concatenate([
        haps.costs(place_hap[i:i + PLACEMENT_BLOCK], place_start[i:i + PLACEMENT_BLOCK],
                   bases[place_pair[i:i + PLACEMENT_BLOCK]],
                   quals[place_pair[i:i + PLACEMENT_BLOCK]])
        for i in range(0, len(place_hap), PLACEMENT_BLOCK)] or [np.zeros(0, np.int64)])
    # slots: one per (read, haplotype of its group)
    pair_haps = haps.count[pair_group]
    slot_first = np.cumsum(pair_haps) - pair_haps
    slot_pair = np.repeat(np.arange(pairs), pair_haps)
    slot_local = ranges(np.zeros(pairs, np.int64), pair_haps)
    place_slot = slot_first[place_pair] + place_hap - haps.first[pair_group[place_pair]]
    head = _segment_heads(place_slot, place_cost, point_local[entry_point[place_entry]])
    costs = np.full(len(slot_pair), NO_COST, np.int64)
    start = np.zeros(len(slot_pair), np.int64)  # haplotype index of the read's base 0
    costs[place_slot[head]] = place_cost[head]
    start[place_slot[head]] = place_start[head]

    # Per part of a group, a read supports the class of haplotypes (those alike there) that
    # fits it clearly best; one that reaches only another part's indels supports none.
    layout = _ClassLayout.build(groups)
    class_pair = np.repeat(np.arange(pairs), layout.count[pair_group])
    class_id = ranges(layout.first[pair_group], layout.count[pair_group])  # across groups
    class_slot_first = np.cumsum(layout.count[pair_group]) - layout.count[pair_group]
    # each slot's haplotype falls in one class per part
    slot_group = pair_group[slot_pair]
    link_slot = np.repeat(np.arange(len(slot_pair)), layout.parts[slot_group])
    link = ranges(layout.hap_first[haps.first[slot_group] + slot_local],
                  layout.parts[slot_group])
    class_costs = np.full(len(class_pair), NO_COST, np.int64)
    np.minimum.at(class_costs, class_slot_first[slot_pair[link_slot]] + layout.hap_class[link],
                  costs[link_slot])
    part_first = np.cumsum(layout.parts[pair_group]) - layout.parts[pair_group]
    segment = part_first[class_pair] + layout.class_part[class_id]
    segments = int(layout.parts[pair_group].sum())
    # every part has the reference's class and one of its own: two classes or more
    order = np.lexsort((layout.class_index[class_id], class_costs, segment))
    seg_first = np.searchsorted(segment[order], np.arange(segments))
    best, second = order[seg_first], order[seg_first + 1]
    margin = class_costs[second] - class_costs[best]
    covers = np.bincount(part_first[entry_pair] + point_part[entry_point],
                         minlength=segments) > 0
    sure = covers & (margin >= MIN_MARGIN)
    counts = np.bincount(class_id[best[sure]], minlength=int(layout.count.sum()))
    decided = np.bincount(class_pair[best[sure]], minlength=pairs) > 0

    # the bases an indel haplotype places elsewhere, in the reads given to one
    best_slot = _segment_heads(slot_pair, costs, slot_local)
    members = np.flatnonzero(decided & (slot_local[best_slot] > 0))
    member_slot = best_slot[members]
    member_hap = haps.first[pair_group[members]] + slot_local[member_slot]
    member, base, realigned_at = haps.matches(member_hap, start[member_slot], bases[members])
    row = pair_row[members][member]
    col = _projected_column(reads, query_key, row, first[members][member] + base)
    position = reads.starts[row] + col - window_start
    ok = (col >= 0) & (position >= 0) & (position < len(ref_codes))
    row, col, position = row[ok], col[ok], position[ok]
    read_code = reads.codes[row, col]
    # a base that belongs elsewhere, unless realigned the read shows the same base where the
    # CIGAR put it (a shift along a repeat): as a mismatch or as a match of the reference,
    # it is no evidence there
    on_hap = haps.index_of(member_hap[member][ok], position)
    at = on_hap - start[member_slot][member][ok]  # the read's realigned base there
    length = reads.query_length[row]
    there = np.where((on_hap >= 0) & (at >= 0) & (at < length),
                     reads.query_codes[reads.query_start[row] + np.clip(at, 0, length - 1)], -1)
    wrong = (read_code < 4) & (position != realigned_at[ok]) & (there != read_code)
    explained_group = pair_group[members][member][ok][wrong]
    order = np.argsort(explained_group, kind="stable")
    bounds = np.searchsorted(explained_group[order], np.arange(len(groups) + 1))
    rows, cols = row[wrong][order], col[wrong][order]
    reached = np.bincount(pair_group, minlength=len(groups)) > 0
    out: list = []
    for g in range(len(groups)):
        if not reached[g]:
            out.append(None)
            continue
        at_group = layout.first[g] + layout.part_first[g]
        out.append(([counts[a : a + n] for a, n in zip(at_group.tolist(),
                                                        layout.classes[g].tolist())],
                     rows[bounds[g] : bounds[g + 1]], cols[bounds[g] : bounds[g + 1]]))
    return out


@dataclass
class _ClassLayout:
    """The classes of several groups' parts (:meth:`_Group.classes`), numbered across them:
    per group its first class, count of classes and parts, and per part its first class
    (within the group) and class count; per class its part and index within the part; per
    haplotype (numbered as in :class:`_Haplotypes`) where its class of each part is listed
    in ``hap_class`` (within the group)."""

    first: np.ndarray
    count: np.ndarray
    parts: np.ndarray
    part_first: list[np.ndarray]
    classes: list[np.ndarray]
    class_part: np.ndarray
    class_index: np.ndarray
    hap_first: np.ndarray
    hap_class: np.ndarray

    @classmethod
    def build(cls, groups: list["_Group"]) -> "_ClassLayout":
        count, parts, part_first, classes = [], [], [], []
        class_part, class_index, hap_class, hap_parts = [], [], [], []
        for group in groups:
            of_class = group.classes()  # per part, each haplotype's class
            sizes = np.array([int(c.max()) + 1 for c in of_class], np.int64)
            within = np.cumsum(sizes) - sizes
            count.append(int(sizes.sum()))
            parts.append(len(of_class))
            part_first.append(within)
            classes.append(sizes)
            for part, size in enumerate(sizes.tolist()):
                class_part.append(np.full(size, part, np.int64))
                class_index.append(np.arange(size))
            # per haplotype, its class in each part, as a class number within the group
            hap_class.append((np.stack(of_class, axis=1) + within[None, :]).ravel())
            hap_parts += [len(of_class)] * len(of_class[0])
        count_a = np.array(count, np.int64)
        hap_parts_a = np.array(hap_parts, np.int64)
        return cls(np.cumsum(count_a) - count_a, count_a, np.array(parts, np.int64),
                   part_first, classes, np.concatenate(class_part),
                   np.concatenate(class_index), np.cumsum(hap_parts_a) - hap_parts_a,
                   np.concatenate(hap_class))


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
