"""Training examples: chunks of a BAM prepared as for calling, with labels from a truth VCF."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dvcall.features.chunk import prepare_chunk
from dvcall.features.counts import base_counts
from dvcall.features.noise import event_rate, indel_noise_events
from dvcall.io.alignments import AlignmentSource, ReadFilter, expected_depth, open_inputs
from dvcall.io.reference import open_fasta
from dvcall.io.regions import Region, plan_chunks, read_bed
from dvcall.io.truth import open_truth
from dvcall.model.classes import REF
from dvcall.postprocess.snp_rules import clean_error_counts
from dvcall.train.labels import chunk_labels, valid_positions

TRAIN_CHUNK = 10_000


@dataclass
class Example:
    data: dict
    classes: np.ndarray
    genotypes: np.ndarray
    weights: np.ndarray  # 1 where the position can be learnt from (see valid_positions)
    region: str
    source: str  # the BAM it came from
    indel_noise: tuple[float, float]  # (indel events, read bases) where none looks real
    snp_noise: tuple[float, float] = (0.0, 0.0)  # (clean-base mismatches, clean bases)


def build_examples(bam_path: Path, ref_path: Path, truth_path: Path, read_filter: ReadFilter,
                   regions: list[Region] | None = None, chunk_size: int = TRAIN_CHUNK,
                   log: Callable[[str], None] = lambda m: None) -> list[Example]:
    bam, fasta = open_inputs(bam_path, ref_path)
    truth = open_truth(truth_path, fasta.references)
    lengths = dict(zip(fasta.references, fasta.lengths))
    if regions is None:
        regions = [Region(c, 0, lengths[c]) for c in bam.references if c in lengths]
    depth = expected_depth(bam)
    source = AlignmentSource(bam)
    examples, unused = [], Counter()
    for chunk in plan_chunks(regions, lengths, chunk_size):
        prepared = prepare_chunk(source, fasta, chunk, chunk_size, read_filter, depth)
        if prepared is None:
            continue
        classes, genotypes = chunk_labels(truth, chunk, chunk.span(chunk_size),
                                          prepared.ref_text, unused)
        counts = base_counts(prepared.reads, chunk.window_start, chunk.span(chunk_size))
        weights = valid_positions(counts, prepared.data["reference"])
        noise = indel_noise_events(prepared.reads, prepared.indels, chunk.window_start,
                                   chunk.span(chunk_size))
        clean = clean_error_counts(prepared.reads, chunk.window_start,
                                   np.asarray(prepared.data["reference"][: len(classes)]))
        examples.append(Example(prepared.data, classes, genotypes, weights,
                                f"{chunk.contig}:{chunk.start + 1}-{chunk.end}",
                                str(bam_path), noise, clean))
    log(f"{bam_path}: {len(examples)} chunks, depth ~{depth:.1f}x, "
        f"{sum(int((e.classes != REF).sum()) for e in examples)} labelled variant positions")
    if sum(unused.values()):
        log(f"dvcall: warning: {truth_path}: {sum(unused.values())} truth records are not used "
            f"as labels ({', '.join(f'{n} {why}' for why, n in sorted(unused.items()) if n)})")
    return examples


def examples_of_pairs(pairs: list[tuple[Path, Path, Path]], bed: Path | None,
                      read_filter: ReadFilter, log: Callable[[str], None] = lambda m: None
                      ) -> list[Example]:
    """The examples of every (BAM, truth VCF, FASTA) pair, inside ``bed`` when given."""
    examples = []
    for bam, truth, ref in pairs:
        regions = None
        if bed is not None:
            fasta = open_fasta(ref)
            regions = read_bed(bed, dict(zip(fasta.references, fasta.lengths)))
        examples += build_examples(bam, ref, truth, read_filter, regions=regions, log=log)
    return examples


def trained_indel_noise(examples: list[Example]) -> float:
    """The indel noise of the noisiest BAM among the examples (events per read base, pooled
    over its chunks): a BAM the caller meets that is noisier than this is outside what the
    model learnt (:func:`dvcall.postprocess.genotypes.with_read_noise`)."""
    totals: dict[str, list[float]] = {}
    for e in examples:
        total = totals.setdefault(e.source, [0.0, 0.0])
        total[0] += e.indel_noise[0]
        total[1] += e.indel_noise[1]
    return max((float(event_rate(*t)) for t in totals.values()), default=float(event_rate(0, 0)))


def trained_snp_noise(examples: list[Example]) -> float | None:
    """The chance a clean base of the examples shows one given wrong base, pooled over all
    their clean bases (None without any): the noise the model's SNP calls learnt on average
    (:func:`dvcall.postprocess.genotypes.with_read_noise`)."""
    errors = sum(e.snp_noise[0] for e in examples)
    bases = sum(e.snp_noise[1] for e in examples)
    return errors / bases / 3 if bases else None
