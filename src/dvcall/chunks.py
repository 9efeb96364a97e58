"""Regions and chunks: what part of the genome a run covers and how it is cut into work units.

A chunk is ``[start, end)`` on one contig, processed with ``flank`` bases of context on each
side so a call near a chunk edge sees the same reads and features as in one piece; only calls
with POS inside ``[start, end)`` are kept, so each record is written exactly once.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

from dvcall.reader import BASE_CODE, DELETION, NO_BASE, ProjectedReads
from dvcall.shapes import bucket_size

DEFAULT_CHUNK = 50_000
FLANK = 300  # >= read span + classifier window: reads and features at the edges are complete


class InputError(Exception):
    """Bad input from the user: the message is one line naming the file and the fix."""


@dataclass(frozen=True)
class Region:
    contig: str
    start: int  # 0-based, inclusive
    end: int  # exclusive


@dataclass(frozen=True)
class Chunk:
    index: int
    contig: str
    start: int
    end: int
    contig_length: int

    @property
    def window_start(self) -> int:
        return self.start - FLANK

    def span(self, chunk_size: int) -> int:
        return chunk_size + 2 * FLANK


def open_fasta(ref_path: Path) -> pysam.FastaFile:
    """Open an indexed FASTA (pysam makes the .fai when the folder is writable)."""
    ref_path = Path(ref_path)
    if not ref_path.exists():
        raise InputError(f"{ref_path}: reference FASTA not found")
    try:
        return pysam.FastaFile(str(ref_path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{ref_path}: cannot read as an indexed FASTA ({exc}); check the file "
                         f"or index it with 'samtools faidx {ref_path}'") from None


def parse_region(text: str, lengths: dict[str, int]) -> Region:
    """``chr``, ``chr:start-end`` (1-based, inclusive, commas allowed) -> Region."""
    match = re.fullmatch(r"(.+?)(?::([\d,]+)(?:-([\d,]+))?)?", text.strip())
    if match is None:
        raise InputError(f"--region '{text}': expected CONTIG or CONTIG:START-END")
    contig = match.group(1)
    if contig not in lengths:
        if text in lengths:
            contig, match = text, None
        else:
            raise InputError(f"--region '{text}': contig '{contig}' is not in the reference; "
                             f"known contigs: {', '.join(list(lengths)[:5])}...")
    length = lengths[contig]
    if match is None or match.group(2) is None:
        return Region(contig, 0, length)
    start = int(match.group(2).replace(",", ""))
    end = int(match.group(3).replace(",", "")) if match.group(3) else length
    if start < 1 or start > end or end > length:
        raise InputError(f"--region '{text}': start must be >= 1, <= end and end <= {length} "
                         f"(the length of {contig})")
    return Region(contig, start - 1, end)


def read_bed(path: Path, lengths: dict[str, int]) -> list[Region]:
    regions = []
    with open(path) as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.rstrip("\n").split("\t")
            try:
                contig, start, end = fields[0], int(fields[1]), int(fields[2])
            except (IndexError, ValueError):
                raise InputError(
                    f"{path}:{number}: not a BED line (CONTIG<TAB>START<TAB>END)"
                ) from None
            if contig not in lengths:
                raise InputError(f"{path}:{number}: contig '{contig}' is not in the reference")
            if start < 0 or start >= end or end > lengths[contig]:
                raise InputError(f"{path}:{number}: interval {start}-{end} is empty or outside "
                                 f"{contig} (length {lengths[contig]})")
            regions.append(Region(contig, start, end))
    return regions


def merge_regions(regions: list[Region], order: list[str]) -> list[Region]:
    """Sort by reference order and merge overlaps, so no position is called twice."""
    rank = {name: i for i, name in enumerate(order)}
    merged: list[Region] = []
    for r in sorted(regions, key=lambda r: (rank[r.contig], r.start)):
        if merged and merged[-1].contig == r.contig and r.start <= merged[-1].end:
            merged[-1] = Region(r.contig, merged[-1].start, max(merged[-1].end, r.end))
        else:
            merged.append(r)
    return merged


def plan_chunks(regions: list[Region], lengths: dict[str, int], chunk_size: int) -> list[Chunk]:
    chunks = []
    for region in regions:
        for start in range(region.start, region.end, chunk_size):
            end = min(start + chunk_size, region.end)
            chunks.append(Chunk(len(chunks), region.contig, start, end, lengths[region.contig]))
    return chunks


def reference_window(fasta: pysam.FastaFile, chunk: Chunk, span: int) -> tuple[str, np.ndarray]:
    """The chunk's reference with flanks, as text and as codes padded with N to ``span``."""
    lo = max(chunk.window_start, 0)
    hi = min(chunk.window_start + span, chunk.contig_length)
    text = fasta.fetch(chunk.contig, lo, hi).upper()
    codes = np.full(span, 4, np.int8)
    offset = lo - chunk.window_start
    codes[offset : offset + len(text)] = BASE_CODE[np.frombuffer(text.encode(), np.uint8)]
    padded = "N" * offset + text + "N" * (span - offset - len(text))
    return padded, codes


