"""Both VCFs normalised by ``bcftools norm`` into one record per allele."""

import tempfile
from pathlib import Path

import pysam
import pysam.bcftools

from dvcall.errors import InputError
from dvcall.io.alignments import contig_name_mismatch
from dvcall.io.regions import Region


def tool_message(exc: pysam.utils.SamtoolsError) -> str:
    """The last line a bcftools/samtools call wrote to stderr, without pysam's wrapping."""
    text = str(getattr(exc, "value", exc))
    text = text.split("stderr=", 1)[-1]
    lines = [line.strip() for line in text.replace("\\n", "\n").splitlines() if line.strip()]
    return (lines[-1] if lines else text)[:200]


def check_contigs(path: Path, fasta: pysam.FastaFile) -> None:
    """Refuse a VCF whose records lie on contigs the reference does not name, naming the
    pair that differs (bcftools would only say 'faidx_fetch_seq failed')."""
    try:
        with pysam.VariantFile(str(path)) as vf:
            first = next(iter(vf), None)
    except (OSError, ValueError, StopIteration) as exc:
        raise InputError(f"{path}: not a readable VCF ({exc})") from None
    if first is not None and first.contig not in fasta.references:
        raise InputError(f"{path}: contig '{first.contig}' is not in the reference ("
                         f"{contig_name_mismatch([first.contig], list(fasta.references), 'VCF')}"
                         "); use a VCF and a reference with the same contig names")


def normalized_alleles(path: Path, ref: Path, regions: list[Region] | None,
                        pass_only: bool) -> dict[tuple, tuple]:
    """{(contig, pos, ref, alt): genotype-key} after splitting and left-normalising."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "norm.vcf"
        try:
            pysam.bcftools.norm("-f", str(ref), "-a", "--atom-overlaps", ".", "-m", "-any",
                                "-c", "w", "-o", str(out),
                                str(path), catch_stdout=False)
        except pysam.utils.SamtoolsError as exc:
            raise InputError(f"{path}: bcftools norm failed ({tool_message(exc)})") from None
        alleles = {}
        with pysam.VariantFile(str(out)) as vf:
            for rec in vf:
                if pass_only and rec.filter.keys() and "PASS" not in rec.filter.keys():
                    continue
                if regions is not None and not any(
                    r.contig == rec.contig and r.start <= rec.pos - 1 < r.end for r in regions
                ):
                    continue
                alt = rec.alts[0] if rec.alts else None
                if alt is None or alt.startswith("<") or alt == "*":
                    continue
                sample = next(iter(rec.samples.values())) if rec.samples else None
                gt = sample.get("GT") if sample is not None else None
                if gt is None or all(a in (0, None) for a in gt):
                    if gt is not None:
                        continue
                    gt = (0, 1)
                # after -m -any the split ALT is allele 1: a het with another ALT reads (1, 0)
                zygosity = "hom" if all(a not in (0, None) for a in gt) else "het"
                alleles[(rec.contig, rec.pos, rec.ref, alt)] = (zygosity, rec.qual)
    return alleles


def variant_kind(key: tuple) -> str:
    """'SNP' or 'INDEL' of a normalised ``(contig, POS, REF, ALT)``."""
    return "SNP" if len(key[2]) == len(key[3]) == 1 else "INDEL"
