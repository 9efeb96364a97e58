"""One chunk from the files to the model's input: read, project, featurise. ``dvcall call`` and
``dvcall train`` both prepare chunks here, so training sees exactly what calling sees."""

from dataclasses import dataclass

import numpy as np
import pysam

from dvcall.features.indels import IndelEvidence, indel_cells, normalize_indels
from dvcall.features.model_input import model_input
from dvcall.features.projection import ProjectedReads, project_records
from dvcall.features.realign import RealignedSupport, realign_indels
from dvcall.features.repeats import repeat_span
from dvcall.io.alignments import AlignmentSource, ReadFilter, Records
from dvcall.io.reference import reference_window
from dvcall.io.regions import Chunk
from dvcall.runtime.timing import Timings


@dataclass
class PreparedChunk:
    """Everything known about one chunk before the model runs."""

    reads: ProjectedReads
    ref_text: str
    indels: IndelEvidence
    data: dict  # the pipeline's padded input
    realigned: RealignedSupport


@dataclass
class ChunkRecords:
    """A chunk's reference window and reads as read, before projection."""

    chunk: Chunk
    span: int
    ref_text: str
    ref_codes: np.ndarray
    records: Records


def read_chunk(source: AlignmentSource, fasta: pysam.FastaFile, chunk: Chunk,
               chunk_size: int, read_filter: ReadFilter,
               timings: Timings | None = None) -> ChunkRecords:
    """The file-reading part of a chunk."""
    timings = timings or Timings()
    with timings.stage("read"):
        span = chunk.span(chunk_size)
        ref_text, ref_codes = reference_window(fasta, chunk, span)
        records = source.records(chunk.contig, chunk.window_start,
                                 min(chunk.window_start + span, chunk.contig_length), read_filter)
    return ChunkRecords(chunk, span, ref_text, ref_codes, records)


def featurise_chunk(records: ChunkRecords, read_filter: ReadFilter, depth: float,
                    timings: Timings | None = None) -> PreparedChunk | None:
    """Project and featurise a chunk's reads (None when it has no usable reads)."""
    timings = timings or Timings()
    with timings.stage("project"):
        reads = project_records(records.records, read_filter)
        if reads.num_reads == 0:
            return None
        return _featurise(reads, records.ref_text, records.ref_codes, records.chunk,
                          records.span, depth)


def prepare_chunk(source: AlignmentSource, fasta: pysam.FastaFile, chunk: Chunk,
                  chunk_size: int, read_filter: ReadFilter, depth: float,
                  timings: Timings | None = None) -> PreparedChunk | None:
    """Read, project and featurise one chunk (None when it has no usable reads)."""
    return featurise_chunk(read_chunk(source, fasta, chunk, chunk_size, read_filter, timings),
                           read_filter, depth, timings)


def _featurise(reads, ref_text, ref_codes, chunk, span, depth) -> PreparedChunk:
    repeat = repeat_span(ref_codes)
    indels = normalize_indels(reads, ref_text, chunk.window_start, repeat)
    realigned = realign_indels(reads, indels, ref_text, chunk.window_start, repeat)
    realigned.mask_explained(reads)
    data = model_input(reads, ref_codes, chunk.window_start, depth,
                       indel_cells(reads, indels, chunk.window_start), repeat)
    return PreparedChunk(reads, ref_text, indels, data, realigned)
