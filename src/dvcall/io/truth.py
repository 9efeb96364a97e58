"""Truth VCFs (for training and evaluation): opened with one-line errors, every line checked.

htslib skips a record it cannot parse with a warning on stderr, and a skipped truth variant
trains as reference; so every data line is checked first, and one that is not a VCF record
stops the run with its line number.
"""

import gzip
import re

import pysam

from dvcall.errors import InputError

_REF = re.compile(r"[ACGTNacgtn]+")
_ALT = re.compile(r"([ACGTNacgtn]+|\*|\.|<[^<>,]+>)(,([ACGTNacgtn]+|\*|<[^<>,]+>))*")


def check_truth_lines(path) -> int:
    """The number of records, after checking that each data line is a VCF record: CHROM,
    an integer POS >= 1, REF and ALT alleles, and a GT where there is a sample column."""
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    records = 0
    try:
        with opener(path, "rt") as fh:
            for number, line in enumerate(fh, 1):
                if line.startswith("#") or not line.strip():
                    continue
                problem = _record_problem(line.rstrip("\n").split("\t"))
                if problem:
                    raise InputError(f"{path}:{number}: not a valid VCF record ({problem}); "
                                     "fix or remove the line")
                records += 1
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the truth VCF ({exc})") from None
    return records


def _record_problem(fields: list[str]) -> str | None:
    if len(fields) < 8:
        return f"{len(fields)} tab-separated columns, at least 8 expected"
    if not fields[1].isdigit() or int(fields[1]) < 1:
        return f"POS '{fields[1]}' is not a position"
    if not _REF.fullmatch(fields[3]):
        return f"REF '{fields[3]}' is not a sequence"
    if not _ALT.fullmatch(fields[4]):
        return f"ALT '{fields[4]}' is not a list of alleles"
    if len(fields) >= 10 and fields[8].split(":")[0] == "GT":
        gt = fields[9].split(":")[0]
        if not re.fullmatch(r"(\d+|\.)([/|](\d+|\.))*", gt):
            return f"GT '{gt}' is not a genotype"
    return None


def open_truth(path, reference_contigs) -> pysam.VariantFile:
    """Open an indexed truth VCF that shares contigs with the reference, every line checked
    (:func:`check_truth_lines`)."""
    check_truth_lines(path)
    try:
        vf = pysam.VariantFile(str(path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable VCF ({exc})") from None
    if vf.index is None:
        raise InputError(f"{path}: truth VCF needs an index; run 'bcftools index -t {path}' "
                         "(bgzip it first if it is plain text)")
    named = set(vf.header.contigs) | set(vf.index.keys())
    if not named & set(reference_contigs):
        raise InputError(f"{path}: no contig of the truth is in the reference (truth has "
                         f"'{next(iter(sorted(named)), '-')}'); use a truth made on this "
                         "reference")
    return vf
