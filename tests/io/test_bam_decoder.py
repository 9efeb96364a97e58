"""The BAM decoder gives exactly the records pysam gives, region by region."""

import numpy as np
import pysam
import pytest

from dvcall.io.alignments import AlignmentSource, ReadFilter
from dvcall.io.bam_decoder import BamDecoder

FIELDS = ("starts", "strand", "mapq", "query_codes", "query_quals", "query_lengths", "mate_key")


def assert_same_records(bam_path, regions, read_filter):
    decoded = AlignmentSource(pysam.AlignmentFile(str(bam_path)))
    through_pysam = AlignmentSource(pysam.AlignmentFile(str(bam_path)), decode=False)
    assert decoded.decoder is not None and through_pysam.decoder is None
    total = 0
    for contig, start, end in regions:
        a = decoded.records(contig, start, end, read_filter)
        b = through_pysam.records(contig, start, end, read_filter)
        where = f"{contig}:{start}-{end}"
        for field in FIELDS:
            assert np.array_equal(getattr(a, field), getattr(b, field)), (field, where)
        for x, y in zip(a.cigar_ops, b.cigar_ops):
            assert np.array_equal(x, y), ("cigar", where)
        total += a.num_reads
    return total


def random_regions(lengths: dict, count: int, seed: int):
    rng = np.random.default_rng(seed)
    names = sorted(lengths)
    out = []
    for _ in range(count):
        contig = names[rng.integers(len(names))]
        start = int(rng.integers(-50, lengths[contig] + 50))
        out.append((contig, start, start + int(rng.integers(1, 3000))))
    return out


def test_decoder_matches_pysam_on_the_aligned_testdata(testdata):
    bam = testdata / "reads.bam"
    with pysam.AlignmentFile(str(bam)) as f:
        lengths = dict(zip(f.references, f.lengths))
    whole = [(c, 0, n) for c, n in lengths.items()]
    edges = [(c, n - 10, n + 10) for c, n in lengths.items()] + [(c, -5, 1) for c in lengths]
    assert assert_same_records(bam, whole + edges + random_regions(lengths, 80, 1),
                               ReadFilter()) > 1000


def test_mate_keys_pair_the_two_reads_of_one_name(testdata):
    """The name-free mate key pairs reads exactly as their names do on testdata."""
    source = AlignmentSource(pysam.AlignmentFile(str(testdata / "reads.bam")))
    decoded = source.decoder.decode("chr1", 20_000, 40_000, 0xF04, 1, 30, names=True)
    records = source.records("chr1", 20_000, 40_000, ReadFilter())
    assert np.array_equal(records.starts, decoded.starts)  # no downsampling here
    by_key: dict = {}
    for key, name, first in zip(records.mate_key.tolist(), decoded.names,
                                (decoded.flags & 0x40 > 0).tolist()):
        if key >= 0:
            by_key.setdefault(key, []).append((name, first))
    pairs = [v for v in by_key.values() if len(v) == 2]
    assert len(pairs) > 100
    assert all(a[0] == b[0] and a[1] != b[1] for a, b in pairs)
    # two fragments with the same ends share a key: rare, and then none is deduplicated
    assert sum(len(v) > 2 for v in by_key.values()) < 0.01 * len(pairs)


@pytest.fixture(scope="module")
def odd_bam(tmp_path_factory):
    """Reads of every shape the decoder must get right: all flags, MAPQ 0, odd lengths, no
    qualities, IUPAC bases, insertion-only and spliced CIGARs, two contigs, deep piles."""
    rng = np.random.default_rng(5)
    header = pysam.AlignmentHeader.from_dict(
        {"HD": {"SO": "coordinate"}, "SQ": [{"SN": "a", "LN": 5000}, {"SN": "b", "LN": 3000}]})
    cigars = ["40M", "41M", "10S20M3I8M", "5M2D30M", "12M200N20M", "15=1X20=", "4S3I",
              "20M5S", "3M1I3M1D3M"]
    reads = []
    for i in range(1500):
        ref_id = int(rng.integers(2))
        cigar = cigars[rng.integers(len(cigars))]
        seg = pysam.AlignedSegment(header)
        seg.query_name = f"read{i}" + "x" * int(rng.integers(0, 40))
        seg.reference_id = ref_id
        # a pile at a.2000 deeper than max_depth below, to exercise the downsampling
        seg.reference_start = 2000 if i % 5 == 0 else int(rng.integers(0, 2700))
        seg.cigarstring = cigar
        length = seg.infer_query_length()
        seg.query_sequence = "".join(rng.choice(list("ACGTNRY="), length,
                                                p=[.23, .23, .23, .23, .02, .02, .02, .02]))
        if i % 7:
            seg.query_qualities = pysam.qualitystring_to_array(
                "".join(chr(33 + q) for q in rng.integers(2, 41, length)))
        seg.flag = int(rng.choice([0, 16, 0x100, 0x400, 0x800, 0x200, 0x4 | 0x10, 1 | 2 | 64]))
        seg.mapping_quality = int(rng.choice([0, 1, 20, 60]))
        reads.append(seg)
    reads.sort(key=lambda s: (s.reference_id, s.reference_start))
    path = tmp_path_factory.mktemp("odd") / "odd.bam"
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for seg in reads:
            out.write(seg)
    pysam.index(str(path))
    return path


@pytest.mark.parametrize("read_filter", [ReadFilter(), ReadFilter(min_mapq=0),
                                         ReadFilter(max_depth=40)])
def test_decoder_matches_pysam_on_reads_of_every_shape(odd_bam, read_filter):
    regions = random_regions({"a": 5000, "b": 3000}, 60, 2) + [("a", 0, 5000), ("b", 0, 3000),
                                                              ("a", 1990, 2010)]
    assert assert_same_records(odd_bam, regions, read_filter) > 0
    for decode in (True, False):
        source = AlignmentSource(pysam.AlignmentFile(str(odd_bam)), decode=decode)
        with pytest.raises(ValueError, match="invalid contig"):
            source.records("c", 0, 10, read_filter)


def test_decoder_is_used_only_for_a_bam_with_a_bai(odd_bam, tmp_path, testdata):
    with pysam.AlignmentFile(str(odd_bam)) as f:
        assert BamDecoder.open(f) is not None
    csi_only = tmp_path / "csi.bam"
    csi_only.write_bytes(odd_bam.read_bytes())
    pysam.index("-c", str(csi_only))
    with pysam.AlignmentFile(str(csi_only)) as f:
        assert BamDecoder.open(f) is None
    cram = tmp_path / "reads.cram"
    pysam.view("-C", "-T", str(testdata / "ref.fa"), "-o", str(cram),
               str(testdata / "reads.bam"), catch_stdout=False)
    pysam.index(str(cram))
    with pysam.AlignmentFile(str(cram), reference_filename=str(testdata / "ref.fa")) as f:
        assert BamDecoder.open(f) is None


@pytest.mark.filterwarnings("ignore:no BGZF EOF marker")
def test_a_truncated_bam_is_an_error_not_fewer_reads(testdata, tmp_path):
    cut = tmp_path / "cut.bam"
    cut.write_bytes((testdata / "reads.bam").read_bytes()[:1_000_000])
    (tmp_path / "cut.bam.bai").write_bytes((testdata / "reads.bam.bai").read_bytes())
    source = AlignmentSource(pysam.AlignmentFile(str(cut), ignore_truncation=True))
    contig = source.bam.references[-1]
    with pytest.raises(ValueError, match="BGZF"):
        source.records(contig, 0, source.bam.lengths[-1], ReadFilter())
