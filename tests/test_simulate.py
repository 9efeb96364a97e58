"""The simulator that makes testdata and the default model's training data."""

import shutil

import numpy as np
import pysam
import pysam.bcftools
import pytest

from dvcall.simulate import (
    Variant,
    haplotype,
    random_genome,
    random_variants,
    simulate,
    write_fasta,
    write_truth,
)

needs_tools = pytest.mark.skipif(
    not (shutil.which("bwa") and shutil.which("art_illumina")),
    reason="bwa and art_illumina are not installed (apt-get install bwa "
           "art-nextgen-simulation-tools)",
)


@needs_tools
def test_simulate_makes_aligned_reads_and_normalised_truth(tmp_path):
    paths = simulate(tmp_path / "sim", [30_000], coverage=8, seed=3, threads=1)
    with pysam.AlignmentFile(str(paths["bam"])) as bam:
        assert bam.has_index() and bam.mapped > 1000
        assert bam.header.to_dict()["RG"][0]["SM"] == "sample"
    with pysam.VariantFile(str(paths["truth"])) as vf:
        recs = list(vf)
    kinds = {("SNP" if len(r.ref) == len(r.alts[0]) else "INDEL") for r in recs}
    assert kinds == {"SNP", "INDEL"}
    assert {r.samples[0]["GT"] for r in recs} >= {(1, 1)}
    # already left-normalised: bcftools norm -c x accepts it unchanged
    pysam.bcftools.norm("-f", str(paths["ref"]), "-c", "x", "-o", "/dev/null", str(paths["truth"]))


def test_truth_records_spell_the_haplotypes_the_reads_come_from(tmp_path):
    """bcftools norm moves each record on its own: an indel drawn just after a SNP in a
    homopolymer would be moved across the SNP, and the truth would then describe another
    sequence than the one reads are simulated from. The simulator must not draw such pairs."""
    rng = np.random.default_rng(5)
    genome = random_genome(rng, 20_000)
    variants = random_variants(rng, "chr1", genome, snp_rate=1e-2, indel_rate=1e-2,
                               max_indel=30, hom_fraction=0.4)
    assert sum(len(v.ref) != len(v.alt) for v in variants) > 100
    ref = tmp_path / "ref.fa"
    write_fasta(ref, {"chr1": genome})
    pysam.faidx(str(ref))
    truth = tmp_path / "truth.vcf.gz"
    write_truth(truth, ref, {"chr1": len(genome)}, variants)
    with pysam.VariantFile(str(truth)) as vf:
        records = [Variant("chr1", r.pos - 1, r.ref, r.alts[0], r.samples[0]["GT"]) for r in vf]
    assert len(records) == len(variants)
    for which in (0, 1):
        assert haplotype(genome, records, which) == haplotype(genome, variants, which)


def test_an_art_profile_that_cannot_read_so_long_is_refused(tmp_path, capsys):
    from dvcall.simulate import main

    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path / "s"), "--art-profile", "NS50", "--read-length", "150"])
    assert "NS50" in str(stop.value) and "75" in str(stop.value)
    assert not (tmp_path / "s").exists()
