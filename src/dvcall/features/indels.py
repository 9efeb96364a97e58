"""Indels of the reads, left-normalised against the reference, so one indel placed anywhere in
a repeat by the aligner counts as one allele at one anchor (the one ``bcftools norm`` would
report)."""

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from dvcall.encoding import BASES
from dvcall.features.projection import ProjectedReads

# An inserted base below this quality (a 1-in-100 chance of a wrong base; the quality a
# clean base has at least) that disagrees with the quality-weighted consensus of the
# same-length insertions at its place is read as the consensus: a misread, not a second
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


def normalize_indels(reads: ProjectedReads, ref: str, window_start: int) -> IndelEvidence:
    """Left-normalise each read's indels, so one indel placed anywhere in a repeat by the
    aligner counts as one allele at one anchor (the one ``bcftools norm`` would report)."""
    anchors, rows, is_del, alleles = [], [], [], []
    for anchor, length, row in zip(reads.del_anchor.tolist(), reads.del_length.tolist(),
                                   reads.del_read.tolist()):
        local = anchor - window_start
        if local < 1 or local + length + 1 >= len(ref):
            continue
        pos, ref_allele, alt = left_normalize_deletion(ref, local, int(length))
        anchors.append(pos), rows.append(row), is_del.append(True)
        alleles.append((ref_allele, alt))
    for anchor, inserted, row in zip(reads.ins_anchor.tolist(), consensus_insertions(reads),
                                     reads.ins_read.tolist()):
        local = anchor - window_start
        inserted = inserted.upper()
        if local < 1 or local >= len(ref) or "N" in inserted:
            continue
        pos, ref_allele, alt = left_normalize_insertion(ref, local, inserted)
        anchors.append(pos), rows.append(row), is_del.append(False)
        alleles.append((ref_allele, alt))
    return IndelEvidence(np.asarray(anchors, np.int64), np.asarray(rows, np.int64),
                         np.asarray(is_del, bool), alleles)


def consensus_insertions(reads: ProjectedReads) -> list[str]:
    """Each read's inserted sequence, with its low-quality bases (below
    MISREAD_INSERTED_QUALITY) that disagree with the quality-weighted consensus of all
    insertions of that length after the same reference base turned into the consensus base:
    a 9-base insertion seen in five reads, each with a different Q2 base, is one allele of
    five reads, not five alleles of one."""
    sequences = [s.upper() for s in reads.ins_seq]
    if reads.ins_query is None or len(sequences) < 2:
        return sequences
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, (anchor, sequence) in enumerate(zip(reads.ins_anchor.tolist(), sequences)):
        groups[(anchor, len(sequence))].append(i)
    for (_, length), members in groups.items():
        if len(members) < 2 or len({sequences[i] for i in members}) == 1:
            continue
        starts = reads.ins_query[members]
        quals = reads.query_quals[starts[:, None] + np.arange(length)[None, :]].astype(float)
        letters = np.array([list(sequences[i]) for i in members])
        votes = np.stack([np.where(letters == b, quals, 0.0).sum(axis=0) for b in BASES])
        consensus = np.array(list(BASES))[np.argmax(votes, axis=0)]
        misread = (letters != consensus) & (quals < MISREAD_INSERTED_QUALITY)
        for row, i in enumerate(members):
            if misread[row].any():
                sequences[i] = "".join(np.where(misread[row], consensus, letters[row]))
    return sequences


def indel_cells(reads: ProjectedReads, evidence: IndelEvidence, window_start: int
                ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((rows, cols) of insertions, (rows, cols) of deletion starts)``: the read and column
    of each event's normalised anchor, for the model input's flag counts."""
    col = evidence.anchor + window_start - reads.starts[evidence.read]
    ok = (col >= 0) & (col < reads.codes.shape[1])
    return tuple((evidence.read[ok & kind], col[ok & kind])
                 for kind in (~evidence.is_deletion, evidence.is_deletion))
