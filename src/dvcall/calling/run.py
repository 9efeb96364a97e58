"""A whole ``dvcall call``: inputs checked, regions planned, chunks called in order, records
written to one VCF."""

import shlex
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import pysam

from dvcall.calling.chunk import CallOptions
from dvcall.calling.scheduler import call_chunks
from dvcall.errors import InputError
from dvcall.io.alignments import (
    ReadFilter,
    check_contig_checksums,
    choose_sample,
    expected_depth,
    filtered_read_counts,
    open_inputs,
    reads_off_reference,
)
from dvcall.io.files import check_output_path
from dvcall.io.ploidy import read_ploidy
from dvcall.io.regions import Chunk, Region, merge_regions, parse_region, plan_chunks, read_bed
from dvcall.io.vcf_writer import (
    GvcfOutput,
    VcfOutput,
    add_gvcf_lines,
    build_header,
    check_vcf_path,
)
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
    gvcf: str | None = None  # also write this gVCF, in the same pass
    gvcf_band: int = 5  # GQ band of its reference blocks
    haploid_contigs: str | None = None  # comma-separated: one copy (a male's chrX, chrY)
    par_regions: Path | None = None  # BED: stay diploid on the haploid contigs


@dataclass
class CallSummary:
    records: int
    bases: int
    chunks: int
    seconds: float


def planned_chunks(request: CallRequest, fasta: pysam.FastaFile,
                   bam: pysam.AlignmentFile) -> list[Chunk]:
    """The chunks of the requested regions (every contig the BAM and FASTA share when none
    is asked for), in reference order, overlaps merged. A BED without intervals gives none."""
    lengths = dict(zip(fasta.references, fasta.lengths))
    wanted = [parse_region(r, lengths) for r in request.regions]
    if request.bed is not None:
        wanted += read_bed(request.bed, lengths)
    elif not wanted:
        wanted = [Region(c, 0, lengths[c]) for c in fasta.references if c in bam.references]
    wanted = merge_regions(wanted, list(fasta.references))
    return plan_chunks(wanted, lengths, request.chunk_size)


