"""BAM/CRAM input: opening it against the reference, its typical depth, and a region's usable
reads as flat arrays (:class:`Records`), before they are projected onto the reference.

A BAM with a ``.bai`` beside it is decoded by :mod:`dvcall.io.bam_decoder` (no Python object
per read); CRAM and the rest go through pysam. Both give the same records.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from zlib import crc32

import numpy as np
import pysam

from dvcall.encoding import (
    BASE_CODE,
    PAIRED_FLAG,
    REFERENCE_OPS,
    REVERSE_FLAG,
    SKIP_FLAGS,
    read_is_usable,
)
from dvcall.errors import InputError
from dvcall.io.bam_decoder import BamDecoder, DecodedReads, ranges
from dvcall.io.reference import open_fasta
from dvcall.io.regions import Chunk

DEFAULT_BASEQ = 30  # for reads stored without base qualities


@dataclass
class ReadFilter:
    min_mapq: int = 1
    min_baseq: int = 0
    max_depth: int = 1000
    read_groups: frozenset[str] | None = None  # only these @RG IDs (one sample of several)


def open_inputs(bam_path: Path, ref_path: Path) -> tuple[pysam.AlignmentFile, pysam.FastaFile]:
    """Open BAM/CRAM and FASTA, with one-line errors for the common mistakes."""
    ref_path, bam_path = Path(ref_path), Path(bam_path)
    fasta = open_fasta(ref_path)
    if not bam_path.exists():
        raise InputError(f"{bam_path}: alignment file not found")
    try:
        bam = pysam.AlignmentFile(str(bam_path), reference_filename=str(ref_path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{bam_path}: not a readable BAM/CRAM ({exc})") from None
    sort_order = bam.header.to_dict().get("HD", {}).get("SO")
    if sort_order not in (None, "coordinate"):
        raise InputError(f"{bam_path}: not coordinate-sorted (@HD SO:{sort_order}); sort it with "
                         f"'samtools sort -o sorted.bam {bam_path}' and index the result")
    if not bam.has_index():
        if bam.is_sam:  # SAM text cannot be indexed: 'samtools index' would fail too
            raise InputError(f"{bam_path}: a SAM text file, which cannot be indexed; convert it "
                             f"with 'samtools sort -o sorted.bam {bam_path}' and 'samtools "
                             "index sorted.bam'")
        raise InputError(f"{bam_path}: no index found; create one with 'samtools index "
                         f"{bam_path}'")
    fasta_lengths = dict(zip(fasta.references, fasta.lengths))
    for name, length in zip(bam.references, bam.lengths):
        if name in fasta_lengths and fasta_lengths[name] != length:
            raise InputError(f"{bam_path}: contig '{name}' has length {length} in the BAM header "
                             f"but {fasta_lengths[name]} in {ref_path}; use the reference the "
                             "reads were aligned to")
    if not set(bam.references) & set(fasta_lengths):
        raise InputError(f"{bam_path}: no contig name is shared with {ref_path} ("
                         f"{contig_name_mismatch(bam.references, fasta.references)}); use a "
                         "FASTA with the BAM's names, or rename the BAM's contigs with "
                         "'samtools reheader'")
    return bam, fasta


def read_group_samples(bam: pysam.AlignmentFile) -> dict[str, list[str]]:
    """Sample name (@RG SM) -> the IDs of its read groups."""
    samples: dict[str, list[str]] = {}
    for group in bam.header.to_dict().get("RG", []):
        if group.get("SM"):
            samples.setdefault(str(group["SM"]), []).append(str(group.get("ID")))
    return samples


@dataclass(frozen=True)
class SampleChoice:
    name: str  # the VCF's sample column
    read_groups: frozenset[str] | None  # the read groups to use (None: every read)
    note: str | None = None  # how the name was chosen, for the header, when not from @RG


def choose_sample(bam: pysam.AlignmentFile, bam_path: Path, requested: str | None
                  ) -> SampleChoice:
    """The sample to call: the BAM's one @RG SM (``requested`` renames it); of a BAM whose
    read groups name several, the one ``requested`` picks, with only its read groups; of a
    BAM without @RG SM, ``requested`` or the file's name."""
    samples = read_group_samples(bam)
    if len(samples) > 1:
        listed = ", ".join(sorted(samples))
        if requested is None:
            raise InputError(f"{bam_path}: its read groups name {len(samples)} samples "
                             f"({listed}); pick one with --sample NAME")
        if requested not in samples:
            raise InputError(f"{bam_path}: --sample '{requested}' is not one of its samples "
                             f"({listed})")
        return SampleChoice(requested, frozenset(samples[requested]))
    if samples:
        return SampleChoice(requested or next(iter(samples)), None)
    name = requested or Path(bam_path).stem
    return SampleChoice(name, None, None if requested else (
        f"{bam_path} has no @RG SM: the sample is named after the file ({name})"))


