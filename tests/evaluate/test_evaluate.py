"""dvcall evaluate: record matching after normalisation, and haplotype matching of clusters."""

import json

import numpy as np
import pysam
import pytest
from click.testing import CliRunner

from dvcall.cli import main
from dvcall.evaluate import evaluate

# A shifted repeat unit: deleting AC from the first ACAC run and inserting AC into the second
# spells the same haplotype as inserting TT before the TT and deleting the old TT.
MOTIF = "GGACACACTTACACGG"
HAPLOTYPE = "GGACACTTACACACGG"
FLANK = 200
# (1-based POS within the motif, REF, ALT), as bcftools norm leaves them
BY_REPEAT_UNIT = [(2, "GAC", "G"), (10, "T", "TAC")]
BY_TT = [(6, "C", "CTT"), (8, "CTT", "C")]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    rng = np.random.default_rng(3)
    flank = lambda: "".join(rng.choice(list("ACGT"), FLANK))  # noqa: E731
    left, right = flank(), flank()
    path = tmp_path_factory.mktemp("ref") / "ref.fa"
    path.write_text(f">c\n{left}{MOTIF}{right}\n")
    pysam.faidx(str(path))
    return path


def write_vcf(path, records, motif=MOTIF):
    """records: (POS within the motif, REF, ALT, GT string)."""
    lines = ["##fileformat=VCFv4.2", f"##contig=<ID=c,length={2 * FLANK + len(motif)}>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS"]
    for pos, ref, alt, gt in sorted(records):
        lines.append(f"c\t{FLANK + pos}\t.\t{ref}\t{alt}\t50\tPASS\t.\tGT\t{gt}")
    path.write_text("\n".join(lines) + "\n")
    return path


def score(tmp_path, reference, calls, truth):
    return evaluate(write_vcf(tmp_path / "calls.vcf", calls),
                    write_vcf(tmp_path / "truth.vcf", truth), reference)


def apply(variants):
    out, at = [], 0
    for pos, ref, alt in sorted(variants):
        out += [MOTIF[at : pos - 1], alt]
        at = pos - 1 + len(ref)
    return "".join(out) + MOTIF[at:]


def test_the_two_descriptions_spell_the_same_haplotype():
    assert apply(BY_REPEAT_UNIT) == apply(BY_TT) == HAPLOTYPE
    for pos, ref, _ in BY_REPEAT_UNIT + BY_TT:
        assert MOTIF[pos - 1 : pos - 1 + len(ref)] == ref


def test_identical_records_and_a_genotype_mismatch(tmp_path, reference):
    truth = [(pos, ref, alt, "1/1") for pos, ref, alt in BY_REPEAT_UNIT]
    result = score(tmp_path, reference, truth, truth)
    assert result["INDEL"]["tp"] == 2 and result["INDEL"]["genotype_aware"]["fp"] == 0
    calls = [(2, "GAC", "G", "0/1"), (10, "T", "TAC", "1/1")]
    result = score(tmp_path, reference, calls, truth)
    assert result["INDEL"]["fp"] == result["INDEL"]["fn"] == 0
    gt = result["INDEL"]["genotype_aware"]
    assert (gt["tp"], gt["fp"], gt["fn"]) == (1, 1, 1)
    assert result["INDEL"]["gt_concordance"] == 0.5


def test_one_indel_placed_elsewhere_in_its_repeat_matches(tmp_path, reference):
    # deleting the last AC of the ACACAC run is the same allele as deleting the first
    result = score(tmp_path, reference, [(6, "CAC", "C", "0/1")], [(2, "GAC", "G", "0/1")])
    assert result["INDEL"]["genotype_aware"]["f1"] == 1.0


@pytest.mark.parametrize("zygosity", ["1/1", "0/1"])
def test_a_cluster_described_another_way_matches_as_haplotypes(tmp_path, reference, zygosity):
    truth = [(pos, ref, alt, zygosity) for pos, ref, alt in BY_REPEAT_UNIT]
    calls = [(pos, ref, alt, zygosity) for pos, ref, alt in BY_TT]
    result = score(tmp_path, reference, calls, truth)
    for view in (result["INDEL"], result["INDEL"]["genotype_aware"]):
        assert (view["tp"], view["tp_call"], view["fp"], view["fn"]) == (2, 2, 0, 0)


def test_a_cluster_with_other_genotypes_matches_alleles_only(tmp_path, reference):
    truth = [(pos, ref, alt, "1/1") for pos, ref, alt in BY_REPEAT_UNIT]
    calls = [(pos, ref, alt, "0/1") for pos, ref, alt in BY_TT]
    result = score(tmp_path, reference, calls, truth)
    assert result["INDEL"]["f1"] == 1.0
    assert result["INDEL"]["genotype_aware"]["f1"] == 0.0


def test_half_of_another_description_is_not_the_cluster(tmp_path, reference):
    truth = [(pos, ref, alt, "0/1") for pos, ref, alt in BY_REPEAT_UNIT]
    calls = [(6, "C", "CTT", "0/1")]  # half of the other description: a different sequence
    result = score(tmp_path, reference, calls, truth)
    assert result["INDEL"]["tp"] == 0
    assert (result["INDEL"]["fp"], result["INDEL"]["fn"]) == (1, 2)


