"""VCF output with pysam.VariantFile: header from the FASTA, sorted records, atomic writes.

The name says the format: ``x.vcf.gz`` or ``x.vcf.bgz`` -> bgzip + ``.tbi``; ``x.bcf`` -> BCF +
``.csi``; ``x.vcf`` -> plain text; ``-`` -> stdout; a device or FIFO (``/dev/null``) -> plain
text, written in place; any other name is refused. Files are
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
                 pass_qual: dict[str, float], warnings: list[str] = (),
                 notes: list[str] = ()):
    """The VCF header; ``pass_qual``: the QUAL from which each variant kind PASSes;
    ``warnings``: what makes the result probably incomplete, one ``##dvcallWarning`` each;
    ``notes``: facts of the run a reader should know, one ``##dvcallNote`` each."""
    header = pysam.VariantHeader()
    header.add_line("##fileformat=VCFv4.2")  # pysam adds it too; keeps it first either way
    header.add_line(f"##source=dvcall {__version__}")
    header.add_line(f"##dvcallCommand={command}")
    header.add_line(f"##reference=file://{Path(ref_path).resolve()}")
    for warning in warnings:
        header.add_line(f"##dvcallWarning={warning}")
    for note in notes:
        header.add_line(f"##dvcallNote={note}")
    for name, length in zip(fasta.references, fasta.lengths):
        header.contigs.add(name, length=length)
    header.filters.add("LowQual", None, None,
                       f"QUAL below {pass_qual['SNP']:.2f} (SNP) or {pass_qual['INDEL']:.2f} "
                       "(INDEL): too likely to be reference")
    header.info.add("DP", 1, "Integer", "Read depth at the site")
    header.info.add("VT", 1, "String", "Variant type: SNP or INDEL")
    header.formats.add("GT", 1, "String", "Genotype")
    header.formats.add("GQ", 1, "Integer", "Genotype quality: the smallest PL of any genotype "
                       "but GT, at most 99 (never above QUAL)")
    header.formats.add("PL", "G", "Integer", "Phred-scaled genotype likelihoods, relative to GT "
                       "(0); the hom-ref entry is QUAL")
    header.formats.add("DP", 1, "Integer", "Read depth")
    header.formats.add("AD", "R", "Integer", "Read depth per allele (REF first)")
    header.formats.add("VAF", "A", "Float", "Fraction of reads supporting each ALT")
    header.add_sample(sample)
    return header


def is_stream(path: str) -> bool:
    """An existing path that is no regular file (``/dev/null``, a FIFO): written as it is,
    as plain VCF, never replaced."""
    target = Path(path)
    return target.exists() and not target.is_file() and not target.is_dir()


def check_vcf_path(path: str, option: str = "-o") -> str:
    """The format suffix of a VCF output path (see the module docstring), after checking that
    it can be written; ``-`` is stdout."""
    if path == "-" or is_stream(path):
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
        self.sample = list(header.samples)[0]
        self.tmp = None
        if path == "-" or is_stream(path):
            self.handle = pysam.VariantFile(path, "w", header=header)
            self._new_record = self.handle.new_record
            return
        suffix = check_vcf_path(path)
        mode, self.index_suffix = FORMATS[suffix]
        self.tmp = tmp = str(temporary_path(path, ".tmp" + suffix))
        self.handle = pysam.VariantFile(tmp, mode, header=header)
        self._new_record = self.handle.new_record

    def write(self, calls: Iterable) -> int:
        """Write records (:class:`dvcall.postprocess.records.Call`); returns how many."""
        n = 0
        for call in calls:
            self.handle.write(self._record(call))
            n += 1
        return n

    def _record(self, call):
        rec = self._new_record(
            contig=call.contig, start=call.pos, alleles=(call.ref, *call.alts),
            qual=round(call.qual, 2), filter=call.filters,
        )
        rec.info["DP"] = call.depth
        rec.info["VT"] = call.kind
        fmt = rec.samples[self.sample]
        fmt["GT"] = call.genotype
        fmt["GQ"] = call.gq
        fmt["PL"] = call.pl
        fmt["DP"] = call.depth
        fmt["AD"] = call.allele_depths
        total = max(sum(call.allele_depths), 1)
        fmt["VAF"] = [round(a / total, 3) for a in call.allele_depths[1:]]
        return rec

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
            try:
                self.commit()
            except BaseException:  # a full disk while indexing: leave nothing behind
                self.abort()
                raise
        else:
            self.abort()
        return False