def input_warnings(request: CallRequest, bam: pysam.AlignmentFile, fasta: pysam.FastaFile,
                   chunks: list[Chunk]) -> list[str]:
    """What makes this run's result probably incomplete, said before calling: reads on
    contigs the FASTA lacks, a BED with nothing in it."""
    notes = []
    if request.bed is not None and not request.regions and not chunks:
        notes.append(f"{request.bed}: no regions in the BED; nothing is called (the VCF has "
                     "only its header)")
    if not request.regions and request.bed is None:
        missing = reads_off_reference(bam, fasta)
        if missing:
            listed = ", ".join(f"{name} ({count:,} reads)" for name, count in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            notes.append(f"{request.bam}: reads on contigs that {request.ref} lacks are not "
                         f"called: {listed}{more}")
    return notes


def result_warnings(request: CallRequest, bam: pysam.AlignmentFile, chunks: list[Chunk],
                    counts: dict[str, int]) -> list[str]:
    """What makes this run's result probably wrong, found while calling: no usable read, or
    reference bases that are IUPAC codes (no variant is called at them)."""
    notes = []
    if chunks and not counts.get("reads_used"):
        reasons = filtered_read_counts(bam, chunks, request.read_filter.min_mapq)
        if not reasons:
            notes.append(f"{request.bam}: no reads in the called regions; the VCF has no "
                         "records")
        else:
            listed = ", ".join(f"{n:,} {why}" for why, n in reasons.items() if n)
            notes.append(f"{request.bam}: every read in the called regions was filtered out "
                         f"({listed}); the VCF has no records")
    iupac = counts.get("iupac_reference_bases", 0)
    if iupac:
        notes.append(f"{request.ref}: {iupac:,} bases of the called regions are IUPAC codes "
                     "(R, Y, K, ...); they are called as N, so no variant is called there")
    return notes


def call_to_vcf(request: CallRequest, pool: ProcessPoolExecutor | None = None,
                progress: Callable[[Chunk, int, int], None] | None = None,
                before_writing: Callable[[], None] | None = None,
                warn: Callable[[str], None] = lambda message: None,
                announce: Callable[[str], None] | None = None) -> CallSummary:
    """Call ``request``'s regions into its output VCF. ``pool``: calling workers started
    earlier (:func:`dvcall.calling.worker.start_calling_workers`); ``progress(chunk, records,
    total bases)`` after each chunk; ``before_writing()`` once the inputs are checked;
    ``warn(line)`` for each thing that makes the result probably wrong or incomplete (those
    known before calling also go into the VCF header); ``announce(line)`` for slow steps."""
    started = time.perf_counter()
    check_vcf_path(request.output)
    if request.gvcf is not None:
        check_vcf_path(request.gvcf, "--gvcf")
        if request.gvcf == "-" or not request.gvcf.endswith((".gz", ".bgz")):
            raise InputError(f"{request.gvcf}: --gvcf must be a bgzipped file (.g.vcf.gz), "
                             "so it can be indexed")
        if request.output != "-" and Path(request.gvcf).resolve() == Path(
                request.output).resolve():
            raise InputError(f"{request.gvcf}: --gvcf and -o name the same file")
    if request.timings_path is not None:
        check_output_path(request.timings_path, "timings", "--timings")
    bam_file, fasta = open_inputs(request.bam, request.ref)
    lengths = dict(zip(fasta.references, fasta.lengths))
    ploidy = read_ploidy(request.haploid_contigs, request.par_regions, lengths)
    sample = choose_sample(bam_file, request.bam, request.sample)
    read_filter = replace(request.read_filter, read_groups=sample.read_groups)
    timings = Timings()
    predictor = Predictor(request.model, timings, announce=announce)
    chunks = planned_chunks(request, fasta, bam_file)
    check_contig_checksums(bam_file, fasta, request.bam, request.ref, {c.contig for c in chunks})
    depth = expected_depth(bam_file, read_groups=sample.read_groups)
    command = " ".join(shlex.quote(a) for a in ["dvcall", *sys.argv[1:]])
    notes = input_warnings(request, bam_file, fasta, chunks)
    for note in notes:
        warn(note)
    header = build_header(fasta, request.ref, sample.name, command, PASS_QUAL, notes,
                          [sample.note] if sample.note else [])
    options = CallOptions(read_filter, request.chunk_size, request.threads, timings, ploidy,
                          request.gvcf_band if request.gvcf is not None else None)
    total_bases = sum(c.end - c.start for c in chunks)
    records = 0

    def report(chunk: Chunk, count: int) -> None:
        if progress:
            progress(chunk, count, total_bases)

    if before_writing:
        before_writing()
    try:
        with ExitStack() as outputs:
            out = outputs.enter_context(VcfOutput(request.output, header))
            gvcf = None if request.gvcf is None else outputs.enter_context(
                GvcfOutput(request.gvcf, add_gvcf_lines(header), fasta))
            for result in call_chunks(chunks, request.bam, request.ref, predictor, options,
                                      depth, report, pool=pool):
                with options.timings.stage("write"):
                    records += out.write(result.calls)
                    if gvcf is not None:
                        gvcf.write_chunk(result.gvcf_calls, result.blocks)
    except OSError as exc:
        failed = exc.filename or request.output
        raise InputError(f"{failed}: cannot write ({exc.strerror or exc}); nothing was left "
                         "at the output path") from None
    seconds = time.perf_counter() - started
    if request.timings_path is not None:
        try:
            options.timings.write(request.timings_path, wall_seconds=round(seconds, 3),
                                  bases=total_bases, chunks=len(chunks),
                                  threads=request.threads)
        except OSError as exc:
            raise InputError(f"{request.timings_path}: cannot write the timings "
                             f"({exc.strerror or exc}); the VCF is complete") from None
    for note in result_warnings(request, bam_file, chunks, options.timings.counts):
        warn(note)
    return CallSummary(records, total_bases, len(chunks), seconds)
