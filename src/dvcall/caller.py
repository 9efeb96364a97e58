"""Calling: stream chunks of a BAM/CRAM through the reader, the jitted pipeline and the allele
resolver, yielding sorted calls per chunk."""

import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
import pysam
from flax import nnx

from dvcall.alleles import (
    Call,
    IndelEvidence,
    base_counts,
    indel_channels,
    normalize_indels,
    resolve_indels,
    resolve_snp,
    runs,
)
from dvcall.chunks import FLANK, Chunk, InputError, model_input, reference_window
from dvcall.reader import ProjectedReads, ReadFilter, fetch_reads

PASS_QUAL = 10.0


@dataclass
class CallOptions:
    read_filter: ReadFilter
    chunk_size: int
    threads: int = 1


def open_inputs(bam_path: Path, ref_path: Path) -> tuple[pysam.AlignmentFile, pysam.FastaFile]:
    """Open BAM/CRAM and FASTA, with one-line errors for the common mistakes."""
    ref_path, bam_path = Path(ref_path), Path(bam_path)
    if not ref_path.exists():
        raise InputError(f"{ref_path}: reference FASTA not found")
    try:
        fasta = pysam.FastaFile(str(ref_path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{ref_path}: cannot read as an indexed FASTA ({exc}); check the file "
                         f"or index it with 'samtools faidx {ref_path}'") from None
    if not bam_path.exists():
        raise InputError(f"{bam_path}: alignment file not found")
    try:
        bam = pysam.AlignmentFile(str(bam_path), reference_filename=str(ref_path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{bam_path}: not a readable BAM/CRAM ({exc})") from None
    if not bam.has_index():
        raise InputError(f"{bam_path}: no index found; create one with 'samtools index "
                         f"{bam_path}'")
    fasta_lengths = dict(zip(fasta.references, fasta.lengths))
    for name, length in zip(bam.references, bam.lengths):
        if name in fasta_lengths and fasta_lengths[name] != length:
            raise InputError(f"{bam_path}: contig '{name}' has length {length} in the BAM header "
                             f"but {fasta_lengths[name]} in {ref_path}; use the reference the "
                             "reads were aligned to")
    if not set(bam.references) & set(fasta_lengths):
        raise InputError(f"{bam_path}: no contig name is shared with {ref_path} (BAM has "
                         f"'{bam.references[0] if bam.references else '-'}', FASTA has "
                         f"'{fasta.references[0]}'); use the reference the reads were aligned to")
    return bam, fasta


def expected_depth(bam: pysam.AlignmentFile, sample_reads: int = 2000) -> float:
    """Mean depth from the index's mapped-read counts and the mean aligned read length."""
    mapped = sum(s.mapped for s in bam.get_index_statistics())
    genome = sum(bam.lengths)
    lengths = []
    for read in bam.fetch(until_eof=True):
        if not read.is_unmapped and read.reference_length:
            lengths.append(read.reference_length)
        if len(lengths) >= sample_reads:
            break
    if not lengths or not genome:
        return 30.0
    return max(mapped * float(np.mean(lengths)) / genome, 1.0)


def make_predictor(pipeline) -> Callable[[dict], tuple[np.ndarray, np.ndarray]]:
    """A jitted ``data -> (class probabilities, genotype probabilities)`` for one chunk."""
    graphdef, state = nnx.split(pipeline)

    @jax.jit
    def predict(state, data):
        model = nnx.merge(graphdef, state)
        result, _, _ = model.apply(data, {}, None)
        return result["probabilities"], result["genotype_probabilities"]

    def run(data: dict) -> tuple[np.ndarray, np.ndarray]:
        probs, genotypes = predict(state, data)
        return np.asarray(probs), np.asarray(genotypes)

    return run


@dataclass
class PreparedChunk:
    """Everything known about one chunk before the model runs."""

    reads: ProjectedReads
    ref_text: str
    indels: IndelEvidence
    counts: np.ndarray  # (span, 6) raw A C G T N DEL counts
    data: dict  # the pipeline's padded input


def prepare_chunk(bam: pysam.AlignmentFile, fasta: pysam.FastaFile, chunk: Chunk,
                  chunk_size: int, read_filter: ReadFilter, depth: float) -> PreparedChunk | None:
    """Read, project and featurise one chunk (None when it has no usable reads)."""
    span = chunk.span(chunk_size)
    ref_text, ref_codes = reference_window(fasta, chunk, span)
    reads = fetch_reads(bam, chunk.contig, max(chunk.window_start, 0),
                        min(chunk.window_start + span, chunk.contig_length), read_filter)
    if reads.num_reads == 0:
        return None
    indels = normalize_indels(reads, ref_text, chunk.window_start)
    insertions, deletion_starts = indel_channels(reads, indels, chunk.window_start)
    data = model_input(reads, ref_codes, chunk.window_start, depth, insertions, deletion_starts)
    return PreparedChunk(reads, ref_text, indels, base_counts(reads, chunk.window_start, span),
                         data)


def call_chunk(chunk: Chunk, bam_path: Path, ref_path: Path, predictor, options: CallOptions,
               depth: float, handles: dict) -> list[Call]:
    """All calls with POS inside the chunk, sorted."""
    bam, fasta = handles.get("bam"), handles.get("fasta")
    if bam is None:
        bam = handles["bam"] = pysam.AlignmentFile(str(bam_path), reference_filename=str(ref_path))
        fasta = handles["fasta"] = pysam.FastaFile(str(ref_path))
    prepared = prepare_chunk(bam, fasta, chunk, options.chunk_size, options.read_filter, depth)
    if prepared is None:
        return []
    probs, genotypes = predictor(prepared.data)
    ref_text, counts = prepared.ref_text, prepared.counts
    p_ref = probs[:, 0]
    variant_class = np.argmax(probs[:, 1:], axis=1) + 1
    called = p_ref < 0.5
    calls: list[Call] = []
    inside = slice(FLANK, FLANK + chunk.end - chunk.start)
    for p in (np.flatnonzero(called[inside] & (variant_class[inside] == 1)) + FLANK).tolist():
        call = resolve_snp(chunk.contig, ref_text, p, chunk.window_start, counts,
                           float(p_ref[p]), genotypes[p])
        if call is not None:
            calls.append(call)
    for a, b in runs(called & (variant_class == 2)):
        if b < FLANK - 2 or a > FLANK + (chunk.end - chunk.start) + 2:
            continue
        best = a + int(np.argmin(p_ref[a : b + 1]))
        calls.extend(resolve_indels(chunk.contig, ref_text, (a, b), chunk.window_start,
                                    prepared.indels, counts, float(p_ref[best]), genotypes[best]))
    unique = {}
    for call in calls:
        if chunk.start <= call.pos < chunk.end:
            key = call.sort_key
            if key not in unique or unique[key].qual < call.qual:
                unique[key] = call
    result = sorted(unique.values(), key=lambda c: c.sort_key)
    for call in result:
        call.filters = ["PASS"] if call.qual >= PASS_QUAL else ["LowQual"]
    return result


def call_chunks(chunks: list[Chunk], bam_path: Path, ref_path: Path, pipeline,
                options: CallOptions, depth: float,
                progress: Callable[[Chunk, int], None] | None = None) -> Iterator[list[Call]]:
    """Yield each chunk's calls in chunk order; chunks run on ``options.threads`` threads."""
    predictor = make_predictor(pipeline)
    import threading

    local = threading.local()

    def work(chunk: Chunk) -> list[Call]:
        if not hasattr(local, "handles"):
            local.handles = {}
        return call_chunk(chunk, bam_path, ref_path, predictor, options, depth, local.handles)

    if options.threads <= 1:
        for chunk in chunks:
            calls = work(chunk)
            if progress:
                progress(chunk, len(calls))
            yield calls
        return
    with ThreadPoolExecutor(max_workers=options.threads) as pool:
        window = options.threads * 2
        futures = [pool.submit(work, c) for c in chunks[:window]]
        for i, chunk in enumerate(chunks):
            calls = futures[i].result()
            if i + window < len(chunks):
                futures.append(pool.submit(work, chunks[i + window]))
            if progress:
                progress(chunk, len(calls))
            yield calls


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
