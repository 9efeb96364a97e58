"""The ``dvcall`` command line: call, train, evaluate, regions, simulate.

Exit codes: 0 success, 1 bad input (a one-line message on stderr), 2 usage error (click),
130 interrupted. Logs and progress go to stderr only; VCF to the output file or stdout.
"""

import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

import click

from dvcall import __version__

EXIT_BAD_INPUT = 1


def _fail(message: str) -> None:
    click.echo(f"dvcall: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _enable_compilation_cache() -> None:
    from dvcall.executables import enable_compilation_cache

    enable_compilation_cache()


def _quiet_htslib(debug: bool) -> None:
    """htslib writes its own warnings to stderr; we report problems ourselves, in one line."""
    if not debug:
        import pysam

        pysam.set_verbosity(0)


_STOP = threading.Event()


def _install_signal_handlers(deferred: bool = False) -> None:
    """SIGTERM behaves like Ctrl-C, so context managers remove temporary files.

    ``deferred``: the handler only records the signal and :func:`_check_stop` raises at the
    next safe point (between chunks). An exception raised straight from a handler can land in
    a garbage-collection callback of JAX's, where Python prints and swallows it.
    """
    def handler(signum, frame):
        if not deferred:
            raise KeyboardInterrupt
        _STOP.set()

    signal.signal(signal.SIGTERM, handler)
    if deferred:
        signal.signal(signal.SIGINT, handler)


def _check_stop() -> None:
    if _STOP.is_set():
        raise KeyboardInterrupt


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dvcall")
def main() -> None:
    """dvcall: germline SNP and indel calling with a differentiable JAX pipeline."""


@main.command("call")
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
    from dvcall.chunks import InputError
    from dvcall.process_setup import hold_to_one_core_per_process, retain_freed_memory

    retain_freed_memory()  # before jax starts its threads and their malloc arenas
    hold_to_one_core_per_process(threads)  # before jax starts its backend
    pool = None
    if threads > 1:  # first: the workers import JAX and load the model while we do
        from dvcall.workers import start_workers

        pool = start_workers(threads - 1, model, bam, ref)
    _install_signal_handlers(deferred=True)
    _quiet_htslib(debug)
    try:
        _run_call(bam, ref, output, regions, bed, model, sample, threads, min_mapq, min_baseq,
                  max_depth, chunk_size, quiet, timings, pool)
    except InputError as exc:
        if debug:
            raise
        _fail(str(exc))
    except KeyboardInterrupt:
        click.echo("dvcall: interrupted; no output written", err=True)
        sys.exit(130)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _run_call(bam, ref, output, regions, bed, model, sample, threads, min_mapq, min_baseq,
              max_depth, chunk_size, quiet, timings_path, pool=None):
    from dvcall.caller import CallOptions, call_chunks, expected_depth, open_inputs
    from dvcall.chunks import (
        Region,
        merge_regions,
        parse_region,
        plan_chunks,
        read_bed,
    )
    from dvcall.executables import Predictor
    from dvcall.reader import ReadFilter
    from dvcall.timing import Timings
    from dvcall.vcf import VcfOutput, build_header

    started = time.perf_counter()
    bam_file, fasta = open_inputs(bam, ref)
    timings = Timings()
    predictor = Predictor(model, timings)
    lengths = dict(zip(fasta.references, fasta.lengths))
    wanted = [parse_region(r, lengths) for r in regions]
    if bed is not None:
        wanted += read_bed(bed, lengths)
    if not wanted:
        wanted = [Region(c, 0, lengths[c]) for c in fasta.references if c in bam_file.references]
    wanted = merge_regions(wanted, list(fasta.references))
    chunks = plan_chunks(wanted, lengths, chunk_size)
    if sample is None:
        groups = bam_file.header.to_dict().get("RG", [])
        names = sorted({g.get("SM") for g in groups if g.get("SM")})
        sample = names[0] if names else Path(bam).stem
    depth = expected_depth(bam_file)
    command = " ".join(shlex.quote(a) for a in ["dvcall", *sys.argv[1:]])
    header = build_header(fasta, ref, sample, command)
    options = CallOptions(ReadFilter(min_mapq, min_baseq, max_depth), chunk_size, threads,
                          timings)
    total_bases = sum(c.end - c.start for c in chunks)
    done = {"bases": 0, "calls": 0}
    show = not quiet

    def progress(chunk, n_calls):
        _check_stop()
        done["bases"] += chunk.end - chunk.start
        done["calls"] += n_calls
        if show:
            pct = 100.0 * done["bases"] / max(total_bases, 1)
            end = "\r" if sys.stderr.isatty() else "\n"
            click.echo(f"dvcall: {pct:5.1f}% {chunk.contig}:{chunk.start + 1}-{chunk.end} "
                       f"{done['calls']} calls", err=True, nl=False)
            click.echo(end, err=True, nl=False)

    _check_stop()
    with VcfOutput(output, header) as out:
        for calls in call_chunks(chunks, bam, ref, predictor, options, depth, progress,
                                 pool=pool):
            with options.timings.stage("write"):
                out.write(calls)
    if timings_path is not None:
        options.timings.write(timings_path, wall_seconds=round(time.perf_counter() - started, 3),
                              bases=total_bases, chunks=len(chunks), threads=threads)
    if show:
        click.echo(f"dvcall: wrote {done['calls']} records for {total_bases:,} bp in "
                   f"{time.perf_counter() - started:.1f} s to {output}", err=True)


@main.command("train")
@click.option("--bam", "bams", multiple=True, type=click.Path(path_type=Path),
              help="BAM/CRAM; repeat with --truth (and --ref) for several pairs")
@click.option("--truth", "truths", multiple=True, type=click.Path(path_type=Path),
              help="truth VCF (bgzipped + indexed), one per --bam")
@click.option("--ref", "refs", multiple=True, type=click.Path(path_type=Path),
              help="FASTA: one for all pairs, or one per --bam")
@click.option("--bed", type=click.Path(path_type=Path), help="train only inside these regions")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="model file to write")
@click.option("--epochs", default=20, show_default=True, type=click.IntRange(1))
@click.option("--learning-rate", default=3e-3, show_default=True, type=float)
@click.option("--from", "init", type=click.Path(path_type=Path), help="fine-tune this model")
@click.option("--resume", is_flag=True, help="continue from OUT.last and OUT.optimizer")
@click.option("--synthetic", is_flag=True, help="the seed's synthetic data; no BAM needed")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--min-mapq", default=1, show_default=True, type=click.IntRange(0, 255))
@click.option("--debug", is_flag=True)
def train_command(bams, truths, refs, bed, out, epochs, learning_rate, init, resume, synthetic,
                  seed, min_mapq, debug):
    """Train a model on BAM + truth VCF pairs; writes OUT (best epoch) and checkpoints."""
    from dvcall.chunks import InputError, open_fasta, read_bed
    from dvcall.model_io import load_model
    from dvcall.reader import ReadFilter
    from dvcall.train import build_examples, train, train_synthetic

    _install_signal_handlers()
    _enable_compilation_cache()
    _quiet_htslib(debug)

    def log(message):
        click.echo(message, err=True)

    if synthetic:
        train_synthetic(out, epochs, learning_rate, seed, log)
        log(f"dvcall: model written to {out}")
        return
    if not bams or len(bams) != len(truths):
        raise click.UsageError("give --bam and --truth, one --truth per --bam")
    if len(refs) not in (1, len(bams)):
        raise click.UsageError("give one --ref, or one per --bam")
    refs = refs * len(bams) if len(refs) == 1 else refs
    try:
        examples = []
        for bam, truth, ref in zip(bams, truths, refs):
            regions = None
            if bed is not None:
                fasta = open_fasta(ref)
                regions = read_bed(bed, dict(zip(fasta.references, fasta.lengths)))
            examples += build_examples(bam, ref, truth, ReadFilter(min_mapq=min_mapq),
                                       regions=regions, log=log)
        model = load_model(init)[0] if init else None
        train(examples, out, epochs, learning_rate, init=model, seed=seed, resume=resume,
              log=log, info={"trained_on": [str(b) for b in bams], "dvcall": __version__})
        log(f"dvcall: model written to {out}")
    except InputError as exc:
        if debug:
            raise
        _fail(str(exc))
    except KeyboardInterrupt:
        log("dvcall: interrupted; the last finished epoch is in the checkpoint (use --resume)")
        sys.exit(130)


