"""Ploidy per contig: diploid by default; contigs named haploid (a male's chrX and chrY) have
one copy, except inside pseudo-autosomal regions, which stay diploid."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dvcall.errors import InputError
from dvcall.io.regions import read_bed


@dataclass(frozen=True)
class Ploidy:
    haploid: frozenset[str] = frozenset()
    par: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # [start, end)

    def copies(self, contig: str, start: int, end: int) -> np.ndarray:
        """``(end - start,)`` copies (1 or 2) of each position of ``[start, end)``."""
        out = np.full(end - start, 2, np.int8)
        if contig in self.haploid:
            out[:] = 1
            for lo, hi in self.par.get(contig, []):
                out[max(lo, start) - start : max(min(hi, end) - start, 0)] = 2
        return out

    def copies_at(self, contig: str, pos: int) -> int:
        return int(self.copies(contig, pos, pos + 1)[0])


def read_ploidy(haploid_contigs: str | None, par_bed: Path | None,
                lengths: dict[str, int]) -> Ploidy:
    """The ploidy of ``--haploid-contigs chrX,chrY`` and ``--par-regions BED``."""
    names = [n.strip() for n in (haploid_contigs or "").split(",") if n.strip()]
    missing = [n for n in names if n not in lengths]
    if missing:
        raise InputError(f"--haploid-contigs: {', '.join(repr(n) for n in missing)} not in the "
                         f"reference (it has {', '.join(list(lengths)[:5])}"
                         f"{', ...' if len(lengths) > 5 else ''}); give the reference's names")
    par: dict[str, list[tuple[int, int]]] = {}
    if par_bed is not None:
        for region in read_bed(par_bed, lengths, "--par-regions"):
            par.setdefault(region.contig, []).append((region.start, region.end))
    return Ploidy(frozenset(names), par)
