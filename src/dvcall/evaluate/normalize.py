"""Both VCFs normalised by ``bcftools norm`` into one record per allele."""

import tempfile
from pathlib import Path

import pysam
import pysam.bcftools

from dvcall.errors import InputError
from dvcall.io.regions import Region


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
            raise InputError(f"{path}: bcftools norm failed ({str(exc).strip()[:200]})") from None
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
