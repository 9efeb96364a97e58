"""Calling one chunk: its reads, the model's probabilities, its records."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from dvcall.errors import InputError
from dvcall.features.chunk import ChunkRecords, featurise_chunk, read_chunk
from dvcall.features.counts import mismatches_against_reference
from dvcall.io.alignments import AlignmentSource, ReadFilter, unreadable
from dvcall.io.ploidy import Ploidy
from dvcall.io.regions import FLANK, Chunk
from dvcall.postprocess.records import Call
from dvcall.postprocess.reference_blocks import (
    Blocks,
    merged_at_one_position,
    reference_blocks,
    reference_confidence,
    with_unobserved_allele,
)
from dvcall.postprocess.resolve import resolve_chunk
from dvcall.runtime.timing import Timings

# Reads that fit their reference differ from it at 0.3-1.5% of bases (errors and variants;
# 0.4% on real HG002 reads); against a wrong reference about 75% do. Judged per chunk on a
# sample of reads, from this many compared bases.
MAX_MISMATCH_SHARE = 0.10
MIN_COMPARED_BASES = 5_000


@dataclass
class CallOptions:
    read_filter: ReadFilter
    chunk_size: int
    threads: int = 1
    timings: Timings = field(default_factory=Timings)
    ploidy: Ploidy = field(default_factory=Ploidy)
    gvcf_band: int | None = None  # GQ band of gVCF reference blocks; None: no gVCF


@dataclass
class ChunkResult:
    """A chunk's VCF records and, when a gVCF is asked for, its gVCF records and blocks."""

    calls: list[Call]
    gvcf_calls: list[Call] = field(default_factory=list)
    blocks: Blocks | None = None


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
        raise InputError(unreadable(bam_path, f"{chunk.contig}:{chunk.start + 1}-{chunk.end}",
                                    exc)) from None


def call_chunk(chunk: Chunk, bam_path: Path, ref_path: Path, predictor, options: CallOptions,
               depth: float, handles: dict) -> ChunkResult:
    """All calls with POS inside the chunk, sorted (and the chunk's gVCF content)."""
    records = _read_chunk(chunk, bam_path, ref_path, options, handles)
    inside = records.ref_text[FLANK : FLANK + chunk.end - chunk.start]
    options.timings.count("iupac_reference_bases",
                          len(inside) - sum(inside.count(b) for b in "ACGTN"))
    prepared = featurise_chunk(records, options.read_filter, depth, options.timings)
    copies = options.ploidy.copies(chunk.contig, chunk.start, chunk.end)
    if prepared is None:
        if options.gvcf_band is None:
            return ChunkResult([])
        n = chunk.end - chunk.start
        empty = (np.zeros(n, np.int64), np.zeros(n), np.zeros(n), np.zeros(n, np.int64))
        return ChunkResult([], [], reference_blocks(chunk, records.ref_text, empty, [], copies,
                                                    options.gvcf_band))
    options.timings.count("reads_used", prepared.reads.num_reads)
    _check_reference_fits(chunk, prepared, records, bam_path, ref_path)
    with options.timings.stage("core"):
        probs, genotypes = (np.asarray(x) for x in predictor(prepared.data))
    with options.timings.stage("resolve"):
        calibration = getattr(predictor, "calibration", None)
        calls = resolve_chunk(chunk, prepared, probs, genotypes, options.ploidy, calibration,
                              getattr(predictor, "indel_noise", None),
                              getattr(predictor, "snp_noise", None))
        if options.gvcf_band is None:
            return ChunkResult(calls)
        gvcf_calls = [with_unobserved_allele(c) for c in merged_at_one_position(calls)]
        confidence = reference_confidence(chunk, prepared, probs, genotypes, copies,
                                          calibration)
        blocks = reference_blocks(chunk, records.ref_text, confidence, gvcf_calls, copies,
                                  options.gvcf_band)
        return ChunkResult(calls, gvcf_calls, blocks)


def _check_reference_fits(chunk: Chunk, prepared, records: ChunkRecords, bam_path: Path,
                          ref_path: Path) -> None:
    """Refuse a chunk whose reads do not fit the reference: every position would be called
    a variant."""
    mismatches, compared = mismatches_against_reference(prepared.reads, records.ref_codes,
                                                        chunk.window_start)
    if compared >= MIN_COMPARED_BASES and mismatches > MAX_MISMATCH_SHARE * compared:
        raise InputError(
            f"{ref_path}: the reads of {bam_path} differ from it at {mismatches / compared:.0%} "
            f"of their bases in {chunk.contig}:{chunk.start + 1}-{chunk.end} (reads aligned to "
            "their own reference differ at about 1%); use the FASTA the reads were aligned to")
