"""gVCF, PL, ploidy and samples, checked with real bcftools (pysam's): what cohort calling
reads from dvcall."""

import gzip
from pathlib import Path

import pysam
import pysam.bcftools
import pytest
from conftest import body, run_dvcall
from test_errors import assert_clean_failure

from dvcall.evaluate import evaluate
from dvcall.postprocess.genotypes import genotypes_of


def call(testdata, out, *extra, bam=None):
    return run_dvcall("call", "--bam", bam or testdata / "reads.bam", "--ref",
                      testdata / "ref.fa", "-o", out, "--quiet", *extra, check=False)


def gvcf_lines(path):
    with gzip.open(path, "rt") as fh:
        return [line.rstrip("\n").split("\t") for line in fh if not line.startswith("#")]


def span(fields):
    pos = int(fields[1])
    info = dict(kv.split("=") for kv in fields[7].split(";") if "=" in kv)
    end = int(info["END"]) if "END" in info else pos + len(fields[3]) - 1
    return pos, end


@pytest.fixture(scope="module")
def gvcf_run(testdata, tmp_path_factory):
    out = tmp_path_factory.mktemp("gvcf")
    result = call(testdata, out / "a.vcf.gz", "--gvcf", out / "a.g.vcf.gz")
    assert result.returncode == 0, result.stderr
    return out / "a.vcf.gz", out / "a.g.vcf.gz"


def test_the_gvcf_covers_every_called_base_once(gvcf_run, testdata):
    _, gvcf = gvcf_run
    assert Path(str(gvcf) + ".tbi").exists()
    lengths = dict(zip(*(lambda f: (f.references, f.lengths))(
        pysam.FastaFile(str(testdata / "ref.fa")))))
    lines = gvcf_lines(gvcf)
    starts = [(f[0], int(f[1])) for f in lines]
    assert len(starts) == len(set(starts))  # no two records start at one position
    covered = {c: set() for c in lengths}
    block_bases = {c: [] for c in lengths}
    for fields in lines:
        pos, end = span(fields)
        bases = range(pos, end + 1)
        if fields[4] == "<*>":
            assert not covered[fields[0]] & set(bases), fields[:2]  # blocks overlap nothing
            block_bases[fields[0]] += bases
        else:
            assert fields[4].endswith(",<*>")
        covered[fields[0]] |= set(bases)
    for contig, length in lengths.items():
        assert covered[contig] == set(range(1, length + 1))
        assert len(block_bases[contig]) == len(set(block_bases[contig]))


def test_bcftools_accepts_the_gvcf(gvcf_run, testdata, tmp_path):
    _, gvcf = gvcf_run
    pysam.bcftools.view(str(gvcf), "-Ou", "-o", str(tmp_path / "v.bcf"), catch_stdout=False)
    report = pysam.bcftools.norm("-c", "e", "-f", str(testdata / "ref.fa"), "-Ou", "-o",
                                 str(tmp_path / "n.bcf"), str(gvcf), catch_stdout=False)
    assert report is None or "ERROR" not in str(report)
    converted = tmp_path / "c.vcf"
    pysam.bcftools.convert("--gvcf2vcf", "--fasta-ref", str(testdata / "ref.fa"), "-o",
                           str(converted), str(gvcf), catch_stdout=False)
    assert sum(1 for _ in pysam.VariantFile(str(converted))) > 200_000 - 1000


def test_gvcf_is_the_same_with_two_threads(gvcf_run, testdata, tmp_path):
    vcf, gvcf = gvcf_run
    result = call(testdata, tmp_path / "b.vcf.gz", "--gvcf", tmp_path / "b.g.vcf.gz",
                  "--threads", "2")
    assert result.returncode == 0, result.stderr
    assert body(tmp_path / "b.g.vcf.gz") == body(gvcf)
    assert body(tmp_path / "b.vcf.gz") == body(vcf)


def test_pl_agrees_with_gt_gq_and_qual(gvcf_run):
    vcf, gvcf = gvcf_run
    for path in (vcf, gvcf):
        seen = 0
        for rec in pysam.VariantFile(str(path)):
            if rec.alts == ("<*>",):
                continue
            sample = rec.samples[0]
            gt, pl = tuple(sorted(sample["GT"])), list(sample["PL"])
            order = genotypes_of(len(gt), len(rec.alleles))
            assert len(pl) == len(order)
            called = order.index(gt)
            assert pl[called] == 0
            assert sample["GQ"] == min(min(v for i, v in enumerate(pl) if i != called), 99)
            assert pl[0] == round(rec.qual)  # the hom-ref entry is QUAL
            assert sample["GQ"] <= round(rec.qual)
            seen += 1
        assert seen > 200


