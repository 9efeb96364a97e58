"""A whole ``dvcall call``: inputs checked, regions planned, chunks called in order, records
written to one VCF."""

import shlex
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from dvcall.calling.chunk import CallOptions
from dvcall.calling.scheduler import call_chunks
from dvcall.io.alignments import ReadFilter, expected_depth, open_inputs
from dvcall.io.regions import Chunk, Region, merge_regions, parse_region, plan_chunks, read_bed
from dvcall.io.vcf_writer import VcfOutput, build_header
from dvcall.model.predictor import Predictor
from dvcall.postprocess.thresholds import PASS_QUAL
from dvcall.runtime.timing import Timings


@dataclass
class CallRequest:
    """What a user asked ``dvcall call`` for."""

    bam: Path
    ref: Path
    output: str  # x.vcf.gz, x.vcf or - (stdout)
    regions: tuple[str, ...] = ()  # CONTIG[:START-END]
    bed: Path | None = None
    model: Path | None = None  # None: the shipped model
    sample: str | None = None  # None: the BAM's @RG SM, else the file's name
    threads: int = 1
    read_filter: ReadFilter = field(default_factory=ReadFilter)
    chunk_size: int = 50_000
    timings_path: Path | None = None


@dataclass
class CallSummary:
    records: int
    bases: int
    chunks: int
    seconds: float


def sample_name(bam: pysam.AlignmentFile, bam_path: Path) -> str:
    """The first @RG SM of the header, else the file's name without its extension."""
    groups = bam.header.to_dict().get("RG", [])
    names = sorted({g.get("SM") for g in groups if g.get("SM")})
    return names[0] if names else Path(bam_path).stem


def planned_chunks(request: CallRequest, fasta: pysam.FastaFile,
                   bam: pysam.AlignmentFile) -> list[Chunk]:
    """The chunks of the requested regions (every contig the BAM and FASTA share when none
    is given), in reference order, overlaps merged."""
    lengths = dict(zip(fasta.references, fasta.lengths))
    wanted = [parse_region(r, lengths) for r in request.regions]
    if request.bed is not None:
        wanted += read_bed(request.bed, lengths)
    if not wanted:
        wanted = [Region(c, 0, lengths[c]) for c in fasta.references if c in bam.references]
    wanted = merge_regions(wanted, list(fasta.references))
    return plan_chunks(wanted, lengths, request.chunk_size)


def call_to_vcf(request: CallRequest, pool: ProcessPoolExecutor | None = None,
                progress: Callable[[Chunk, int, int], None] | None = None,
                before_writing: Callable[[], None] | None = None) -> CallSummary:
    """Call ``request``'s regions into its output VCF. ``pool``: calling workers started
    earlier (:func:`dvcall.calling.worker.start_calling_workers`); ``progress(chunk, records,
    total bases)`` after each chunk; ``before_writing()`` once the inputs are checked."""
    started = time.perf_counter()
    bam_file, fasta = open_inputs(request.bam, request.ref)
    timings = Timings()
    predictor = Predictor(request.model, timings)
    chunks = planned_chunks(request, fasta, bam_file)
    sample = request.sample if request.sample is not None else sample_name(bam_file, request.bam)
    depth = expected_depth(bam_file)
    command = " ".join(shlex.quote(a) for a in ["dvcall", *sys.argv[1:]])
    header = build_header(fasta, request.ref, sample, command, PASS_QUAL)
    options = CallOptions(request.read_filter, request.chunk_size, request.threads, timings)
    total_bases = sum(c.end - c.start for c in chunks)
    records = 0

    def report(chunk: Chunk, count: int) -> None:
        if progress:
            progress(chunk, count, total_bases)

    if before_writing:
        before_writing()
    with VcfOutput(request.output, header) as out:
        for calls in call_chunks(chunks, request.bam, request.ref, predictor, options, depth,
                                 report, pool=pool):
            with options.timings.stage("write"):
                records += out.write(calls)
    seconds = time.perf_counter() - started
    if request.timings_path is not None:
        options.timings.write(request.timings_path, wall_seconds=round(seconds, 3),
                              bases=total_bases, chunks=len(chunks), threads=request.threads)
    return CallSummary(records, total_bases, len(chunks), seconds)
