"""The reference FASTA: opening it with a one-line error, and a chunk's window of it."""

import os
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
        with open(ref_path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise InputError(f"{ref_path}: cannot read the reference FASTA ({exc.strerror})") from None
    # gzip magic; bgzip's blocks carry the extra field 'BC' (FEXTRA flag, bytes 12-13)
    if head[:2] == b"\x1f\x8b" and not (head[3] & 4 and head[12:14] == b"BC"):
        raise InputError(f"{ref_path}: compressed with plain gzip, which cannot be indexed; "
                         f"recompress it with bgzip ('gunzip -c {ref_path} | bgzip > "
                         f"{ref_path.with_suffix('.bgz')}') or decompress it")
    index = Path(f"{ref_path}.fai")
    if not index.exists() and not os.access(ref_path.parent, os.W_OK):
        raise InputError(f"{ref_path}: has no index ({index.name}) and its folder is not "
                         "writable, so none can be made; run 'samtools faidx' on a copy in a "
                         "folder you can write")
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