def test_every_record_depth_holds_its_allele_depths(gvcf_run):
    """DP counts every read AD gives an allele: an indel's realigned reads included, whose
    bases at the anchor may be masked or deleted."""
    vcf, _ = gvcf_run
    indels = 0
    for rec in pysam.VariantFile(str(vcf)):
        sample = rec.samples[0]
        assert sample["DP"] == rec.info["DP"] >= sum(sample["AD"]), rec
        indels += any(len(a) != len(rec.ref) for a in rec.alts)
    assert indels >= 40


def _edited_bam(testdata, out, sites, sample):
    """testdata's reads with the bases at ``sites`` (contig, 0-based) set to the
    reference's: a second sample without those SNPs."""
    fasta = pysam.FastaFile(str(testdata / "ref.fa"))
    with pysam.AlignmentFile(str(testdata / "reads.bam")) as src:
        header = src.header.to_dict()
        for group in header["RG"]:
            group["SM"] = sample
        with pysam.AlignmentFile(str(out), "wb", header=header) as dst:
            for read in src.fetch("chr1"):
                pairs = {ref: query for query, ref in read.get_aligned_pairs(matches_only=True)}
                hits = [(pairs[p], p) for c, p in sites if c == "chr1" and p in pairs]
                if hits:
                    seq, quals = list(read.query_sequence), read.query_qualities
                    for query, p in hits:
                        seq[query] = fasta.fetch("chr1", p, p + 1)
                    read.query_sequence = "".join(seq)
                    read.query_qualities = quals
                dst.write(read)
    pysam.index(str(out))
    return out


def test_two_samples_merge_with_bcftools(testdata, tmp_path):
    truth = [r for r in pysam.VariantFile(str(testdata / "truth.vcf.gz"))
             if r.contig == "chr1" and len(r.ref) == len(r.alts[0]) == 1
             and r.samples[0]["GT"] == (1, 1)][:10]
    sites = [(r.contig, r.pos - 1) for r in truth]
    bob = _edited_bam(testdata, tmp_path / "bob.bam", sites, "bob")
    outs = {}
    for name, bam in (("alice", testdata / "reads.bam"), ("bob", bob)):
        result = call(testdata, tmp_path / f"{name}.vcf.gz", "-r", "chr1", "-s", name,
                      "--gvcf", tmp_path / f"{name}.g.vcf.gz", bam=bam)
        assert result.returncode == 0, result.stderr
        outs[name] = tmp_path / f"{name}.g.vcf.gz"
    merged = tmp_path / "merged.vcf.gz"
    pysam.bcftools.merge("--gvcf", str(testdata / "ref.fa"), "-Oz", "-o", str(merged),
                         str(outs["alice"]), str(outs["bob"]), catch_stdout=False)
    own = {name: {(r.contig, r.pos): r for r in pysam.VariantFile(str(tmp_path / f"{name}.vcf.gz"))}
           for name in outs}
    bob_blocks = [(int(f[1]), span(f)[1], f[9]) for f in gvcf_lines(outs["bob"])
                  if f[4] == "<*>"]
    checked = 0
    for rec in pysam.VariantFile(str(merged)):
        key = (rec.contig, rec.pos)
        if key in own["alice"] and key in [(c, p + 1) for c, p in sites]:
            assert rec.samples["alice"]["GT"] == own["alice"][key].samples[0]["GT"]
            block = next(b for b in bob_blocks if b[0] <= rec.pos <= b[1])
            assert rec.samples["bob"]["GT"] == (0, 0)
            assert rec.samples["bob"]["GQ"] == int(block[2].split(":")[1])
            checked += 1
        elif key in own["alice"] and key in own["bob"] and rec.alts[0] != "<*>":
            for name in outs:
                assert (sorted(rec.samples[name]["GT"])
                        == sorted(own[name][key].samples[0]["GT"])), key
    assert checked >= 8
    for name, path in (("alice", testdata / "truth.vcf.gz"),):
        result = evaluate(tmp_path / f"{name}.vcf.gz", path, testdata / "ref.fa")
        assert result["SNP"]["genotype_aware"]["tp"] > 50


def _male_bam(testdata, out):
    """chr2's reads from one haplotype only (read group sample.0): a one-copy contig."""
    with pysam.AlignmentFile(str(testdata / "reads.bam")) as src:
        with pysam.AlignmentFile(str(out), "wb", header=src.header) as dst:
            for read in src.fetch():
                if read.reference_name != "chr2" or read.get_tag("RG") == "sample.0":
                    dst.write(read)
    pysam.index(str(out))
    return out


