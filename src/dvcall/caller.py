"""Calling: stream chunks of a BAM/CRAM through the reader, the compiled pipeline and the allele
resolver, yielding sorted calls per chunk."""

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from dvcall.alleles import (
    Call,
    IndelEvidence,
    clean_base_counts,
    clean_snp_p_ref,
    counts_at,
    indel_cells,
    near_indel_evidence,
    normalize_indels,
    resolve_indels,
    resolve_snp,
    runs,
    spanning_depth,
)
from dvcall.chunks import (
    FLANK,
    Chunk,
    InputError,
    model_input,
    open_fasta,
    reference_window,
    repeat_span,
)
from dvcall.executables import Predictor
from dvcall.reader import (
    SKIP_FLAGS,
    AlignmentSource,
    ProjectedReads,
    ReadFilter,
    Records,
    project_records,
)
from dvcall.realign import RealignedSupport, realign_indels
from dvcall.timing import Timings
from dvcall.workers import call_in_worker, start_workers

# Records are written where P(ref) < EMIT_P_REF (QUAL > 0.13) and are LowQual below PASS_QUAL,
# so --roc sweeps have a range. Indels PASS where the posterior favours a variant (P(ref) < 0.5,
# QUAL > 3.01). SNPs PASS from QUAL 1 (P(ref) < 0.79): at 15x the model holds back on hets
# with 2-4 alt reads, and on both held-out sets (seeds 7777, 7778) the cut-offs 0.5-1.5 gave
# 31-32 genotype-aware SNP errors against 37 at 3.01, with none gained at 30x.
EMIT_P_REF = 0.97
PASS_QUAL = {"SNP": 1.0, "INDEL": -10.0 * float(np.log10(0.5))}
MAX_CHUNKS_AHEAD = 16  # per thread: how far past the chunk due this process may work
IN_FLIGHT = 4  # chunks queued per worker, so none waits for this process to hand it one


@dataclass
class CallOptions:
    read_filter: ReadFilter
    chunk_size: int
    threads: int = 1
    timings: Timings = field(default_factory=Timings)


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


def expected_depth(bam: pysam.AlignmentFile, windows: int = 16, width: int = 20_000) -> float:
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
                          if not r.flag & SKIP_FLAGS and r.mapping_quality > 0
                          and r.reference_end is not None)
        except (OSError, ValueError) as exc:
            raise InputError(f"{bam.filename.decode()}: cannot read alignments ({exc}); the "
                             "file is truncated or corrupt, or a CRAM's reference is not --ref"
                             ) from None
        if aligned > 0:
            depths.append(aligned / (hi - lo))
    return float(np.median(depths)) if depths else 30.0


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
    indels = normalize_indels(reads, ref_text, chunk.window_start)
    repeat = repeat_span(ref_codes)
    realigned = realign_indels(reads, indels, ref_text, chunk.window_start, repeat)
    data = model_input(reads, ref_codes, chunk.window_start, depth,
                       indel_cells(reads, indels, chunk.window_start), repeat)
    return PreparedChunk(reads, ref_text, indels, data, realigned)


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
        return _resolve(chunk, prepared, probs, genotypes)


def _resolve(chunk: Chunk, prepared: PreparedChunk, probs: np.ndarray,
             genotypes: np.ndarray) -> list[Call]:
    """Calls with POS inside the chunk from the model's per-position probabilities."""
    ref_text = prepared.ref_text

    def counts(position: int) -> np.ndarray:
        return counts_at(prepared.reads, chunk.window_start, position)

    def spanning(position: int) -> int:
        repeat = int(prepared.data["repeat_span"][position])
        return spanning_depth(prepared.reads, chunk.window_start, position, repeat)

    p_ref = probs[:, 0]
    variant_class = np.argmax(probs[:, 1:], axis=1) + 1
    called = p_ref < EMIT_P_REF
    calls: list[Call] = []
    inside = slice(FLANK, FLANK + chunk.end - chunk.start)
    p_snp, snp_genotypes = _with_clean_snps(chunk, prepared, p_ref, variant_class, genotypes)
    is_snp = (p_snp < EMIT_P_REF) & ((variant_class == 1) | (p_snp < p_ref))
    for p in (np.flatnonzero(is_snp[inside]) + FLANK).tolist():
        call = resolve_snp(chunk.contig, ref_text, p, chunk.window_start, counts(p),
                           float(p_snp[p]), snp_genotypes[p])
        if call is not None:
            calls.append(call)
    for a, b in runs(called & (variant_class == 2)):
        if b < FLANK - 2 or a > FLANK + (chunk.end - chunk.start) + 2:
            continue
        best = a + int(np.argmin(p_ref[a : b + 1]))
        calls.extend(resolve_indels(chunk.contig, ref_text, (a, b), chunk.window_start,
                                    prepared.indels, counts, spanning, float(p_ref[best]),
                                    genotypes[best], prepared.realigned))
    unique = {}
    for call in _drop_snps_in_deleted_bases(calls):
        if chunk.start <= call.pos < chunk.end:
            key = call.sort_key
            if key not in unique or unique[key].qual < call.qual:
                unique[key] = call
    result = sorted(unique.values(), key=lambda c: c.sort_key)
    for call in result:
        call.filters = ["PASS"] if call.qual >= PASS_QUAL[call.kind] else ["LowQual"]
    return result


