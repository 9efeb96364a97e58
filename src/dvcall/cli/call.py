"""``dvcall call``: BAM/CRAM + FASTA -> a sorted, genotyped VCF."""

import os
import sys
import time
from pathlib import Path

import click

from dvcall.cli.common import (
    EXIT_INTERRUPTED,
    check_stop,
    fail,
    fail_unexpected,
    install_signal_handlers,
    quiet_htslib,
    sample_name_option,
    started,
    warn,
)


@click.command("call")
@click.option("--bam", required=True, type=click.Path(path_type=Path),
              help="BAM or CRAM, coordinate-sorted and indexed")
@click.option("-f", "--ref", required=True, type=click.Path(path_type=Path),
              help="FASTA the reads were aligned to (plain or bgzip, with .fai)")
@click.option("-o", "--output", default="-", show_default=True,
              help="x.vcf.gz or x.vcf.bgz (bgzip + .tbi), x.bcf (+ .csi), x.vcf, or - for "
                   "stdout")
@click.option("-r", "--region", "regions", multiple=True,
              help="CONTIG[:START-END], 1-based, repeatable; an end past the contig is "
                   "clipped  [default: every contig of BAM and FASTA]")
@click.option("-R", "--regions-file", "--regions", "bed", type=click.Path(path_type=Path),
              help="BED of regions to call  [default: none]")
@click.option("--model", type=click.Path(path_type=Path),
              help="model file  [default: the packaged model]")
@click.option("-s", "--sample", callback=sample_name_option,
              help="the sample to call where the read groups name several (only its reads "
                   "are used), else the name to give it  [default: the BAM's @RG SM, else "
                   "the file's name]")
@click.option("--gvcf", help="also write this gVCF (x.g.vcf.gz, bgzip + .tbi) in the same pass "
                             "[default: none]")
@click.option("--gvcf-gq-bin", default=5, show_default=True, type=click.IntRange(1, 100),
              help="width of the GQ bands of gVCF reference blocks")
@click.option("--haploid-contigs", help="comma-separated contigs with one copy, e.g. chrX,chrY "
                                        "for a male  [default: none]")
@click.option("--par-regions", type=click.Path(path_type=Path),
              help="BED of pseudo-autosomal regions: diploid on the haploid contigs "
                   "[default: none]")
@click.option("-@", "--threads", default=1, show_default=True, type=click.IntRange(1, 256),
              help="cores to use: N processes of one core each")
@click.option("--min-mapq", default=1, show_default=True, type=click.IntRange(0, 255),
              help="reads below this MAPQ are not used")
@click.option("--min-baseq", default=0, show_default=True, type=click.IntRange(0, 93),
              help="bases below this quality count as N (0: the learned filter weighs them)")
@click.option("--max-depth", default=1000, show_default=True, type=click.IntRange(1),
              help="downsample deeper positions to this depth (deterministic, by read name)")
@click.option("--chunk-size", default=50_000, show_default=True, type=click.IntRange(1000),
              help="bases per work unit")
@click.option("--quiet", is_flag=True, help="no progress on stderr (warnings still)")
@click.option("--timings", type=click.Path(path_type=Path),
              help="write per-stage seconds, jit compilations, executables loaded and reads "
                   "used (JSON) here  [default: none]")
@click.option("--debug", is_flag=True, help="show tracebacks and htslib's messages")
def call_command(bam, ref, output, regions, bed, model, sample, gvcf, gvcf_gq_bin,
                 haploid_contigs, par_regions, threads, min_mapq, min_baseq, max_depth,
                 chunk_size, quiet, timings, debug):
    """Call SNPs and indels from BAM/CRAM + FASTA into a sorted, genotyped VCF."""
    from dvcall.errors import InputError
    from dvcall.runtime.process_setup import hold_to_one_core_per_process, retain_freed_memory

    retain_freed_memory()  # before jax starts its threads and their malloc arenas
    hold_to_one_core_per_process(threads)  # before jax starts its backend
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if cores and threads > cores:
        warn(f"--threads {threads} is more than the {cores} cores this process may use; "
             "the extra processes only share them")
    pool = None
    if threads > 1:  # first: the workers import JAX and load the model while we do
        from dvcall.calling.worker import start_calling_workers

        pool = start_calling_workers(threads - 1, model, bam, ref)
    install_signal_handlers(deferred=True)
    quiet_htslib(debug)
    try:
        from dvcall.calling.run import CallRequest, call_to_vcf
        from dvcall.io.alignments import ReadFilter

        request = CallRequest(bam, ref, output, regions, bed, model, sample, threads,
                              ReadFilter(min_mapq, min_baseq, max_depth), chunk_size, timings,
                              gvcf, gvcf_gq_bin, haploid_contigs, par_regions)
        summary = call_to_vcf(request, pool, _Progress(show=not quiet),
                              before_writing=check_stop, warn=warn,
                              announce=None if quiet else warn_plain)
        if not quiet:
            click.echo(f"dvcall: wrote {summary.records} records for {summary.bases:,} bp in "
                       f"{time.perf_counter() - started:.1f} s to {output}", err=True)
    except InputError as exc:
        if debug:
            raise
        fail(str(exc))
    except KeyboardInterrupt:
        click.echo("dvcall: interrupted; no output written", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 -- the one-line promise holds for our bugs too
        if debug:
            raise
        fail_unexpected(exc)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def warn_plain(message: str) -> None:
    click.echo(f"dvcall: {message}", err=True)


class _Progress:
    """Per chunk: stop if a signal came; on stderr, the share done, the records so far and,
    on a terminal, the time left."""

    def __init__(self, show: bool):
        self.show, self.bases, self.records = show, 0, 0
        self.since = time.perf_counter()

    def __call__(self, chunk, records: int, total_bases: int) -> None:
        check_stop()
        self.bases += chunk.end - chunk.start
        self.records += records
        if not self.show:
            return
        pct = 100.0 * self.bases / max(total_bases, 1)
        line = (f"dvcall: {pct:5.1f}% {chunk.contig}:{chunk.start + 1}-{chunk.end} "
                f"{self.records} calls")
        if sys.stderr.isatty():
            elapsed = time.perf_counter() - self.since
            left = elapsed * (total_bases - self.bases) / max(self.bases, 1)
            click.echo(f"{line}, {_clock(left)} left   \r", err=True, nl=False)
        else:
            click.echo(line, err=True)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
