"""The reference FASTA: opening it with a one-line error, and a chunk's window of it."""

from pathlib import Path

import numpy as np
import pysam

from dvcall.encoding import BASE_CODE, N_CODE
from dvcall.errors import InputError
from dvcall.io.regions import Chunk


def open_fasta(ref_path: Path) -> pysam.FastaFile:
    """Open an indexed FASTA (pysam makes the .fai when the folder is writable)."""
    ref_path = Path(ref_path)
    if not ref_path.exists():
        raise InputError(f"{ref_path}: reference FASTA not found")
    try:
        return pysam.FastaFile(str(ref_path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{ref_path}: cannot read as an indexed FASTA ({exc}); check the file "
                         f"or index it with 'samtools faidx {ref_path}'") from None


def reference_window(fasta: pysam.FastaFile, chunk: Chunk, span: int) -> tuple[str, np.ndarray]:
    """The chunk's reference with flanks, as text and as codes padded with N to ``span``."""
    lo = max(chunk.window_start, 0)
    hi = min(chunk.window_start + span, chunk.contig_length)
    text = fasta.fetch(chunk.contig, lo, hi).upper()
    codes = np.full(span, N_CODE, np.int8)
    offset = lo - chunk.window_start
    codes[offset : offset + len(text)] = BASE_CODE[np.frombuffer(text.encode(), np.uint8)]
    padded = "N" * offset + text + "N" * (span - offset - len(text))
    return padded, codes
