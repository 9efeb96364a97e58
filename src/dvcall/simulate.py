"""Simulate a diploid genome, its truth VCF and aligned short reads (for tests and training).

The genome is random sequence salted with what makes calling hard: homopolymers, short tandem
repeats and a segmental duplication. Variants are het and hom SNPs and indels (up to
``max_indel`` bp, enriched in repeats, some clustered). Reads come from a real simulator
(``art_illumina`` or ``dwgsim``, Debian packages) and are aligned with ``bwa mem``; the truth is
left-normalised with ``bcftools norm`` (pysam's bundled copy). Everything is seeded.

    python -m dvcall.simulate --out DIR --contigs 120000,80000 --coverage 30 --seed 1
"""

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam
import pysam.bcftools
import pysam.samtools

from dvcall.encoding import BASES
from dvcall.features.indels import left_normalize_deletion, left_normalize_insertion

BASE_BYTES = np.frombuffer(BASES.encode(), dtype=np.uint8)


@dataclass
class Variant:
    contig: str
    pos: int  # 0-based position of REF's first base
    ref: str
    alt: str
    genotype: tuple[int, int]


def random_genome(rng: np.random.Generator, length: int) -> bytearray:
    """Random sequence with homopolymers, STRs and one segmental duplication."""
    seq = bytearray(BASE_BYTES[rng.integers(0, 4, size=length)].tobytes())
    for _ in range(length // 400):  # homopolymers 6-20 bp
        start, size = int(rng.integers(0, length - 30)), int(rng.integers(6, 21))
        seq[start : start + size] = bytes([BASE_BYTES[rng.integers(0, 4)]]) * size
    for _ in range(length // 600):  # STRs: 2-6 bp units, 4-12 copies
        unit = BASE_BYTES[rng.integers(0, 4, size=int(rng.integers(2, 7)))].tobytes()
        rep = unit * int(rng.integers(4, 13))
        start = int(rng.integers(0, length - len(rep) - 1))
        seq[start : start + len(rep)] = rep
    if length >= 20000:  # one segmental duplication, ~1% diverged
        size = min(4000, length // 10)
        src = int(rng.integers(0, length // 2 - size))
        dst = int(rng.integers(length // 2, length - size))
        copy = bytearray(seq[src : src + size])
        for i in rng.choice(size, size // 100, replace=False):
            copy[i] = BASE_BYTES[(np.searchsorted(BASE_BYTES, copy[i]) + rng.integers(1, 4)) % 4]
        seq[dst : dst + size] = copy
    return seq


def _in_repeat(seq: bytearray, pos: int) -> bool:
    window = seq[max(pos - 3, 0) : pos + 4]
    return len(set(window)) <= 2


def random_variants(
    rng: np.random.Generator,
    contig: str,
    seq: bytearray,
    snp_rate: float,
    indel_rate: float,
    max_indel: int,
    hom_fraction: float,
) -> list[Variant]:
    """Non-overlapping variants, also once normalised; indels prefer repeats; some sites come
    in clusters."""
    length, text = len(seq), seq.decode()
    positions = np.arange(50, length - 50)
    sites = set(rng.choice(positions, int(length * snp_rate), replace=False).tolist())
    clusters = rng.choice(sorted(sites), max(len(sites) // 20, 1), replace=False)
    sites.update(int(s) + int(d) for s in clusters for d in rng.integers(3, 12, size=2))
    repeat_sites = [p for p in range(50, length - 50, 7) if _in_repeat(seq, p)]
    n_indels = int(length * indel_rate)
    indel_sites = set(rng.choice(np.arange(50, length - 50), n_indels // 2, replace=False).tolist())
    if repeat_sites:
        indel_sites.update(rng.choice(repeat_sites, n_indels - n_indels // 2).tolist())
    variants, last_end = [], -1
    kinds = sorted([(p, "snp") for p in sites] + [(p, "indel") for p in indel_sites])
    for pos, kind in kinds:
        pos = int(pos)
        if pos <= last_end + 1 or pos >= length - max_indel - 2:
            continue
        hom = rng.random() < hom_fraction
        genotype = (1, 1) if hom else ((0, 1) if rng.random() < 0.5 else (1, 0))
        ref_base = chr(seq[pos])
        if ref_base not in BASES:
            continue
        if kind == "snp":
            alt = BASES.replace(ref_base, "")[rng.integers(0, 3)]
            variants.append(Variant(contig, pos, ref_base, alt, genotype))
            last_end = pos
            continue
        size = int(min(max_indel, 1 + rng.geometric(0.35)))
        if rng.random() < 0.5:  # deletion
            ref = seq[pos : pos + size + 1].decode()
            variant, end = Variant(contig, pos, ref, ref_base, genotype), pos + size
        else:
            context = seq[pos + 1 : pos + 1 + size].decode()  # repeat expansion when in a repeat
            inserted = context if _in_repeat(seq, pos) and len(context) == size else ""
            if not inserted:
                inserted = BASE_BYTES[rng.integers(0, 4, size=size)].tobytes().decode()
            variant, end = Variant(contig, pos, ref_base, ref_base + inserted, genotype), pos
        # Drawn in full before this test, so a skipped indel leaves every later draw as it was.
        if _normalized_start(text, variant) <= last_end + 1:
            continue
        variants.append(variant)
        last_end = end
    return variants


def _normalized_start(text: str, variant: Variant) -> int:
    """Where ``bcftools norm`` moves an indel: left through its repeat, against the reference.

    An indel whose normalised place reaches back to the previous variant cannot be written as
    a truth record: normalising moves it across that variant (a SNP in the homopolymer the
    deletion leaves, say), and the record then spells another haplotype than the reads carry.
    """
    if len(variant.ref) > len(variant.alt):
        return left_normalize_deletion(text, variant.pos, len(variant.ref) - 1)[0]
    return left_normalize_insertion(text, variant.pos, variant.alt[1:])[0]


def haplotype(seq: bytearray, variants: list[Variant], which: int) -> bytes:
    out, cursor = [], 0
    for v in variants:
        if v.genotype[which] == 0:
            continue
        out.append(bytes(seq[cursor : v.pos]))
        out.append(v.alt.encode())
        cursor = v.pos + len(v.ref)
    out.append(bytes(seq[cursor:]))
    return b"".join(out)


def write_fasta(path: Path, records: dict[str, bytes]) -> None:
    with open(path, "w") as fh:
        for name, seq in records.items():
            fh.write(f">{name}\n")
            text = seq.decode() if isinstance(seq, bytes | bytearray) else seq
            for i in range(0, len(text), 60):
                fh.write(text[i : i + 60] + "\n")


def write_truth(path: Path, ref_fa: Path, contigs: dict[str, int], variants: list[Variant]) -> None:
    raw = path.with_suffix(".raw.vcf")
    with open(raw, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        for name, length in contigs.items():
            fh.write(f"##contig=<ID={name},length={length}>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ttruth\n")
        for v in variants:
            gt = f"{v.genotype[0]}|{v.genotype[1]}"
            fh.write(f"{v.contig}\t{v.pos + 1}\t.\t{v.ref}\t{v.alt}\t.\tPASS\t.\tGT\t{gt}\n")
    normed = path.with_suffix(".norm.vcf")
    pysam.bcftools.norm("-f", str(ref_fa), "-o", str(normed), str(raw), catch_stdout=False)
    pysam.bcftools.sort("-Oz", "-o", str(path), str(normed), catch_stdout=False)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    raw.unlink()
    normed.unlink()


ART_PROFILES = {  # art_illumina's sequencer profiles and their longest read
    "HS25": 150, "HSXt": 150, "HS20": 100, "HS10": 100, "MSv3": 250, "MSv1": 250, "NS50": 75,
}


def simulate_reads(hap_fa: Path, prefix: Path, coverage: float, seed: int, simulator: str,
                   read_length: int, art_profile: str = "HS25",
                   dwgsim_error: str = "0.002-0.01") -> tuple[Path, Path]:
    """Paired reads from one haplotype; returns the two FASTQ paths. ``art_profile``: the
    sequencer art_illumina imitates; ``dwgsim_error``: dwgsim's per-base error rate, one value
    or FIRST-LAST rising along the read."""
    if simulator == "art":
        subprocess.run(
            ["art_illumina", "-ss", art_profile, "-p", "-na", "-i", str(hap_fa), "-l",
             str(read_length),
             "-f", str(coverage), "-m", "350", "-s", "40", "-rs", str(seed), "-o", str(prefix)],
            check=True, stdout=subprocess.DEVNULL,
        )
        return Path(f"{prefix}1.fq"), Path(f"{prefix}2.fq")
    subprocess.run(
        ["dwgsim", "-z", str(seed), "-C", str(coverage), "-1", str(read_length), "-2",
         str(read_length), "-d", "350", "-s", "40", "-e", dwgsim_error, "-E", dwgsim_error,
         "-r", "0", "-y", "0", str(hap_fa), str(prefix)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return Path(f"{prefix}.bwa.read1.fastq.gz"), Path(f"{prefix}.bwa.read2.fastq.gz")


def align(ref_fa: Path, fastqs: list[tuple[Path, Path]], bam: Path, sample: str, threads: int):
    subprocess.run(["bwa", "index", str(ref_fa)], check=True, stderr=subprocess.DEVNULL)
    sams = []
    for i, (r1, r2) in enumerate(fastqs):
        sam = bam.with_suffix(f".{i}.sam")
        with open(sam, "w") as out:
            subprocess.run(
                ["bwa", "mem", "-t", str(threads), "-R", f"@RG\\tID:{sample}.{i}\\tSM:{sample}",
                 str(ref_fa), str(r1), str(r2)],
                check=True, stdout=out, stderr=subprocess.DEVNULL,
            )
        sams.append(sam)
    merged = bam.with_suffix(".unsorted.bam")
    pysam.samtools.merge("-f", "-o", str(merged), *map(str, sams), catch_stdout=False)
    pysam.samtools.sort("-o", str(bam), str(merged), catch_stdout=False)
    pysam.samtools.index(str(bam))
    for path in sams + [merged]:
        path.unlink()
    for ext in (".amb", ".ann", ".bwt", ".pac", ".sa"):
        Path(str(ref_fa) + ext).unlink(missing_ok=True)


def simulate(out: Path, contig_lengths: list[int], coverage: float, seed: int,
             simulator: str = "art", snp_rate: float = 1e-3, indel_rate: float = 2.5e-4,
             max_indel: int = 30, hom_fraction: float = 0.4, read_length: int = 150,
             prefix: str = "chr", sample: str = "sample", threads: int = 2,
             art_profile: str = "HS25", dwgsim_error: str = "0.002-0.01") -> dict[str, Path]:
    """Write ``ref.fa(.fai)``, ``truth.vcf.gz(.tbi)`` and ``reads.bam(.bai)`` under ``out``."""
    if simulator == "art" and art_profile not in ART_PROFILES:
        sys.exit(f"simulate: '{art_profile}' is not an art_illumina profile "
                 f"({', '.join(ART_PROFILES)})")
    if simulator == "art" and read_length > ART_PROFILES[art_profile]:
        sys.exit(f"simulate: art_illumina's {art_profile} profile reads at most "
                 f"{ART_PROFILES[art_profile]} bases; give --read-length "
                 f"{ART_PROFILES[art_profile]} or less")
    packages = {"bwa": "bwa", "art_illumina": "art-nextgen-simulation-tools", "dwgsim": "dwgsim"}
    for tool in ("bwa", "art_illumina" if simulator == "art" else "dwgsim"):
        if shutil.which(tool) is None:
            sys.exit(f"simulate: '{tool}' not found; install it (Debian: apt-get install "
                     f"{packages[tool]})")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    genome = {f"{prefix}{i + 1}": random_genome(rng, n) for i, n in enumerate(contig_lengths)}
    variants = {name: random_variants(rng, name, seq, snp_rate, indel_rate, max_indel,
                                      hom_fraction) for name, seq in genome.items()}
    ref_fa = out / "ref.fa"
    write_fasta(ref_fa, genome)
    pysam.faidx(str(ref_fa))
    truth = out / "truth.vcf.gz"
    write_truth(truth, ref_fa, {k: len(v) for k, v in genome.items()},
                [v for name in genome for v in variants[name]])
    work = out / "tmp"
    work.mkdir(exist_ok=True)
    fastqs = []
    for which in (0, 1):
        hap_fa = work / f"hap{which}.fa"
        write_fasta(hap_fa, {n: haplotype(genome[n], variants[n], which) for n in genome})
        fastqs.append(simulate_reads(hap_fa, work / f"hap{which}_", coverage / 2,
                                     seed * 10 + which, simulator, read_length, art_profile,
                                     dwgsim_error))
    bam = out / "reads.bam"
    align(ref_fa, fastqs, bam, sample, threads)
    shutil.rmtree(work)
    return {"ref": ref_fa, "truth": truth, "bam": bam}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dvcall simulate",
                                     description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    parser.add_argument("--contigs", default="120000,80000", help="comma-separated lengths")
    parser.add_argument("--coverage", type=float, default=30.0, help="mean read depth")
    parser.add_argument("--seed", type=int, default=1, help="random seed of genome and reads")
    parser.add_argument("--simulator", choices=("art", "dwgsim"), default="art",
                        help="read simulator: art_illumina or dwgsim")
    parser.add_argument("--art-profile", choices=sorted(ART_PROFILES), default="HS25",
                        help="the sequencer art_illumina imitates (HS25: HiSeq 2500, HSXt: "
                             "HiSeq X, HS20: HiSeq 2000, MSv3: MiSeq v3, NS50: NextSeq 500)")
    parser.add_argument("--dwgsim-error", default="0.002-0.01",
                        help="dwgsim's per-base error rate: one value, or FIRST-LAST rising "
                             "along the read")
    parser.add_argument("--read-length", type=int, default=150, help="bases per read")
    parser.add_argument("--max-indel", type=int, default=30, help="longest indel drawn")
    parser.add_argument("--snp-rate", type=float, default=1e-3, help="SNPs per base")
    parser.add_argument("--indel-rate", type=float, default=2.5e-4, help="indels per base")
    parser.add_argument("--prefix", default="chr", help="contig names: PREFIX1, PREFIX2, ...")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="threads for the simulator and bwa")
    args = parser.parse_args(argv)
    paths = simulate(args.out, [int(float(x)) for x in args.contigs.split(",")], args.coverage,
                     args.seed, args.simulator, args.snp_rate, args.indel_rate, args.max_indel,
                     read_length=args.read_length, prefix=args.prefix, threads=args.threads,
                     art_profile=args.art_profile, dwgsim_error=args.dwgsim_error)
    for key, path in paths.items():
        print(f"{key}\t{path}")


if __name__ == "__main__":
    main()
