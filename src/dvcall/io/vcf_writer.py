"""VCF output with pysam.VariantFile: header from the FASTA, sorted records, atomic writes.

The name says the format: ``x.vcf.gz`` or ``x.vcf.bgz`` -> bgzip + ``.tbi``; ``x.bcf`` -> BCF +
``.csi``; ``x.vcf`` -> plain text; ``-`` -> stdout; any other name is refused. Files are
written under a temporary name in the target folder and renamed into place only when
complete, so a killed run leaves nothing at the target path.
"""

import os
from collections.abc import Iterable
from pathlib import Path

import pysam
import pysam.bcftools

from dvcall import __version__
from dvcall.errors import InputError
from dvcall.io.files import check_output_path, temporary_path

# name ending -> (pysam write mode, index suffix)
FORMATS = {".vcf": ("w", None), ".vcf.gz": ("wz", ".tbi"), ".vcf.bgz": ("wz", ".tbi"),
           ".bcf": ("wb", ".csi")}


def build_header(fasta: pysam.FastaFile, ref_path: Path, sample: str, command: str,
                 pass_qual: dict[str, float], warnings: list[str] = ()):
    """The VCF header; ``pass_qual``: the QUAL from which each variant kind PASSes;
    ``warnings``: what makes the result probably incomplete, one ``##dvcallWarning`` each."""
    header = pysam.VariantHeader()
    header.add_line("##fileformat=VCFv4.2")  # pysam adds it too; keeps it first either way
    header.add_line(f"##source=dvcall {__version__}")
    header.add_line(f"##dvcallCommand={command}")
    header.add_line(f"##reference=file://{Path(ref_path).resolve()}")
    for warning in warnings:
        header.add_line(f"##dvcallWarning={warning}")
    for name, length in zip(fasta.references, fasta.lengths):
        header.contigs.add(name, length=length)
    header.filters.add("LowQual", None, None,
                       f"QUAL below {pass_qual['SNP']:.2f} (SNP) or {pass_qual['INDEL']:.2f} "
                       "(INDEL): too likely to be reference")
    header.info.add("DP", 1, "Integer", "Read depth at the site")
    header.info.add("VT", 1, "String", "Variant type: SNP or INDEL")
    header.formats.add("GT", 1, "String", "Genotype")
    header.formats.add("GQ", 1, "Integer", "Genotype quality (Phred)")
    header.formats.add("DP", 1, "Integer", "Read depth")
    header.formats.add("AD", "R", "Integer", "Read depth per allele (REF first)")
    header.formats.add("VAF", "A", "Float", "Fraction of reads supporting each ALT")
    header.add_sample(sample)
    return header


def check_vcf_path(path: str, option: str = "-o") -> str:
    """The format suffix of a VCF output path (see the module docstring), after checking that
    it can be written; ``-`` is stdout."""
    if path == "-":
        return ".vcf"
    if Path(path).is_dir():
        raise InputError(f"{path}: {option} names a folder; give a file name such as "
                         f"{Path(path) / 'calls.vcf.gz'}")
    suffix = next((s for s in sorted(FORMATS, key=len, reverse=True) if path.endswith(s)), None)
    if suffix is None:
        raise InputError(f"{path}: {option} must end in .vcf, .vcf.gz, .vcf.bgz or .bcf (the "
                         "name says the format), or be - for stdout")
    check_output_path(path, "VCF", option)
    return suffix


class VcfOutput:
    """Context manager: records go to a temporary file renamed to ``path`` on success."""

    def __init__(self, path: str, header: pysam.VariantHeader):
        self.path, self.header = path, header
        self.tmp = None
        if path == "-":
            self.handle = pysam.VariantFile("-", "w", header=header)
            return
        suffix = check_vcf_path(path)
        mode, self.index_suffix = FORMATS[suffix]
        self.tmp = tmp = str(temporary_path(path, ".tmp" + suffix))
        self.handle = pysam.VariantFile(tmp, mode, header=header)

    def write(self, calls: Iterable) -> int:
        """Write records (:class:`dvcall.postprocess.records.Call`); returns how many."""
        n = 0
        sample = list(self.header.samples)[0]
        for call in calls:
            rec = self.handle.new_record(
                contig=call.contig, start=call.pos, alleles=(call.ref, *call.alts),
                qual=round(call.qual, 2), filter=call.filters,
            )
            rec.info["DP"] = call.depth
            rec.info["VT"] = call.kind
            fmt = rec.samples[sample]
            fmt["GT"] = call.genotype
            fmt["GQ"] = call.gq
            fmt["DP"] = call.depth
            fmt["AD"] = call.allele_depths
            total = max(sum(call.allele_depths), 1)
            fmt["VAF"] = [round(a / total, 3) for a in call.allele_depths[1:]]
            self.handle.write(rec)
            n += 1
        return n

    def commit(self) -> None:
        self.handle.close()
        if self.tmp is None:
            return
        if self.index_suffix == ".tbi":
            pysam.tabix_index(self.tmp, preset="vcf", force=True)
        elif self.index_suffix == ".csi":
            pysam.bcftools.index("--csi", "-f", self.tmp)
        if self.index_suffix:
            os.replace(self.tmp + self.index_suffix, self.path + self.index_suffix)
        os.replace(self.tmp, self.path)
        self.tmp = None

    def abort(self) -> None:
        try:
            self.handle.close()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
        if self.tmp is not None:
            for leftover in (self.tmp, self.tmp + ".tbi", self.tmp + ".csi"):
                try:
                    os.unlink(leftover)
                except FileNotFoundError:
                    pass
            self.tmp = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False