def test_cli_table_json_and_roc(tmp_path, reference):
    truth = write_vcf(tmp_path / "truth.vcf", [(p, r, a, "1/1") for p, r, a in BY_REPEAT_UNIT]
                      + [(15, "G", "T", "0/1")])
    calls = write_vcf(tmp_path / "calls.vcf", [(p, r, a, "1/1") for p, r, a in BY_TT])
    out = CliRunner().invoke(main, ["evaluate", "--calls", str(calls), "--truth", str(truth),
                                    "--ref", str(reference), "--json", str(tmp_path / "r.json"),
                                    "--roc", str(tmp_path / "roc.tsv"),
                                    "--errors", str(tmp_path / "errors.tsv")])
    assert out.exit_code == 0, out.output
    assert "INDEL" in out.output and "genotype" in out.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["INDEL"]["f1"] == 1.0 and report["SNP"]["fn"] == 1
    assert set(report["SNP"]) >= {"tp", "fp", "fn", "precision", "recall", "f1",
                                  "gt_concordance", "genotype_aware"}
    rows = (tmp_path / "roc.tsv").read_text().splitlines()
    assert rows[0].startswith("type\tmin_qual") and any(r.startswith("INDEL\t50") for r in rows)
    # the indels spell the same haplotypes: the one error is the missed SNP
    errors = (tmp_path / "errors.tsv").read_text().splitlines()
    assert errors[1:] == [f"SNP\tFN\tc\t{FLANK + 15}\tG\tT\thet\t50\tno"]
    assert "errors" not in report


def test_errors_of_a_wrong_genotype_are_found_by_the_allele_view(tmp_path, reference):
    truth = [(15, "G", "T", "0/1")]
    calls = [(15, "G", "T", "1/1")]
    result = score(tmp_path, reference, calls, truth)
    assert result["errors"] == [("SNP", "FN", "c", FLANK + 15, "G", "T", "het", 50.0, True),
                                ("SNP", "FP", "c", FLANK + 15, "G", "T", "hom", 50.0, True)]


# A CACAC repeat (benchmark set B, chr1:584381-584470): deleting CA at 24 and inserting
# CACACCA at 44 is one more CACAC unit, as is inserting CAC at 21 and CA at 44. The records
# of each description lie 17-20 bp apart, so only clustering along the repeat compares them.
REPEAT = ("GCACCACACCACACCACACCACACCACACCACACCACACCACACCACACCACACCACCGATCGAAGTTAACCGTATAGGG"
          "AATTTCAGAA")


def flanked_reference(tmp_path, body: str, seed: int):
    """A FASTA of contig c: ``body`` between two random FLANK-long flanks."""
    rng = np.random.default_rng(seed)
    flank = lambda: "".join(rng.choice(list("ACGT"), FLANK))  # noqa: E731
    reference = tmp_path / "ref.fa"
    reference.write_text(f">c\n{flank()}{body}{flank()}\n")
    pysam.faidx(str(reference))
    return reference


def test_indels_far_apart_in_one_repeat_are_one_cluster(tmp_path):
    reference = flanked_reference(tmp_path, REPEAT, seed=5)
    truth = [(24, "CCA", "C", "1/1"), (44, "C", "CCACACCA", "1/1")]
    calls = [(21, "A", "ACAC", "1/1"), (44, "C", "CCA", "1/1")]

    def spelt(variants):
        out, at = [], 0
        for pos, ref, alt, _ in sorted(variants):
            assert REPEAT[pos - 1 : pos - 1 + len(ref)] == ref
            out += [REPEAT[at : pos - 1], alt]
            at = pos - 1 + len(ref)
        return "".join(out) + REPEAT[at:]

    assert spelt(truth) == spelt(calls) != REPEAT
    result = evaluate(write_vcf(tmp_path / "calls.vcf", calls, REPEAT),
                      write_vcf(tmp_path / "truth.vcf", truth, REPEAT), reference)
    gt = result["INDEL"]["genotype_aware"]
    assert (gt["tp"], gt["fp"], gt["fn"]) == (2, 0, 0)
    # one record short, the calls spell another sequence
    result = evaluate(write_vcf(tmp_path / "calls.vcf", calls[:1], REPEAT),
                      write_vcf(tmp_path / "truth.vcf", truth, REPEAT), reference)
    assert result["INDEL"]["genotype_aware"]["tp"] == 0


# Benchmark set B, chr1:624561-624640: the truth has a het 4-bp and a hom 5-bp deletion in a
# C run, the calls a het 9-bp and a het 5-bp one: the same two haplotypes, but the calls'
# deletions overlap, so they cannot both go on one haplotype.
C_RUN = "ATATGATGCAGGCTCTTCCCGATTAGTACCCCCCCCCCCCCACTTTCGGTAGTTTCTCCACAAATCGAATTCGCGCTCGC"


def test_calls_that_spell_both_haplotypes_count_in_the_allele_view_too(tmp_path):
    reference = flanked_reference(tmp_path, C_RUN, seed=6)
    truth = [(28, "ACCCC", "A", "0/1"), (37, "CCCCCA", "C", "1/1")]
    calls = [(33, "CCCCCCCCCA", "C", "0/1"), (37, "CCCCCA", "C", "0/1")]
    result = evaluate(write_vcf(tmp_path / "calls.vcf", calls, C_RUN),
                      write_vcf(tmp_path / "truth.vcf", truth, C_RUN), reference)
    for figures in (result["INDEL"], result["INDEL"]["genotype_aware"]):
        assert (figures["tp"], figures["fp"], figures["fn"]) == (2, 0, 0)