def _with_clean_snps(chunk: Chunk, prepared: PreparedChunk, p_ref: np.ndarray,
                     variant_class: np.ndarray, genotypes: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(P(ref) for SNPs, genotype probabilities)``: the model's, except where its clean
    bases alone make a SNP more likely than the model does and than SNP PASS needs
    (:func:`clean_snp_p_ref`), away from any read's indel. The classifier saw few hets
    with skewed allele balance: it left a het with 4 clean alternative reads in 22 at
    P(ref) 0.98. Only the model's candidates (P(ref) < 1) are tested."""
    snp_pass = 10.0 ** (-PASS_QUAL["SNP"] / 10.0)
    inside = np.zeros(len(p_ref), bool)
    inside[FLANK : FLANK + chunk.end - chunk.start] = True
    reference = np.asarray(prepared.data["reference"][: len(p_ref)])
    unsure = np.flatnonzero(inside & (p_ref < 1.0) & (reference < 4)
                            & ((p_ref >= snp_pass) | (variant_class != 1)))
    clean = clean_snp_p_ref(clean_base_counts(prepared.reads, chunk.window_start, unsure),
                            reference[unsure])
    sure = (clean < snp_pass) & (clean < p_ref[unsure])
    unsure, clean = unsure[sure], clean[sure]
    away = ~near_indel_evidence(prepared.indels, unsure)
    unsure, clean = unsure[away], clean[away]
    if len(unsure) == 0:
        return p_ref, genotypes
    p_snp, snp_genotypes = p_ref.copy(), np.array(genotypes, copy=True)
    p_snp[unsure] = clean
    snp_genotypes[unsure] = np.stack([clean, 1.0 - clean, np.zeros_like(clean)], axis=1)
    return p_snp, snp_genotypes


def _drop_snps_in_deleted_bases(calls: list[Call]) -> list[Call]:
    """Calls without the SNPs on bases that the deletion calls remove from both haplotypes
    (a hom-alt deletion, or two het deletions over the base: overlapping deletions cannot
    share a haplotype). Reads that the aligner ran through a deletion's edge show such SNPs."""
    deleted = []  # (first, last) base removed, once per haplotype
    for c in calls:
        if c.kind == "INDEL":
            deleted += [span for a in c.genotype if a > 0
                        and (span := _deleted_bases(c.pos, c.ref, c.alts[a - 1])) is not None]
    return [c for c in calls if c.kind != "SNP"
            or sum(lo <= c.pos <= hi for lo, hi in deleted) < 2]


def _deleted_bases(pos: int, ref: str, alt: str) -> tuple[int, int] | None:
    """``(first, last)`` position an ALT deletes (None unless it only deletes): the REF
    bases left once the shared suffix, then the shared prefix, are trimmed."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    prefix = 0
    while prefix < min(len(ref), len(alt)) and ref[prefix] == alt[prefix]:
        prefix += 1
    if prefix != len(alt) or prefix == len(ref):
        return None
    return pos + prefix, pos + len(ref) - 1


def call_chunks(chunks: list[Chunk], bam_path: Path, ref_path: Path, predictor: Predictor,
                options: CallOptions, depth: float,
                progress: Callable[[Chunk, int], None] | None = None,
                pool: ProcessPoolExecutor | None = None) -> Iterator[list[Call]]:
    """Yield each chunk's calls in chunk order.

    With ``options.threads == N > 1`` this process and N - 1 worker processes call chunks, one
    core each (pysam and numpy hold the GIL, so threads would not scale). Each worker loads
    ``predictor``'s model file; the output is the same as with one process. This process takes
    the next chunk itself whenever the one due is not back yet, so it works while the workers
    start (importing JAX and loading the model take seconds).
    ``pool``: workers from :func:`dvcall.workers.start_workers`, when started earlier.
    """
    handles: dict = {}

    def here(chunk: Chunk) -> list[Call]:
        return call_chunk(chunk, bam_path, ref_path, predictor, options, depth, handles)

    if options.threads <= 1:
        for chunk in chunks:
            calls = here(chunk)
            if progress:
                progress(chunk, len(calls))
            yield calls
        return
    if pool is not None:
        yield from _call_with_workers(chunks, here, pool, options, depth, progress)
        return
    with start_workers(options.threads - 1, predictor.path, bam_path, ref_path) as own:
        yield from _call_with_workers(chunks, here, own, options, depth, progress)


def _call_with_workers(chunks: list[Chunk], here: Callable[[Chunk], list[Call]],
                       pool: ProcessPoolExecutor, options: CallOptions, depth: float,
                       progress) -> Iterator[list[Call]]:
    """:func:`call_chunks` with workers: ``here`` calls a chunk in this process."""
    workers = options.threads - 1
    done: dict[int, list[Call] | Future] = {}  # by chunk index, until yielded
    given = 0  # chunks [0, given) are done here or handed to a worker
    try:
        for i, chunk in enumerate(chunks):
            while True:
                busy = sum(1 for r in done.values() if isinstance(r, Future)
                           and not r.done())
                while busy < IN_FLIGHT * workers and given < len(chunks):
                    done[given] = pool.submit(call_in_worker, chunks[given], depth, options)
                    given, busy = given + 1, busy + 1
                due = done.get(i)
                if due is None:  # every earlier chunk is out: this one is ours
                    done[i], given = here(chunk), given + 1
                elif (isinstance(due, Future) and not due.done() and given < len(chunks)
                      and given - i < MAX_CHUNKS_AHEAD * options.threads):
                    done[given], given = here(chunks[given]), given + 1
                    continue
                break
            result = done.pop(i)
            if isinstance(result, Future):
                calls, *counts = result.result()
                options.timings.add(*counts)
            else:
                calls = result
            if progress:
                progress(chunk, len(calls))
            yield calls
    except BaseException:
        for result in done.values():
            if isinstance(result, Future):
                result.cancel()
        raise
