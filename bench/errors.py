"""The genotype-aware errors of one caller on one benchmark set, with the reads at each site.

Says which errors the reads allow a caller to avoid: a het with 0-1 alternative reads, or one
whose reads are nearly all alternative, is missed or called hom by any caller that believes
its reads. Errors are those of ``dvcall evaluate`` (after its haplotype matching); read
counts come from the BAM's pileup (MAPQ >= 1, no duplicates or secondary reads). For an indel
the alternative reads are those whose CIGAR has an indel of the same kind and length
anchored within 10 bp of it.

Usage: python bench/errors.py SET_DIR CALLER [SNP|INDEL]
  SET_DIR holds ref.fa, truth.vcf.gz, reads.bam and CALLER.vcf.gz (as bench/accuracy.sh
  leaves them); dvcall's PASS records are scored, other callers' records all (as there).
Prints one line per error, then the errors counted by alternative reads.
"""

import csv
import sys
from collections import Counter
from pathlib import Path

import pysam

from dvcall.evaluate import evaluate

INDEL_WINDOW = 10


def site_reads(bam: pysam.AlignmentFile, key: tuple) -> tuple[int, int, int]:
    """(reference reads, alternative reads, depth) at a variant ``(contig, POS, REF, ALT)``."""
    contig, pos, ref, alt = key
    if len(ref) == len(alt) == 1:
        counts: Counter = Counter()
        for column in bam.pileup(contig, pos - 1, pos, truncate=True, min_base_quality=0,
                                 min_mapping_quality=1):
            for read in column.pileups:
                if read.is_del or read.is_refskip:
                    counts["-"] += 1
                else:
                    counts[read.alignment.query_sequence[read.query_position]] += 1
        return counts[ref], counts[alt], sum(counts.values())
    kind, length = (1, len(alt) - len(ref)) if len(alt) > len(ref) else (2, len(ref) - len(alt))
    depth = carrying = 0
    for read in bam.fetch(contig, pos - 1, pos):
        if read.is_unmapped or read.is_secondary or read.is_supplementary or \
                read.is_duplicate or read.mapping_quality < 1:
            continue
        depth += 1
        at = read.reference_start
        for op, n in read.cigartuples:
            if op == kind and n == length and abs(at - pos) <= INDEL_WINDOW:
                carrying += 1
                break
            if op in (0, 2, 3, 7, 8):
                at += n
    return depth - carrying, carrying, depth


def unsettled_snp_errors(folder: Path, caller: str) -> tuple[int, int]:
    """``(SNP errors, those at sites whose reads give the truth to no caller that believes
    them)`` of one caller on one set, from its ``CALLER.errors.tsv`` (``dvcall evaluate
    --errors``): a het with 0-1 alternative reads (missed), a het whose reads are all
    alternative (missed, and its hom record false), a hom with 0-1 alternative reads."""
    bam = pysam.AlignmentFile(str(folder / "reads.bam"))
    with open(folder / f"{caller}.errors.tsv") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["type"] == "SNP"]
    unsettled_sites = set()
    for row in rows:
        if row["error"] != "FN":
            continue
        key = (row["contig"], int(row["pos"]), row["ref"], row["alt"])
        ref_reads, alt_reads, _ = site_reads(bam, key)
        if alt_reads <= 1 or (row["genotype"] == "het" and ref_reads == 0):
            unsettled_sites.add(key)
    unsettled = sum((r["contig"], int(r["pos"]), r["ref"], r["alt"]) in unsettled_sites
                    for r in rows)
    return len(rows), unsettled


def main(folder: str, caller: str, kind: str = "SNP") -> None:
    d = Path(folder)
    result = evaluate(d / f"{caller}.vcf.gz", d / "truth.vcf.gz", d / "ref.fa",
                      all_records=caller != "dvcall")
    rows = [(error, (contig, pos, ref, alt), (zygosity, qual))
            for kind_, error, contig, pos, ref, alt, zygosity, qual, _ in result["errors"]
            if kind_ == kind]
    bam = pysam.AlignmentFile(str(d / "reads.bam"))
    bins: Counter = Counter()
    print("error\tcontig\tpos\tref\talt\tgenotype\tqual\tref_reads\talt_reads\tdepth")
    for error, key, (zygosity, qual) in rows:
        ref_reads, alt_reads, depth = site_reads(bam, key)
        quality = "." if qual is None else f"{qual:.1f}"
        print(f"{error}\t{key[0]}\t{key[1]}\t{key[2][:20]}\t{key[3][:20]}\t{zygosity}\t{quality}"
              f"\t{ref_reads}\t{alt_reads}\t{depth}")
        bins[(error, zygosity, min(alt_reads, 4), ref_reads <= 1)] += 1
    print(f"\n{len(rows)} {kind} errors, by error, genotype, alternative reads (4 or more "
          "as 4+) and whether at most one read shows the reference:")
    for (error, zygosity, alt_reads, few_ref), n in sorted(bins.items()):
        print(f"  {error} {zygosity} alt {alt_reads}{'+' if alt_reads == 4 else ''}"
              f"{' ref <= 1' if few_ref else ''}: {n}")


if __name__ == "__main__":
    main(*sys.argv[1:])