def add_gvcf_lines(header: pysam.VariantHeader) -> pysam.VariantHeader:
    """A copy of a VCF header with what a gVCF adds: the ``<*>`` allele, END, MIN_DP."""
    header = header.copy()
    header.add_line('##ALT=<ID=*,Description="Represents allele(s) other than observed.">')
    header.info.add("END", 1, "Integer", "Last position of a reference block")
    header.formats.add("MIN_DP", 1, "Integer", "Least read depth in a reference block")
    header.add_line("##dvcallGvcf=reference blocks: GQ from the model's P(ref) where it "
                    "classified the position, else from the bases' qualities; DP the block's "
                    "mean depth")
    return header


class GvcfOutput(VcfOutput):
    """A gVCF: variant records (with ``<*>``) and reference blocks, in order, bgzipped +
    ``.tbi``. Blocks are written as text (a gVCF has hundreds of thousands per Mb, and a pysam
    record each cost more than the calling); a block that starts inside an earlier record's
    REF (a deletion reaching into the next chunk) starts after it."""

    def __init__(self, path: str, header: pysam.VariantHeader, fasta: pysam.FastaFile):
        check_vcf_path(path, "--gvcf")
        self.path, self.header, self.fasta = path, header, fasta
        self.sample = list(header.samples)[0]
        self.index_suffix = ".tbi"
        self.tmp = str(temporary_path(path, ".tmp.g.vcf.gz"))
        self.handle = pysam.BGZFile(self.tmp, "wb")
        self.handle.write(str(header).encode())
        # records become text, with no file to bind them; their END (written because of
        # <*>) is their REF's last base
        self._new_record = lambda **kw: header.new_record(
            stop=kw["start"] + len(kw["alleles"][0]), **kw)
        self.covered = ("", 0)  # (contig, end of the last record's REF)

    def write_chunk(self, calls: list, blocks) -> int:
        """Write one chunk's records (``calls`` with ``<*>`` already) and its blocks (a
        :class:`dvcall.postprocess.reference_blocks.Blocks`); returns how many records."""
        block_lines = self._block_lines(blocks) if blocks is not None and len(blocks) else []
        starts = blocks.starts.tolist() if block_lines else []
        lines, b = [], 0
        for call in calls:
            while b < len(starts) and starts[b] < call.pos:
                lines.append(self._trimmed(blocks, b, block_lines[b]))
                b += 1
            lines.append(str(self._record(call)))
            contig, covered = self.covered
            end = call.pos + len(call.ref)
            self.covered = (call.contig, max(end, covered) if contig == call.contig else end)
        lines += [self._trimmed(blocks, i, block_lines[i]) for i in range(b, len(starts))]
        text = "".join(lines)
        self.handle.write(text.encode())
        return text.count("\n")

    def _block_lines(self, blocks) -> list[str]:
        """Every block of a chunk as a gVCF line, formatted in one pass."""
        contig = blocks.contig
        refs = [r if r in ("A", "C", "G", "T") else "N" for r in blocks.refs]
        out = []
        for start, end, ref, gq, dp, low, het, hom, copies in zip(
                (blocks.starts + 1).tolist(), blocks.ends.tolist(), refs, blocks.gq.tolist(),
                blocks.depth.tolist(), blocks.min_depth.tolist(), blocks.het_pl.tolist(),
                blocks.hom_pl.tolist(), blocks.copies.tolist()):
            genotype = f"0:{gq}:{dp}:{low}:0,{hom}" if copies == 1 else (
                f"0/0:{gq}:{dp}:{low}:0,{het},{hom}")
            out.append(f"{contig}\t{start}\t.\t{ref}\t<*>\t.\t.\tEND={end}\t"
                       f"GT:GQ:DP:MIN_DP:PL\t{genotype}\n")
        return out

    def _trimmed(self, blocks, i: int, line: str) -> str:
        """Block ``i``'s line, starting after the last record's REF where that reaches in."""
        start = int(blocks.starts[i])
        if self.covered[0] != blocks.contig or start >= self.covered[1]:
            return line
        start = self.covered[1]
        if start >= int(blocks.ends[i]):
            return ""
        ref = self.fasta.fetch(blocks.contig, start, start + 1).upper()
        fields = line.split("\t")
        fields[1], fields[3] = str(start + 1), ref if ref in ("A", "C", "G", "T") else "N"
        return "\t".join(fields)