MAX_REPEAT_UNIT = 6


def repeat_span(reference_codes: np.ndarray) -> np.ndarray:
    """``(L,)``: how far right of each position an indel anchored there can slide and stay
    the same haplotype -- the length of the tandem repeat (units of 1..6 bp) that follows, or
    1 outside repeats. Reads must cover it to tell such an indel's alleles apart."""
    length = len(reference_codes)
    span = np.ones(length, np.int32)
    index = np.arange(length)
    for unit in range(1, MAX_REPEAT_UNIT + 1):
        same = np.zeros(length, bool)
        same[unit:] = (reference_codes[unit:] == reference_codes[:-unit]) & (
            reference_codes[unit:] < 4)
        # run[j]: how many positions from j on continue the period-`unit` repeat, from the
        # next break at or after j (a reversed running minimum: no search per position)
        next_break = np.where(same, length, index)
        next_break = np.minimum.accumulate(next_break[::-1])[::-1]
        run = next_break - index
        after = np.minimum(index + 1 + unit, length - 1)
        extent = unit + run[after]
        span = np.maximum(span, np.where(run[after] >= 1, extent, 1))
    return span


def flag_counts(codes: np.ndarray, positions: np.ndarray, cells, length: int) -> np.ndarray:
    """The evidence input ``flag_counts`` ``(L, 3)``: per position, the reads with an
    insertion, a deletion start, a soft clip there. ``cells`` holds a ``(rows, cols)`` pair
    per kind, the flagged read columns; ``positions`` each read's first column on the
    window. As the model counts per-base flags: a cell counts once, and only on a base
    (codes 0-5)."""
    out = np.zeros((length, 3), np.float32)
    width = codes.shape[1]
    for kind, (rows, cols) in enumerate(cells):
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
        inside = (cols >= 0) & (cols < width)
        rows, cols = np.divmod(np.unique(rows[inside] * width + cols[inside]), width)
        at = positions[rows] + cols
        keep = (codes[rows, cols] <= DELETION) & (at >= 0) & (at < length)
        out[:, kind] = np.bincount(at[keep], minlength=length)
    return out


def model_input(reads: ProjectedReads, reference_codes: np.ndarray, window_start: int,
                expected_depth: float, indel_cells, repeat: np.ndarray | None = None) -> dict:
    """The pipeline's data dict for one chunk, padded to bucketed shapes. ``indel_cells``
    are the (rows, cols) of insertions and of deletion starts at their left-normalised
    anchors (:func:`dvcall.alleles.indel_cells`); with the soft clips they go in counted per
    position (``flag_counts``), and deletions need no array (the codes hold them)."""
    rows = bucket_size(reads.num_reads, minimum=64)
    width = reads.codes.shape[1]
    length = len(reference_codes)
    n = reads.num_reads
    positions = np.zeros(rows, np.int32)
    positions[:n] = reads.starts - window_start
    data = {
        "reads": np.full((rows, width), NO_BASE, np.int8),
        "quality": np.zeros((rows, width), np.uint8),
        "positions": positions,
        "strand": np.zeros(rows, np.float32),
        "mapping_quality": np.zeros(rows, np.float32),
        "read_mask": np.zeros(rows, np.float32),
        "reference": reference_codes,
        "repeat_span": repeat_span(reference_codes) if repeat is None else repeat,
        "expected_depth": np.float32(expected_depth),
        "flag_counts": flag_counts(reads.codes, positions, (*indel_cells, (
            reads.clip_read, reads.clip_col)), length),
    }
    data["reads"][:n] = reads.codes
    data["quality"][:n] = reads.quality
    data["strand"][:n] = reads.strand
    data["mapping_quality"][:n] = reads.mapq
    data["read_mask"][:n] = 1.0
    return data
