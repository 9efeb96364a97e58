"""Calling one chunk: its reads, the model's probabilities, its records."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from dvcall.errors import InputError
from dvcall.features.chunk import ChunkRecords, featurise_chunk, read_chunk
from dvcall.io.alignments import AlignmentSource, ReadFilter
from dvcall.io.regions import Chunk
from dvcall.postprocess.records import Call
from dvcall.postprocess.resolve import resolve_chunk
from dvcall.runtime.timing import Timings


@dataclass
class CallOptions:
    read_filter: ReadFilter
    chunk_size: int
    threads: int = 1
    timings: Timings = field(default_factory=Timings)


def _read_chunk(chunk: Chunk, bam_path: Path, ref_path: Path, options: CallOptions,
                handles: dict) -> ChunkRecords:
    """:func:`read_chunk` on this process's own handles, with the one-line error."""
    try:
        source, fasta = handles.get("source"), handles.get("fasta")
        if source is None:
            source = handles["source"] = AlignmentSource(pysam.AlignmentFile(
                str(bam_path), reference_filename=str(ref_path)))
            fasta = handles["fasta"] = pysam.FastaFile(str(ref_path))
        return read_chunk(source, fasta, chunk, options.chunk_size, options.read_filter,
                          options.timings)
    except (OSError, ValueError) as exc:
        raise InputError(f"{bam_path}: cannot read {chunk.contig}:{chunk.start + 1}-{chunk.end} "
                         f"({exc}); the file is truncated or corrupt, or a CRAM's reference is "
                         "not --ref") from None


def call_chunk(chunk: Chunk, bam_path: Path, ref_path: Path, predictor, options: CallOptions,
               depth: float, handles: dict) -> list[Call]:
    """All calls with POS inside the chunk, sorted."""
    records = _read_chunk(chunk, bam_path, ref_path, options, handles)
    prepared = featurise_chunk(records, options.read_filter, depth, options.timings)
    if prepared is None:
        return []
    with options.timings.stage("core"):
        probs, genotypes = (np.asarray(x) for x in predictor(prepared.data))
    with options.timings.stage("resolve"):
        return resolve_chunk(chunk, prepared, probs, genotypes)
