"""Indels of the reads, left-normalised against the reference, so one indel placed anywhere in
a repeat by the aligner counts as one allele at one anchor (the one ``bcftools norm`` would
report)."""

from dataclasses import dataclass

import numpy as np

from dvcall.encoding import BASE_CODE, BASES
from dvcall.features.projection import ProjectedReads
from dvcall.features.repeats import repeat_span

# An inserted base below this quality (a 1-in-100 chance of a wrong base; the quality a
# clean base has at least) that disagrees with the quality-weighted consensus of the
# same-length insertions in its repeat is read as the consensus: a misread, not a second
# allele. Above it, a disagreeing base is kept, and the reads stay two alleles.
MISREAD_INSERTED_QUALITY = 20


def left_normalize_deletion(ref: str, anchor: int, length: int) -> tuple[int, str, str]:
    """Deletion of ``ref[anchor+1 : anchor+1+length]`` -> leftmost (pos, REF, ALT)."""
    while anchor > 0 and ref[anchor] == ref[anchor + length] and ref[anchor] != "N":
        anchor -= 1
    return anchor, ref[anchor : anchor + length + 1], ref[anchor]


def left_normalize_insertion(ref: str, anchor: int, inserted: str) -> tuple[int, str, str]:
    """Insertion of ``inserted`` after ``ref[anchor]`` -> leftmost (pos, REF, ALT)."""
    while anchor > 0 and inserted[-1] == ref[anchor] and ref[anchor] != "N":
        inserted = ref[anchor] + inserted[:-1]
        anchor -= 1
    return anchor, ref[anchor], ref[anchor] + inserted


def trim_shared_suffix(ref: str, alt: str) -> tuple[str, str]:
    """REF and ALT without the bases they end in alike (each keeps one base): an MNP or
    complex record reduced to its edit."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    return ref, alt


@dataclass
class IndelEvidence:
    """Every indel event of a chunk's reads, left-normalised against the reference."""

    anchor: np.ndarray  # (E,) window position of the normalised anchor (VCF POS - 1)
    read: np.ndarray  # (E,) read row
    is_deletion: np.ndarray  # (E,) bool
    alleles: list[tuple[str, str]]  # (REF, ALT) per event


def normalize_indels(reads: ProjectedReads, ref: str, window_start: int,
                     repeat: np.ndarray | None = None) -> IndelEvidence:
    """Left-normalise each read's indels, so one indel placed anywhere in a repeat by the
    aligner counts as one allele at one anchor (the one ``bcftools norm`` would report).
    ``repeat``: the window's :func:`dvcall.features.repeats.repeat_span`, where known."""
    anchors, rows, is_del, alleles = [], [], [], []
    for anchor, length, row in zip(reads.del_anchor.tolist(), reads.del_length.tolist(),
                                   reads.del_read.tolist()):
        local = anchor - window_start
        if local < 1 or local + length + 1 >= len(ref):
            continue
        pos, ref_allele, alt = left_normalize_deletion(ref, local, int(length))
        anchors.append(pos), rows.append(row), is_del.append(True)
        alleles.append((ref_allele, alt))
    for pos, row, (ref_allele, alt) in insertion_alleles(reads, ref, window_start, repeat):
        anchors.append(pos), rows.append(row), is_del.append(False)
        alleles.append((ref_allele, alt))
    return IndelEvidence(np.asarray(anchors, np.int64), np.asarray(rows, np.int64),
                         np.asarray(is_del, bool), alleles)


def insertion_alleles(reads: ProjectedReads, ref: str, window_start: int,
                      repeat: np.ndarray | None = None
                      ) -> list[tuple[int, int, tuple[str, str]]]:
    """``(normalised anchor, read row, (REF, ALT))`` of every insertion, its misread bases
    mended (:func:`_mend_misreads`; ``repeat``: the window's repeat spans, where known)."""
    events = []
    for anchor, inserted, row, first in zip(
            reads.ins_anchor.tolist(), reads.ins_seq, reads.ins_read.tolist(),
            (reads.ins_query if reads.ins_query is not None
             else np.full(len(reads.ins_seq), -1)).tolist()):
        local = anchor - window_start
        inserted = inserted.upper()
        if local < 1 or local >= len(ref) or "N" in inserted:
            continue
        events.append([local, inserted, row, first,
                       *left_normalize_insertion(ref, local, inserted)])
    if reads.ins_query is not None and len(events) > 1:
        _mend_misreads(events, reads.query_quals, ref, repeat)
    return [(pos, row, (ref_allele, alt)) for _, _, row, _, pos, ref_allele, alt in events]


