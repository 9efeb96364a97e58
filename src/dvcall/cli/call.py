"""``dvcall call``: BAM/CRAM + FASTA -> a sorted, genotyped VCF."""

import sys
from pathlib import Path

import click

from dvcall.cli.common import (
    EXIT_INTERRUPTED,
    check_stop,
    fail,
    install_signal_handlers,
    quiet_htslib,
)


@click.command("call")
@click.option("--bam", required=True, type=click.Path(path_type=Path), help="BAM or CRAM, indexed")
@click.option("--ref", required=True, type=click.Path(path_type=Path), help="FASTA (with .fai)")
@click.option("-o", "--output", default="-", show_default=True,
              help="x.vcf.gz (bgzip + .tbi), x.vcf, or - for stdout")
@click.option("--region", "regions", multiple=True, help="CONTIG[:START-END], repeatable")
@click.option("--regions", "bed", type=click.Path(path_type=Path), help="BED of regions")
@click.option("--model", type=click.Path(path_type=Path), help="model file (default: packaged)")
@click.option("--sample", help="sample name (default: @RG SM of the BAM)")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 256),
              help="cores to use: N processes of one core each")
@click.option("--min-mapq", default=1, show_default=True, type=click.IntRange(0, 255))
@click.option("--min-baseq", default=0, show_default=True, type=click.IntRange(0, 93))
@click.option("--max-depth", default=1000, show_default=True, type=click.IntRange(1))
@click.option("--chunk-size", default=50_000, show_default=True, type=click.IntRange(1000))
@click.option("--quiet", is_flag=True, help="no progress on stderr")
@click.option("--timings", type=click.Path(path_type=Path),
              help="write per-stage seconds, jit compilations and executables loaded "
                   "(JSON) here")
@click.option("--debug", is_flag=True, help="show tracebacks")
def call_command(bam, ref, output, regions, bed, model, sample, threads, min_mapq, min_baseq,
                 max_depth, chunk_size, quiet, timings, debug):
    """Call SNPs and indels from BAM/CRAM + FASTA into a sorted, genotyped VCF."""
    from dvcall.errors import InputError
    from dvcall.runtime.process_setup import hold_to_one_core_per_process, retain_freed_memory

    retain_freed_memory()  # before jax starts its threads and their malloc arenas
    hold_to_one_core_per_process(threads)  # before jax starts its backend
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
                              ReadFilter(min_mapq, min_baseq, max_depth), chunk_size, timings)
        progress = _Progress(show=not quiet)
        summary = call_to_vcf(request, pool, progress, before_writing=check_stop)
        if not quiet:
            click.echo(f"dvcall: wrote {summary.records} records for {summary.bases:,} bp in "
                       f"{summary.seconds:.1f} s to {output}", err=True)
    except InputError as exc:
        if debug:
            raise
        fail(str(exc))
    except KeyboardInterrupt:
        click.echo("dvcall: interrupted; no output written", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


class _Progress:
    """Per chunk: stop if a signal came; on stderr, the share done and the records so far."""

    def __init__(self, show: bool):
        self.show, self.bases, self.records = show, 0, 0

    def __call__(self, chunk, records: int, total_bases: int) -> None:
        check_stop()
        self.bases += chunk.end - chunk.start
        self.records += records
        if self.show:
            pct = 100.0 * self.bases / max(total_bases, 1)
            end = "\r" if sys.stderr.isatty() else "\n"
            click.echo(f"dvcall: {pct:5.1f}% {chunk.contig}:{chunk.start + 1}-{chunk.end} "
                       f"{self.records} calls", err=True, nl=False)
            click.echo(end, err=True, nl=False)