@main.command("evaluate")
@click.option("--calls", required=True, type=click.Path(path_type=Path))
@click.option("--truth", required=True, type=click.Path(path_type=Path))
@click.option("--ref", required=True, type=click.Path(path_type=Path))
@click.option("--bed", type=click.Path(path_type=Path), help="confident regions")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="write figures here")
@click.option("--roc", "roc_path", type=click.Path(path_type=Path),
              help="write precision/recall per QUAL threshold (TSV)")
@click.option("--errors", "errors_path", type=click.Path(path_type=Path),
              help="write each genotype-aware FP and FN (TSV)")
@click.option("--all-records", is_flag=True, help="count non-PASS calls too")
@click.option("--debug", is_flag=True, help="show tracebacks and htslib's warnings")
def evaluate_command(calls, truth, ref, bed, json_path, roc_path, errors_path, all_records,
                     debug):
    """Precision, recall and F1 of SNPs and indels against a truth VCF."""
    from dvcall.chunks import InputError
    from dvcall.evaluate import evaluate, format_table, write_errors, write_json, write_roc

    _quiet_htslib(debug)
    try:
        result = evaluate(calls, truth, ref, bed, all_records)
    except InputError as exc:
        if debug:
            raise
        _fail(str(exc))
    click.echo(format_table(result))
    if json_path:
        write_json(result, json_path)
    if roc_path:
        write_roc(result, roc_path)
    if errors_path:
        write_errors(result, errors_path)