def _haploid_truth(testdata, out):
    with pysam.VariantFile(str(testdata / "truth.vcf.gz")) as src:
        with pysam.VariantFile(str(out), "wz", header=src.header) as dst:
            for rec in src:
                if rec.contig == "chr2":
                    if rec.samples[0]["GT"][0] != 1:
                        continue
                    rec.samples[0]["GT"] = (1,)
                dst.write(rec)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def test_a_male_gets_no_het_on_his_one_copy_contig(testdata, tmp_path):
    bam = _male_bam(testdata, tmp_path / "male.bam")
    par = tmp_path / "par.bed"
    par.write_text("chr2\t0\t1000\n")
    out = tmp_path / "male.vcf.gz"
    result = call(testdata, out, "--haploid-contigs", "chr2", "--par-regions", par,
                  "--gvcf", tmp_path / "male.g.vcf.gz", bam=bam)
    assert result.returncode == 0, result.stderr
    chr2 = [r for r in pysam.VariantFile(str(out)) if r.contig == "chr2" and r.pos > 1000]
    assert chr2 and all(r.samples[0]["GT"] == (1,) and len(r.samples[0]["PL"]) == 2
                        for r in chr2)
    blocks = [f for f in gvcf_lines(tmp_path / "male.g.vcf.gz")
              if f[0] == "chr2" and f[4] == "<*>" and int(f[1]) > 1000]
    assert blocks and all(f[9].startswith("0:") and f[9].count(",") == 1 for f in blocks)
    truth = _haploid_truth(testdata, tmp_path / "male.truth.vcf.gz")
    for contig in ("chr1", "chr2"):
        bed = tmp_path / f"{contig}.bed"
        bed.write_text(f"{contig}\t1000\t{120000 if contig == 'chr1' else 80000}\n")
        recall = evaluate(out, truth, testdata / "ref.fa", bed)["SNP"]["genotype_aware"]
        if contig == "chr1":
            diploid = recall["recall"]
        else:
            assert recall["recall"] >= diploid - 0.05


def test_two_samples_in_one_bam_are_refused_or_one_is_picked(testdata, tmp_path):
    split = tmp_path / "two.bam"
    alice_only = tmp_path / "alice.bam"
    with pysam.AlignmentFile(str(testdata / "reads.bam")) as src:
        header = src.header.to_dict()
        header["RG"] = [{"ID": "a", "SM": "alice"}, {"ID": "b", "SM": "bob"}]
        with pysam.AlignmentFile(str(split), "wb", header=header) as both, \
                pysam.AlignmentFile(str(alice_only), "wb", header=header) as one:
            for i, read in enumerate(src.fetch("chr1", 0, 30000)):
                read.set_tag("RG", "ab"[i % 2])
                both.write(read)
                if i % 2 == 0:
                    one.write(read)
    pysam.index(str(split))
    pysam.index(str(alice_only))
    out = tmp_path / "o.vcf"
    assert_clean_failure(call(testdata, out, bam=split), out, "alice, bob", "--sample")
    result = call(testdata, out, "-r", "chr1:1-30000", "-s", "alice", bam=split)
    assert result.returncode == 0, result.stderr
    alone = tmp_path / "alone.vcf"
    result = call(testdata, alone, "-r", "chr1:1-30000", "-s", "alice", bam=alice_only)
    assert body(out) == body(alone) and body(out)
    assert list(pysam.VariantFile(str(out)).header.samples) == ["alice"]


def test_a_bam_without_read_groups_says_where_its_name_comes_from(testdata, tmp_path):
    bam = tmp_path / "plain.bam"
    with pysam.AlignmentFile(str(testdata / "reads.bam")) as src:
        header = src.header.to_dict()
        header.pop("RG")
        with pysam.AlignmentFile(str(bam), "wb", header=header) as dst:
            for read in src.fetch("chr1", 0, 20000):
                read.set_tag("RG", None)
                dst.write(read)
    pysam.index(str(bam))
    out = tmp_path / "o.vcf"
    assert call(testdata, out, "-r", "chr1:1-20000", bam=bam).returncode == 0
    header = pysam.VariantFile(str(out)).header
    assert list(header.samples) == ["plain"]
    assert "no @RG SM" in str(header)


@pytest.mark.parametrize("extra, words", [
    (["--par-regions", "PAR"], ["par.bed:1", "BED"]),
    (["--haploid-contigs", "chrX"], ["'chrX'", "--haploid-contigs"]),
    (["--gvcf", "NOWHERE/x.g.vcf.gz"], ["does not exist"]),
    (["--gvcf", "x.g.vcf"], ["bgzipped"]),
])
def test_bad_ploidy_and_gvcf_arguments_are_one_line(testdata, tmp_path, extra, words):
    par = tmp_path / "par.bed"
    par.write_text("chrX 0 100\n")
    extra = [str(par) if e == "PAR" else e.replace("NOWHERE", str(tmp_path / "no"))
             .replace("x.g.vcf", str(tmp_path / "x.g.vcf")) if e.startswith(("NOWHERE", "x."))
             else e for e in extra]
    if "--par-regions" in extra:
        extra = ["--haploid-contigs", "chr2", *extra]
    out = tmp_path / "o.vcf.gz"
    result = call(testdata, out, *extra)
    assert_clean_failure(result, out, *words)
    assert not [p for p in tmp_path.iterdir() if ".g.vcf" in p.name]
