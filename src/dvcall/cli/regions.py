"""``dvcall regions``: the scatter list (a BED of chunks) for Snakemake, Nextflow or a cluster."""

from pathlib import Path

import click

from dvcall.cli.common import fail, quiet_htslib


@click.command("regions")
@click.option("-f", "--ref", required=True, type=click.Path(path_type=Path),
              help="the FASTA whose contigs are cut")
@click.option("--chunk-size", default=1_000_000, show_default=True, type=click.IntRange(1000),
              help="bases per region")
@click.option("--bam", type=click.Path(path_type=Path),
              help="skip regions without usable reads  [default: keep all]")
@click.option("--min-mapq", default=1, show_default=True, type=click.IntRange(0, 255),
              help="with --bam: reads below this MAPQ do not count")
def regions_command(ref, chunk_size, bam, min_mapq):
    """Print a BED of chunks: the scatter list for Snakemake, Nextflow or a cluster."""
    from dvcall.errors import InputError
    from dvcall.io.alignments import chunks_with_reads, open_inputs
    from dvcall.io.reference import open_fasta
    from dvcall.io.regions import Region, plan_chunks

    quiet_htslib(False)
    try:
        if bam is not None:
            bam_file, fasta = open_inputs(bam, ref)
        else:
            bam_file, fasta = None, open_fasta(ref)
    except InputError as exc:
        fail(str(exc))
    lengths = dict(zip(fasta.references, fasta.lengths))
    contigs = [c for c in fasta.references if bam_file is None or c in bam_file.references]
    chunks = plan_chunks([Region(c, 0, lengths[c]) for c in contigs], lengths, chunk_size)
    if bam_file is not None:
        chunks = chunks_with_reads(bam_file, chunks, min_mapq)
    for chunk in chunks:
        click.echo(f"{chunk.contig}\t{chunk.start}\t{chunk.end}")
