"""Regions and chunks: what part of the genome a run covers and how it is cut into work units.

A chunk is ``[start, end)`` on one contig, processed with ``flank`` bases of context on each
side so a call near a chunk edge sees the same reads and features as in one piece; only calls
with POS inside ``[start, end)`` are kept, so each record is written exactly once.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from dvcall.errors import InputError

FLANK = 300  # >= read span + classifier window: reads and features at the edges are complete


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


def parse_region(text: str, lengths: dict[str, int]) -> Region:
    """``chr``, ``chr:start-end`` (1-based, inclusive, commas allowed) -> Region; an end past
    the contig is its end."""
    match = re.fullmatch(r"(.+?)(?::([\d,]+)(?:-([\d,]+))?)?", text.strip())
    if match is None:
        raise InputError(f"--region '{text}': expected CONTIG or CONTIG:START-END")
    if match.group(1) not in lengths and text not in lengths and Path(text).is_file():
        raise InputError(f"--region '{text}' is a file; give a BED of regions with "
                         f"-R/--regions {text}")
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
    if start < 1 or start > end or start > length:
        raise InputError(f"--region '{text}': start must be >= 1, <= end and <= {length} "
                         f"(the length of {contig})")
    return Region(contig, start - 1, min(end, length))  # clipped to the contig, as samtools


def read_bed(path: Path, lengths: dict[str, int], option: str = "--regions") -> list[Region]:
    """The intervals of a BED file (``track``, ``browser`` and ``#`` lines skipped)."""
    regions = []
    try:
        fh = open(path)
    except OSError as exc:
        hint = ""
        if re.fullmatch(r"[^:\s]+:[\d,]+(-[\d,]+)?", str(path)):
            hint = f"; for one region use -r/--region {path}"
        raise InputError(f"{path}: cannot read the BED file of {option} "
                         f"({exc.strerror.lower()}){hint}") from None
    with fh:
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
