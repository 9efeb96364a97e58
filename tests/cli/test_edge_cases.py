"""Inputs that are unusual but not errors: they must give a valid VCF."""

import pysam
from conftest import body, run_dvcall


def write_bam(path, ref_lengths, reads):
    """reads: (name, contig_index, start, cigar, seq, quals or None, flag)."""
    header = {"HD": {"VN": "1.6", "SO": "coordinate"},
              "SQ": [{"SN": n, "LN": ln} for n, ln in ref_lengths],
              "RG": [{"ID": "a", "SM": "s1"}, {"ID": "b", "SM": "s1"}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, (name, tid, start, cigar, seq, quals, flag) in enumerate(reads):
            seg = pysam.AlignedSegment(out.header)
            seg.query_name, seg.reference_id, seg.reference_start = name, tid, start
            seg.cigarstring, seg.query_sequence, seg.flag = cigar, seq, flag
            seg.mapping_quality = 60
            if quals is not None:
                seg.query_qualities = pysam.qualitystring_to_array(quals)
            seg.set_tag("RG", "ab"[i % 2])
            out.write(seg)
    pysam.index(str(path))


def test_tiny_contig_no_qualities_deep_pileup_and_n_bases(tmp_path):
    contig = "ACGTTGCAAGGCTTACCGATCGATTGCAAGCTTAGGCATCGATCGGATCCATGCAAGTCA"  # 60 bp
    ref = tmp_path / "ref.fa"
    ref.write_text(f">tiny\n{contig}\n>second\n{'ACGT' * 50}\n")
    pysam.faidx(str(ref))
    alt = contig[:30] + "T" + contig[31:]  # a hom SNP G>T at position 31, seen by every read
    reads = []
    for i in range(400):  # 400x over 60 bp, some reads with no qualities, some with N
        seq = alt[:40] if i % 7 else alt[:20] + "N" + alt[21:40]
        quals = None if i % 3 == 0 else "I" * 40
        reads.append((f"r{i}", 0, 0, "40M", seq, quals, 0 if i % 2 else 16))
    bam = tmp_path / "deep.bam"
    write_bam(bam, [("tiny", 60), ("second", 200)], reads)
    out = tmp_path / "calls.vcf"
    result = run_dvcall("call", "--bam", bam, "--ref", ref, "--max-depth", "50", "-o", out)
    assert result.returncode == 0
    with pysam.VariantFile(str(out)) as vf:
        assert list(vf.header.samples) == ["s1"]  # several read groups of one sample
        assert set(vf.header.contigs) == {"tiny", "second"}
        recs = list(vf)
    assert all(r.contig == "tiny" for r in recs)
    snp = [r for r in recs if r.pos == 31]
    assert snp and snp[0].alts == ("T",) and snp[0].samples["s1"]["GT"] == (1, 1)
    assert snp[0].samples["s1"]["DP"] < 120  # 400 reads downsampled to about --max-depth


def test_contig_without_reads_gives_header_only(tmp_path, testdata):
    out = tmp_path / "calls.vcf"
    run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
               "--region", "chr2:1-20", "-o", out)
    assert body(out) == []