def contig_name_mismatch(ours: list[str], theirs: list[str], first: str = "BAM",
                         second: str = "FASTA") -> str:
    """How two files' contig names differ, naming a pair that is the same contig where a
    'chr' prefix or the M/MT spelling is all that differs."""
    def plain(name: str) -> str:
        name = name[3:] if name.lower().startswith("chr") else name
        return "M" if name in ("M", "MT") else name

    by_plain = {plain(n): n for n in theirs}
    for name in ours:
        if plain(name) in by_plain:
            return (f"{first} has '{name}' where {second} has '{by_plain[plain(name)]}': the "
                    "names differ by a 'chr' prefix")
    return (f"{first} has '{ours[0] if ours else '-'}', {second} has "
            f"'{theirs[0] if theirs else '-'}'")


def reads_off_reference(bam: pysam.AlignmentFile, fasta: pysam.FastaFile
                        ) -> list[tuple[str, int]]:
    """``(contig, mapped reads)`` for the BAM's contigs with reads that the FASTA lacks, from
    the index (empty where the index holds no counts, as a CRAM's)."""
    names = set(fasta.references)
    try:
        stats = bam.get_index_statistics()
    except (AttributeError, ValueError, OSError):
        return []
    return [(s.contig, s.mapped) for s in stats if s.mapped and s.contig not in names]


def check_contig_checksums(bam: pysam.AlignmentFile, fasta: pysam.FastaFile, bam_path: Path,
                           ref_path: Path, contigs: set[str]) -> None:
    """Refuse a FASTA whose sequence is not the one the reads were aligned to, where the BAM
    header records it (``@SQ M5``: the MD5 of the upper-case sequence) for a called contig."""
    for entry in bam.header.to_dict().get("SQ", []):
        name, expected = entry.get("SN"), str(entry.get("M5", "")).lower()
        if not expected or name not in contigs:
            continue
        found = hashlib.md5(fasta.fetch(name).upper().encode()).hexdigest()
        if found != expected:
            raise InputError(f"{ref_path}: the sequence of '{name}' is not the one {bam_path} "
                             f"was aligned to (@SQ M5 {expected}, this FASTA {found}); use the "
                             "FASTA the reads were aligned to")


# SAM flags and what a user calls them, in the order a read is tested
_FILTER_REASONS = ((0x4, "unmapped"), (0x100, "secondary"), (0x800, "supplementary"),
                   (0x400, "duplicates"), (0x200, "QC-failed"))


def filtered_read_counts(bam: pysam.AlignmentFile, chunks: list[Chunk], min_mapq: int,
                         limit: int = 1_000_000) -> dict[str, int]:
    """Why the reads of ``chunks`` were not used, counted over at most ``limit`` reads
    (empty when the regions have no reads at all): to explain an empty result."""
    counts = dict.fromkeys([why for _, why in _FILTER_REASONS]
                           + [f"below --min-mapq {min_mapq}", "without bases"], 0)
    seen = 0
    for chunk in chunks:
        for read in bam.fetch(chunk.contig, chunk.start, chunk.end):
            if read.reference_start < chunk.start and chunk.start > 0:
                continue  # counted with the chunk before
            seen += 1
            why = next((w for flag, w in _FILTER_REASONS if read.flag & flag), None)
            if why is None and read.mapping_quality < min_mapq:
                why = f"below --min-mapq {min_mapq}"
            counts[why or "without bases"] += 1
            if seen >= limit:
                return counts
    return counts if seen else {}


def unreadable(bam_path, region: str, exc: BaseException) -> str:
    """The one line for alignments that cannot be read, with the causes a user can fix."""
    return (f"{bam_path}: cannot read {region} ({exc}); the file is truncated or corrupt, its "
            f"index belongs to another file (rebuild it: samtools index {bam_path}), or a "
            "CRAM's reference is not --ref")


def in_read_groups(read: pysam.AlignedSegment, groups: frozenset[str] | None) -> bool:
    """Whether a read belongs to the sample being called (``groups`` None: every read)."""
    return groups is None or (read.has_tag("RG") and read.get_tag("RG") in groups)