@main.command("regions")
@click.option("--ref", required=True, type=click.Path(path_type=Path))
@click.option("--chunk-size", default=1_000_000, show_default=True, type=click.IntRange(1000))
@click.option("--bam", type=click.Path(path_type=Path), help="skip chunks with no reads")
@click.option("--min-mapq", default=1, show_default=True, type=click.IntRange(0, 255))
def regions_command(ref, chunk_size, bam, min_mapq):
    """Print a BED of chunks: the scatter list for Snakemake, Nextflow or a cluster."""
    from dvcall.caller import open_inputs
    from dvcall.chunks import InputError, Region, plan_chunks
    from dvcall.reader import SKIP_FLAGS

    _quiet_htslib(False)
    try:
        if bam is not None:
            bam_file, fasta = open_inputs(bam, ref)
        else:
            from dvcall.chunks import open_fasta

            bam_file, fasta = None, open_fasta(ref)
    except InputError as exc:
        _fail(str(exc))
    lengths = dict(zip(fasta.references, fasta.lengths))
    contigs = [c for c in fasta.references if bam_file is None or c in bam_file.references]
    for chunk in plan_chunks([Region(c, 0, lengths[c]) for c in contigs], lengths, chunk_size):
        if bam_file is not None and not any(
            not (r.flag & SKIP_FLAGS) and r.mapping_quality >= min_mapq
            for r in bam_file.fetch(chunk.contig, chunk.start, chunk.end)
        ):
            continue
        click.echo(f"{chunk.contig}\t{chunk.start}\t{chunk.end}")


@main.command("simulate", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def simulate_command(args):
    """Simulate a genome, truth VCF and aligned reads (see --help of dvcall.simulate)."""
    from dvcall.simulate import main as simulate_main

    simulate_main(list(args))


def run() -> None:
    """The console script: :func:`main`, then exit without the interpreter's teardown of
    JAX and XLA (0.5-0.7 s after the last record, on every run). Outputs are closed and
    renamed into place by then; only the standard streams need flushing."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            click.echo(str(exc.code), err=True)
            code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said there
            code = code or 1
    os._exit(code)


if __name__ == "__main__":
    run()