def _mend_misreads(events: list[list], query_quals: np.ndarray, ref: str,
                   span: np.ndarray | None) -> None:
    """Insertions of one length whose normalised anchors lie in one repeat spell one
    haplotype each over the repeat; those are voted on base by base (an inserted base
    weighs its quality, a reference base MAX_VOTE), and a read whose haplotype differs from
    the vote only at inserted bases below MISREAD_INSERTED_QUALITY takes the vote's
    insertion, in place. A 9-base insertion in five reads, each with a different Q2 base,
    is one allele of five reads, not five alleles of one."""
    order = sorted(range(len(events)), key=lambda i: (len(events[i][1]), events[i][4]))
    groups: list[list[int]] = []
    for i in order:
        length, pos = len(events[i][1]), events[i][4]
        if groups:
            first = events[groups[-1][0]]
            if len(first[1]) == length:
                if span is None:
                    span = repeat_span(BASE_CODE[np.frombuffer(ref.encode(), np.uint8)])
                if pos <= first[4] + int(span[first[4]]):
                    groups[-1].append(i)
                    continue
        groups.append([i])
    for members in groups:
        if len(members) < 2 or len({events[i][6] for i in members}) == 1:
            continue
        _vote(events, members, query_quals, ref)


MAX_VOTE = 40  # the weight of a reference base, and the most an inserted base weighs


def _vote(events: list[list], members: list[int], query_quals: np.ndarray, ref: str) -> None:
    """:func:`_mend_misreads` for one group of insertions."""
    length = len(events[members[0]][1])
    lo = min(events[i][0] for i in members)
    hi = max(events[i][0] for i in members) + 2
    if hi > len(ref):
        return
    haplotypes, weights, inserted_at = [], [], []
    for i in members:
        local, inserted, _, first = events[i][:4]
        haplotypes.append(ref[lo : local + 1] + inserted + ref[local + 1 : hi])
        quals = np.minimum(query_quals[first : first + length], MAX_VOTE)
        head, tail = local + 1 - lo, hi - local - 1
        weights.append(np.concatenate([np.full(head, MAX_VOTE), quals, np.full(tail, MAX_VOTE)]))
        inserted_at.append(np.concatenate([np.zeros(head, bool), np.ones(length, bool),
                                           np.zeros(tail, bool)]))
    letters = np.array([list(h) for h in haplotypes])
    weights, inserted_at = np.array(weights, float), np.array(inserted_at)
    votes = np.stack([np.where(letters == b, weights, 0.0).sum(axis=0) for b in BASES])
    consensus = "".join(np.array(list(BASES))[np.argmax(votes, axis=0)])
    k = next((k for k in range(hi - lo) if consensus[k] != ref[lo + k]), hi - lo)
    if k == 0 or consensus[k + length:] != ref[lo + k : hi]:
        return  # the vote is no single insertion
    mended = left_normalize_insertion(ref, lo + k - 1, consensus[k : k + length])
    for row, i in enumerate(members):
        differs = letters[row] != np.array(list(consensus))
        if differs.any() and not (differs & ~(inserted_at[row]
                                              & (weights[row] < MISREAD_INSERTED_QUALITY))).any():
            events[i][4:] = mended


def indel_cells(reads: ProjectedReads, evidence: IndelEvidence, window_start: int
                ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((rows, cols) of insertions, (rows, cols) of deletion starts)``: the read and column
    of each event's normalised anchor, for the model input's flag counts."""
    col = evidence.anchor + window_start - reads.starts[evidence.read]
    ok = (col >= 0) & (col < reads.codes.shape[1])
    return tuple((evidence.read[ok & kind], col[ok & kind])
                 for kind in (~evidence.is_deletion, evidence.is_deletion))