def expected_depth(bam: pysam.AlignmentFile, windows: int = 16, width: int = 20_000,
                   read_groups: frozenset[str] | None = None) -> float:
    """The sample's typical depth: the median over evenly spaced windows (with any reads) of
    aligned bases per position. Sampled the same way for BAM and CRAM (a CRAM index has no
    mapped-read counts), so both give the same features."""
    contigs = [(name, length) for name, length in zip(bam.references, bam.lengths) if length]
    genome = sum(length for _, length in contigs)
    if not genome:
        return 30.0
    ends = np.cumsum([length for _, length in contigs])
    depths = []
    for k in range(windows):
        at = int((k + 0.5) * genome / windows)
        i = int(np.searchsorted(ends, at, side="right"))
        name, length = contigs[i]
        offset = at - (int(ends[i]) - length)
        lo = max(min(offset - width // 2, length - width), 0)
        hi = min(lo + width, length)
        try:
            aligned = sum(min(r.reference_end, hi) - max(r.reference_start, lo)
                          for r in bam.fetch(name, lo, hi)
                          if read_is_usable(r.flag, r.mapping_quality, 1)
                          and in_read_groups(r, read_groups)
                          and r.reference_end is not None)
        except (OSError, ValueError) as exc:
            try:  # closed here: a damaged file's close fails again when it is collected
                bam.close()
            except OSError:
                pass
            raise InputError(unreadable(bam.filename.decode(), f"{name}:{lo + 1}-{hi}",
                                        exc)) from None
        if aligned > 0:
            depths.append(aligned / (hi - lo))
    return float(np.median(depths)) if depths else 30.0


def _keep_by_depth(starts: np.ndarray, ends: np.ndarray, names, max_depth: int):
    """Deterministic downsampling: keep a read when a hash of its name falls under
    ``max_depth / depth`` at its start, so mates and reruns make the same choice.
    ``names()`` gives the reads' names (called only when some position is too deep)."""
    if len(starts) == 0:
        return np.ones(0, bool)
    lo = starts.min()
    diff = np.zeros(ends.max() - lo + 2, np.int64)
    np.add.at(diff, starts - lo, 1)
    np.add.at(diff, ends - lo, -1)
    depth = np.cumsum(diff)[starts - lo]
    if depth.max() <= max_depth:
        return np.ones(len(starts), bool)
    hashes = np.array([crc32(n.encode()) for n in names()], np.float64) / 2.0**32
    return hashes < max_depth / np.maximum(depth, 1)


@dataclass
class Records:
    """The usable reads of a region as read from the file (downsampled where too deep),
    before projection: per-read fields and the concatenated CIGARs, bases and qualities.
    Reading and projecting are separate stages so each can be timed (``--timings``)."""

    starts: np.ndarray  # (R,) int64
    strand: np.ndarray  # (R,) uint8
    mapq: np.ndarray  # (R,) uint8
    cigar_ops: tuple  # (ops, lengths, ops per read), all reads' CIGARs concatenated
    query_codes: np.ndarray  # (Q,) int8 base codes of all reads, concatenated
    query_quals: np.ndarray  # (Q,) uint8
    query_lengths: np.ndarray  # (R,) int64
    # the two mates of one fragment share a key (-1: unpaired or mate elsewhere)
    mate_key: np.ndarray | None = None  # (R,) int64

    @property
    def num_reads(self) -> int:
        return len(self.starts)

    def take(self, idx: np.ndarray) -> "Records":
        """The records at rows ``idx`` (sorted)."""
        ops, lengths, per_read = self.cigar_ops
        first_op = np.cumsum(per_read) - per_read
        op_sel = ranges(first_op[idx], per_read[idx])
        first_base = np.cumsum(self.query_lengths) - self.query_lengths
        base_sel = ranges(first_base[idx], self.query_lengths[idx])
        return Records(self.starts[idx], self.strand[idx], self.mapq[idx],
                       (ops[op_sel], lengths[op_sel], per_read[idx]),
                       self.query_codes[base_sel], self.query_quals[base_sel],
                       self.query_lengths[idx],
                       None if self.mate_key is None else self.mate_key[idx])


def records_from_lists(starts, cigars: list, seqs: list[str], quals: list, strand,
                       mapq) -> Records:
    """Records from per-read Python values (CIGAR tuples, sequence strings, quality bytes)."""
    n = len(starts)
    return Records(np.asarray(starts, np.int64), np.asarray(strand, np.uint8),
                   np.asarray(mapq, np.uint8), _flatten_cigars(cigars),
                   BASE_CODE[np.frombuffer("".join(seqs).encode(), np.uint8)],
                   np.frombuffer(b"".join(quals), np.uint8).copy(),
                   np.fromiter((len(s) for s in seqs), np.int64, n))


class AlignmentSource:
    """One process's reader of a BAM/CRAM, giving regions as :class:`Records` (decoded, or
    through pysam: see the module docstring)."""

    def __init__(self, bam: pysam.AlignmentFile, decode: bool = True):
        self.bam = bam
        self.decoder = BamDecoder.open(bam) if decode else None

    def records(self, contig: str, start: int, end: int, read_filter: ReadFilter) -> Records:
        """Every usable read overlapping ``[start, end)``, downsampled to ``max_depth``."""
        start = max(start, 0)

        def decode(names: bool = False) -> DecodedReads:
            decoded = None
            if self.decoder is not None and read_filter.read_groups is None:
                decoded = self.decoder.decode(contig, start, end, SKIP_FLAGS,
                                              read_filter.min_mapq, DEFAULT_BASEQ, names)
            return decoded if decoded is not None else _fetch(self.bam, contig, start, end,
                                                              read_filter, names)

        decoded = decode()
        records = Records(decoded.starts, ((decoded.flags & REVERSE_FLAG) > 0).astype(np.uint8),
                          decoded.mapq, (decoded.cigar_ops, decoded.cigar_lengths,
                                         decoded.ops_per_read),
                          decoded.codes, decoded.quals, decoded.query_lengths,
                          mate_keys(decoded))
        # names are only needed to downsample, which is rare: a second pass
        keep = _keep_by_depth(records.starts,
                              records.starts + _reference_spans(records.cigar_ops),
                              lambda: decode(names=True).names, read_filter.max_depth)
        return records if keep.all() else records.take(np.flatnonzero(keep))

    def close(self) -> None:
        if self.decoder is not None:
            self.decoder.close()
        self.bam.close()


def mate_keys(decoded: DecodedReads) -> np.ndarray:
    """A key per read that the two mates of one fragment share: its leftmost start and
    template length (-1 for a read without a mate on this contig). Read names would say it
    surely, but decoding them costs a Python string per read."""
    paired = ((decoded.flags & PAIRED_FLAG) > 0) & (decoded.template_lengths != 0)
    left = np.minimum(decoded.starts, decoded.mate_starts)
    key = left * (1 << 24) + np.minimum(np.abs(decoded.template_lengths), (1 << 24) - 1)
    return np.where(paired, key, -1)


def _fetch(bam, contig, start, end, read_filter, names=False) -> DecodedReads:
    """The pysam path: one pass over the records, keeping only the fields the projection
    needs (each attribute costs a conversion per read)."""
    starts, flags, mapqs, cigars, seqs, quals, read_names = [], [], [], [], [], [], []
    mate_starts, template_lengths = [], []
    min_mapq, groups = read_filter.min_mapq, read_filter.read_groups
    for read in bam.fetch(contig, start, end):
        flag = read.flag
        mapq = read.mapping_quality
        if not read_is_usable(flag, mapq, min_mapq) or not in_read_groups(read, groups):
            continue
        cigar = read.cigartuples
        seq = read.query_sequence
        if not cigar or not seq:
            continue
        qual = read.query_qualities
        starts.append(read.reference_start)
        flags.append(flag)
        mapqs.append(mapq)
        cigars.append(cigar)
        seqs.append(seq)
        quals.append(qual if qual is not None else bytes([DEFAULT_BASEQ]) * len(seq))
        same_contig = read.next_reference_id == read.reference_id
        mate_starts.append(read.next_reference_start)
        template_lengths.append(read.template_length if same_contig else 0)
        if names:
            read_names.append(read.query_name)
    records = records_from_lists(starts, cigars, seqs, quals, np.zeros(len(starts)), mapqs)
    ops, lengths, per_read = records.cigar_ops
    return DecodedReads(records.starts, np.asarray(flags, np.uint16), records.mapq, ops,
                        lengths, per_read, records.query_codes, records.query_quals,
                        records.query_lengths, read_names, np.asarray(mate_starts, np.int64),
                        np.asarray(template_lengths, np.int64))


def _flatten_cigars(cigars: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ops, lengths, ops per read) of many reads' CIGAR tuples, concatenated."""
    n = len(cigars)
    op_counts = np.fromiter(map(len, cigars), np.int64, n)
    flat = np.fromiter((x for c in cigars for pair in c for x in pair), np.int64,
                       2 * int(op_counts.sum())).reshape(-1, 2)
    return flat[:, 0], flat[:, 1], op_counts


def _reference_spans(cigar_ops) -> np.ndarray:
    """Reference bases each read covers (its aligned end minus its start)."""
    ops, lens, op_counts = cigar_ops
    read_of_op = np.repeat(np.arange(len(op_counts)), op_counts)
    return np.bincount(read_of_op, weights=lens * REFERENCE_OPS[ops],
                       minlength=len(op_counts)).astype(np.int64)


def chunks_with_reads(bam: pysam.AlignmentFile, chunks: list[Chunk], min_mapq: int
                      ) -> list[Chunk]:
    """The chunks where at least one usable read overlaps."""
    return [chunk for chunk in chunks if any(
        read_is_usable(r.flag, r.mapping_quality, min_mapq)
        for r in bam.fetch(chunk.contig, chunk.start, chunk.end))]
