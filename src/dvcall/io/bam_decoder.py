"""BAM regions straight into numpy arrays, without a Python object per read.

pysam builds an AlignedSegment per read and converts each field on access, the reader's
largest cost at 30x (docs/decisions.md). Here the ``.bai`` index gives the byte range of a
region, ISA-L inflates its BGZF blocks (faster than zlib, which htslib uses), and each field
of all the region's records comes out of one numpy gather. CRAM, and BAM indexed only by
``.csi``, keep the pysam path (:func:`BamDecoder.open` returns None for them).
"""

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dvcall.encoding import BAM_NIBBLE_CODE, REFERENCE_OPS

try:  # ISA-L's inflate; zlib gives the same bytes where no isal wheel exists
    from isal.isal_zlib import decompress as _inflate
    from isal.isal_zlib import error as _InflateError
except ImportError:  # pragma: no cover
    from zlib import decompress as _inflate
    from zlib import error as _InflateError

_META_BIN = 37450  # the BAI pseudo-bin with per-reference statistics
_LINEAR_SHIFT = 14  # 16 kb windows of the linear index
_MAX_BLOCK = 65536  # a BGZF block is at most this many bytes, compressed or not
# the 32 bytes after block_size in every BAM record (SAM spec, section 4.2)
_FIXED = np.dtype([("ref_id", "<i4"), ("pos", "<i4"), ("l_read_name", "u1"), ("mapq", "u1"),
                   ("bin", "<u2"), ("n_cigar", "<u2"), ("flag", "<u2"), ("l_seq", "<i4"),
                   ("next_ref_id", "<i4"), ("next_pos", "<i4"), ("tlen", "<i4")])
# a byte of BAM sequence holds two 4-bit bases, high nibble first: byte -> two base codes
_BYTE_TO_CODES = np.ascontiguousarray(np.stack(
    [BAM_NIBBLE_CODE[np.arange(256) >> 4], BAM_NIBBLE_CODE[np.arange(256) & 15]],
    axis=1)).view("<u2").ravel()
_CIGAR_IN_TAG = (4, 3)  # ops of the placeholder CIGAR of a read whose CIGAR sits in a CG tag


