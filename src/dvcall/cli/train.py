"""``dvcall train``: fit a model on BAM + truth VCF pairs."""

import math
import sys
from pathlib import Path

import click

from dvcall import __version__
from dvcall.cli.common import (
    EXIT_INTERRUPTED,
    fail,
    fail_unexpected,
    install_signal_handlers,
    log,
    quiet_htslib,
)


@click.command("train")
@click.option("--bam", "bams", multiple=True, type=click.Path(path_type=Path),
              help="BAM/CRAM; repeat with --truth (and --ref) for several pairs")
@click.option("--truth", "truths", multiple=True, type=click.Path(path_type=Path),
              help="truth VCF (bgzipped + indexed), one per --bam")
@click.option("--ref", "refs", multiple=True, type=click.Path(path_type=Path),
              help="FASTA: one for all pairs, or one per --bam")
@click.option("--bed", type=click.Path(path_type=Path),
              help="train only inside these regions  [default: every contig]")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="model file to write (the best epoch; OUT.last and OUT.optimizer are the "
              "checkpoints)")
@click.option("--epochs", default=20, show_default=True, type=click.IntRange(1),
              help="at most this many passes over the training chunks")
@click.option("--learning-rate", default=3e-3, show_default=True, type=float,
              callback=lambda ctx, param, value: _learning_rate(value),
              help="peak learning rate of the cosine schedule (0 < rate <= 1)")
@click.option("--from", "init", type=click.Path(path_type=Path),
              help="fine-tune this model  [default: start from random weights]")
@click.option("--resume", is_flag=True, help="continue from OUT.last and OUT.optimizer")
@click.option("--allele-evidence", is_flag=True,
              help="a new model also sees each candidate's reference and alternative reads "
              "apart (base quality, MAPQ, read end, clips, mismatch load, strand) and "
              "likelihoods from the BAM's measured error rate; calls ~20% slower")
@click.option("--synthetic", is_flag=True, help="the seed's synthetic data; no BAM needed")
@click.option("--seed", default=0, show_default=True, type=int,
              help="random seed of the initial weights and the chunk order")
@click.option("--min-mapq", default=1, show_default=True, type=click.IntRange(0, 255),
              help="reads below this MAPQ are not used")
@click.option("--debug", is_flag=True, help="show tracebacks and htslib's messages")
def train_command(bams, truths, refs, bed, out, epochs, learning_rate, init, resume,
                  allele_evidence, synthetic, seed, min_mapq, debug):
    """Train a model on BAM + truth VCF pairs; writes OUT (best epoch) and checkpoints."""
    from dvcall.errors import InputError
    from dvcall.runtime.cache import enable_compilation_cache

    install_signal_handlers()
    enable_compilation_cache()
    quiet_htslib(debug)
    from dvcall.io.files import check_output_path
    from dvcall.train.loop import checkpoint_paths

    try:
        check_output_path(out, "model", "--out")
        for checkpoint in checkpoint_paths(out):
            check_output_path(checkpoint, "checkpoint", "--out")
    except InputError as exc:
        fail(str(exc))
    if synthetic:
        from dvcall.train.loop import train_synthetic

        train_synthetic(out, epochs, learning_rate, seed, log)
        _say_written(out)
        return
    if allele_evidence and (init or resume):
        raise click.UsageError("--allele-evidence makes a new model; a model given by --from "
                               "or --resume keeps its own inputs")
    if not bams or len(bams) != len(truths):
        raise click.UsageError("give --bam and --truth, one --truth per --bam")
    if len(refs) not in (1, len(bams)):
        raise click.UsageError("give one --ref, or one per --bam")
    refs = refs * len(bams) if len(refs) == 1 else refs
    try:
        from dvcall.io.alignments import ReadFilter
        from dvcall.model.calibration import read_indel_noise, read_snp_noise
        from dvcall.model.model_file import load_model
        from dvcall.postprocess.thresholds import INDEL_NOISE_TRAINED, SNP_NOISE_TRAINED
        from dvcall.train.examples import (
            examples_of_pairs,
            trained_indel_noise,
            trained_snp_noise,
        )
        from dvcall.train.loop import train

        examples = examples_of_pairs(list(zip(bams, truths, refs)), bed,
                                     ReadFilter(min_mapq=min_mapq), log)
        model = load_model(init)[0] if init else None
        # the noisiest BAM the model learnt from, a fine-tuned model's first training included
        noise = trained_indel_noise(examples)
        if init:
            noise = max(noise, read_indel_noise(init) or INDEL_NOISE_TRAINED)
        log(f"indel noise of the noisiest training BAM: {noise:.2e} events per read base")
        # the training BAMs' clean-base noise; a fine-tune's, or its base model's if larger
        snp_noise = trained_snp_noise(examples)
        if init:
            base = read_snp_noise(init) or SNP_NOISE_TRAINED
            snp_noise = base if snp_noise is None else max(snp_noise, base)
        if snp_noise is not None:
            log(f"clean-base noise of the training BAMs: {snp_noise:.2e} per base and "
                "wrong base")
        train(examples, out, epochs, learning_rate, init=model, seed=seed, resume=resume,
              log=log, info={"trained_on": [str(b) for b in bams], "dvcall": __version__},
              allele_evidence=allele_evidence, indel_noise=noise, snp_noise=snp_noise)
        _say_written(out)
    except InputError as exc:
        if debug:
            raise
        fail(str(exc))
    except KeyboardInterrupt:
        log("dvcall: interrupted; the last finished epoch is in the checkpoint (use --resume)")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 -- the one-line promise holds for our bugs too
        if debug:
            raise
        fail_unexpected(exc)


def _say_written(out: Path) -> None:
    if not out.is_file():
        fail(f"{out}: no model was written (no epoch improved on the validation loss)")
    log(f"dvcall: model written to {out}")


def _learning_rate(value: float) -> float:
    if not math.isfinite(value) or not 0 < value <= 1:
        raise click.BadParameter(f"{value} is not a learning rate (0 < rate <= 1)")
    return value