@dataclass
class DecodedReads:
    """Kept records of a region, in file order; the flat arrays concatenate all reads."""

    starts: np.ndarray  # (R,) int64, 0-based
    flags: np.ndarray  # (R,) uint16
    mapq: np.ndarray  # (R,) uint8
    cigar_ops: np.ndarray  # (C,) int64
    cigar_lengths: np.ndarray  # (C,) int64
    ops_per_read: np.ndarray  # (R,) int64
    codes: np.ndarray  # (Q,) int8, 0..3 = ACGT, 4 = other
    quals: np.ndarray  # (Q,) uint8 (missing qualities -> the default given to decode)
    query_lengths: np.ndarray  # (R,) int64
    names: list[str] | None = None
    # the mate's start and the template length, 0 where the mate is on another contig
    mate_starts: np.ndarray | None = None  # (R,) int64
    template_lengths: np.ndarray | None = None  # (R,) int64


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + n)`` for each (start, length): one gather index."""
    lengths = np.asarray(lengths, np.int64)
    total = int(lengths.sum())
    first = np.cumsum(lengths) - lengths
    return np.repeat(np.asarray(starts, np.int64) - first, lengths) + np.arange(total)


def _region_bins(start: int, end: int) -> list[int]:
    """The BAI bins that may hold a read overlapping ``[start, end)`` (SAM spec reg2bins)."""
    end -= 1
    bins = [0]
    for shift, offset in ((26, 1), (23, 9), (20, 73), (17, 585), (14, 4681)):
        bins.extend(range(offset + (start >> shift), offset + (end >> shift) + 1))
    return bins


class BaiIndex:
    """The bins (with their chunks of virtual offsets) and linear index of each reference."""

    def __init__(self, path: Path):
        data = Path(path).read_bytes()
        if data[:4] != b"BAI\x01":
            raise ValueError(f"{path}: not a BAI index")
        unpack = struct.unpack_from
        (n_ref,) = unpack("<i", data, 4)
        offset = 8
        self.bins: list[dict[int, np.ndarray]] = []
        self.linear: list[np.ndarray] = []
        for _ in range(n_ref):
            (n_bin,) = unpack("<i", data, offset)
            offset += 4
            bins = {}
            for _ in range(n_bin):
                bin_id, n_chunk = unpack("<Ii", data, offset)
                offset += 8
                if bin_id != _META_BIN:
                    bins[bin_id] = np.frombuffer(data, "<u8", 2 * n_chunk, offset).reshape(-1, 2)
                offset += 16 * n_chunk
            (n_intv,) = unpack("<i", data, offset)
            offset += 4
            self.linear.append(np.frombuffer(data, "<u8", n_intv, offset))
            offset += 8 * n_intv
            self.bins.append(bins)

    def chunks(self, ref_id: int, start: int, end: int) -> list[tuple[int, int]]:
        """Sorted, merged ``(first, last)`` virtual offset ranges holding every record that
        may overlap ``[start, end)`` on reference ``ref_id`` (as htslib's iterator reads)."""
        linear = self.linear[ref_id]
        window = start >> _LINEAR_SHIFT
        min_offset = int(linear[min(window, len(linear) - 1)]) if len(linear) else 0
        found = [c for b in _region_bins(start, end) if (c := self.bins[ref_id].get(b)) is not None]
        if not found:
            return []
        chunks = np.concatenate(found)
        chunks = chunks[chunks[:, 1] > min_offset]
        merged: list[list[int]] = []
        for first, last in sorted(chunks.tolist()):
            first = max(first, min_offset)
            if merged and first <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        return [(a, b) for a, b in merged]


class BamDecoder:
    """Reads regions of one indexed BAM file (one per thread: it owns a file handle)."""

    def __init__(self, path: Path, index_path: Path, references: list[str]):
        self.path = Path(path)
        self.index = BaiIndex(index_path)
        self.ref_ids = {name: i for i, name in enumerate(references)}
        self._file = open(self.path, "rb")  # noqa: SIM115 (closed by close())

    @classmethod
    def open(cls, bam) -> "BamDecoder | None":
        """A decoder for the file behind a pysam.AlignmentFile, or None where pysam must read
        it (CRAM, SAM, or a BAM whose index is not a .bai beside it)."""
        if not bam.is_bam:
            return None
        path = Path(bam.filename.decode() if isinstance(bam.filename, bytes) else bam.filename)
        for index in (Path(f"{path}.bai"), path.with_suffix(".bai")):
            if index.exists():
                return cls(path, index, list(bam.references))
        return None

    def close(self) -> None:
        self._file.close()

    def _inflate(self, first: int, last: int) -> bytes:
        """The uncompressed bytes from virtual offset ``first`` up to ``last``."""
        block_start, skip = first >> 16, first & 0xFFFF
        last_block, last_within = last >> 16, last & 0xFFFF
        self._file.seek(block_start)
        raw = self._file.read(last_block - block_start + (_MAX_BLOCK if last_within else 0))
        parts, at, end_at = [], 0, last_block - block_start
        while at < end_at or (at == end_at and last_within):
            if len(raw) < at + 18 or raw[at : at + 4] != b"\x1f\x8b\x08\x04":
                raise ValueError(f"no BGZF block at byte {block_start + at}")
            (extra,) = struct.unpack_from("<H", raw, at + 10)
            (size,) = struct.unpack_from("<H", raw, at + 16)
            size += 1
            if len(raw) < at + size:
                raise ValueError(f"the BGZF block at byte {block_start + at} is cut short")
            try:
                parts.append(_inflate(raw[at + 12 + extra : at + size - 8], -15))
            except _InflateError as exc:
                raise ValueError(f"the BGZF block at byte {block_start + at} does not "
                                 f"inflate: {exc}") from None
            at += size
        data = b"".join(parts)
        # the last block read holds only ``last_within`` bytes of the range
        end = len(data) - len(parts[-1]) + last_within if last_within else len(data)
        return data[skip:end]

    def decode(self, contig: str, start: int, end: int, skip_flags: int, min_mapq: int,
               default_quality: int, names: bool = False) -> DecodedReads | None:
        """Records overlapping ``[start, end)`` that pass the flag and MAPQ filters and have a
        CIGAR and a sequence; None for a region pysam must read (a CIGAR kept in a CG tag)."""
        ref_id = self.ref_ids.get(contig)
        if ref_id is None:
            raise ValueError(f"invalid contig `{contig}`")  # as pysam says it
        pieces, offsets, size = [], [], 0
        for first, last in self.index.chunks(ref_id, start, end):
            piece = self._inflate(first, last)
            at = _record_offsets(piece)
            pieces.append(piece)
            offsets.append(at + size)
            size += len(piece)
            if len(at):  # sorted by position: once past the region, later chunks are too
                last_ref, last_pos = struct.unpack_from("<ii", piece, int(at[-1]) + 4)
                if last_ref != ref_id or last_pos >= end:
                    break
        if not pieces:
            return _empty()
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        offsets = np.concatenate(offsets)
        raw = np.frombuffer(data, np.uint8)
        fixed = _rows(raw, offsets + 4, 32).view(_FIXED).ravel()
        pos = fixed["pos"].astype(np.int64)
        keep = ((fixed["ref_id"] == ref_id) & (pos < end) & (fixed["flag"] & skip_flags == 0)
                & (fixed["mapq"] >= min_mapq) & (fixed["n_cigar"] > 0) & (fixed["l_seq"] > 0))
        idx = np.flatnonzero(keep)
        fixed, offsets, pos = fixed[idx], offsets[idx], pos[idx]
        n_cigar = fixed["n_cigar"].astype(np.int64)
        cigar_at = offsets + 36 + fixed["l_read_name"]
        words = raw[ranges(cigar_at, 4 * n_cigar)].view("<u4").astype(np.int64)
        ops, lengths = words & 0xF, words >> 4
        read_of_op = np.repeat(np.arange(len(idx)), n_cigar)
        span = np.bincount(read_of_op, weights=lengths * REFERENCE_OPS[ops],
                           minlength=len(idx)).astype(np.int64)
        first_op = np.cumsum(n_cigar) - n_cigar
        if len(idx) and ((n_cigar == 2) & (ops[first_op] == _CIGAR_IN_TAG[0])
                         & (ops[np.minimum(first_op + 1, len(ops) - 1)] == _CIGAR_IN_TAG[1])
                         ).any():
            return None
        overlaps = pos + np.maximum(span, 1) > start
        if not overlaps.all():
            sel = np.flatnonzero(overlaps)
            op_sel = ranges(first_op[sel], n_cigar[sel])
            fixed, offsets, pos, n_cigar = fixed[sel], offsets[sel], pos[sel], n_cigar[sel]
            ops, lengths, cigar_at = ops[op_sel], lengths[op_sel], cigar_at[sel]
        l_seq = fixed["l_seq"].astype(np.int64)
        seq_at = cigar_at + 4 * n_cigar
        packed = (l_seq + 1) // 2
        # two codes per packed byte, one uint16 lookup each
        codes = _slices(raw, seq_at, packed, _BYTE_TO_CODES).view(np.int8)
        if (l_seq % 2).any():  # drop the padding nibble after an odd-length read
            codes = codes[ranges(2 * (np.cumsum(packed) - packed), l_seq)]
        quals = _slices(raw, seq_at + packed, l_seq)
        missing = np.flatnonzero(raw[seq_at + packed] == 0xFF)
        if len(missing):
            quals[ranges((np.cumsum(l_seq) - l_seq)[missing], l_seq[missing])] = default_quality
        read_names = None
        if names:
            read_names = [data[a : a + n - 1].decode() for a, n in
                          zip((offsets + 36).tolist(), fixed["l_read_name"].tolist())]
        same_contig = fixed["next_ref_id"] == ref_id
        return DecodedReads(pos, fixed["flag"].copy(), fixed["mapq"].copy(), ops, lengths,
                            n_cigar, codes, quals, l_seq, read_names,
                            fixed["next_pos"].astype(np.int64),
                            np.where(same_contig, fixed["tlen"], 0).astype(np.int64))


def _rows(raw: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """``raw[s : s + width]`` for each start, as the rows of a new array (a row copy each,
    far quicker than gathering every byte by index). Every row must lie inside ``raw``."""
    if not len(starts):
        return np.zeros((0, width), raw.dtype)
    return sliding_window_view(raw, width)[starts]


def _slices(raw: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
            table: np.ndarray | None = None) -> np.ndarray:
    """``raw[s : s + n]`` for each (start, length), concatenated (through ``table`` if
    given). Short reads mostly share one length: then it is one row gather."""
    if len(lengths) and (lengths == lengths[0]).all():
        out = _rows(raw, starts, int(lengths[0])).ravel()
    else:
        out = raw[ranges(starts, lengths)]
    return table[out] if table is not None else out


def _record_offsets(data: bytes) -> np.ndarray:
    """Where each record starts (records are chained by their block_size fields)."""
    unpack = struct.Struct("<i").unpack_from
    offsets: list[int] = []
    append, at, last = offsets.append, 0, len(data) - 4
    while at <= last:  # the reader's one per-record Python loop: kept minimal
        append(at)
        size = unpack(data, at)[0]
        if size < 32:
            raise ValueError(f"a BAM record of {size} bytes")
        at += 4 + size
    if at != len(data):
        raise ValueError("a BAM record runs past the end of its index chunk")
    return np.array(offsets, np.int64)


def _empty() -> DecodedReads:
    none = np.zeros(0, np.int64)
    return DecodedReads(none, none.astype(np.uint16), none.astype(np.uint8), none, none, none,
                        none.astype(np.int8), none.astype(np.uint8), none, [], none, none)
